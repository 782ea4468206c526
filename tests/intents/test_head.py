"""The coarse-kind head (intents/head.py): complaint/praise in free text, only with the encoder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from intents import IntentEngine, Matcher, evaluate, normalize, read_labelled_csv
from intents.engine import PRODUCT_CONFIG
from intents.head import CHATTER, HEAD_KINDS, HEAD_TEXTS, CoarseHead
from intents.loader import load_folder

from .conftest import BUNDLED

# Reviews and messages in the three scripts, written for this test (2026-12-01) after the
# head was tuned, never used as catalog examples or tuning data: free-text complaint and
# praise that shares few words with the catalog.
REVIEWS = Path(__file__).resolve().parents[1] / "data" / "intents_heldout_reviews.csv"
HELDOUT_DIR = REVIEWS.parent
NO_HEAD = dataclasses.replace(PRODUCT_CONFIG, head_confidence=2.0)


def _script(text: str) -> str:
    if text.isascii():
        return "en"
    # Crude but enough for these rows: Traditional-only characters mark zh-Hant.
    traditional = "門貨還這們說來個對讚間嚟啲咗唔後錢體"
    return "zh-Hant" if any(ch in text for ch in traditional) else "zh-Hans"


def _headless(engine: IntentEngine) -> Matcher:
    """The engine's catalog and vectors, with the head turned off."""
    matcher = engine._state[0]
    assert matcher.has_head
    headless = Matcher(engine.specs, NO_HEAD)
    semantic = matcher._semantic
    assert semantic is not None
    headless.attach_vectors(semantic.examples)
    assert headless.has_vectors and not headless.has_head
    return headless


def test_review_set_shape_and_never_used_as_examples() -> None:
    rows = read_labelled_csv(REVIEWS)
    assert len(rows) >= 20
    assert {label for _, label in rows} == {"complaint", "feedback"}
    assert {_script(text) for text, _ in rows} == {"zh-Hans", "zh-Hant", "en"}
    specs, _ = load_folder(BUNDLED)
    examples = {normalize(text) for spec in specs for text in spec.all_examples()}
    examples |= {normalize(text) for text, _ in HEAD_TEXTS}
    assert not [text for text, _ in rows if normalize(text) in examples]


def test_head_texts_are_not_taken_from_the_heldout_sets() -> None:
    heldout = {
        normalize(text)
        for path in HELDOUT_DIR.glob("intents_heldout*.csv")
        for text, _ in read_labelled_csv(path)
    }
    assert not [text for text in CHATTER if normalize(text) in heldout]
    assert not [text for text, _ in HEAD_TEXTS if normalize(text) in heldout]
    assert {kind for _, kind in HEAD_TEXTS} <= set(HEAD_KINDS)


@pytest.mark.timeout(900)
def test_head_recognises_free_text_complaint_and_praise(encoder_engine: IntentEngine) -> None:
    rows = read_labelled_csv(REVIEWS)
    report = evaluate(encoder_engine.match, rows)
    # Measured 17 of 21 (81%) when written (zh-Hans 4/7, zh-Hant 6/7, en 7/7); without the
    # head 8 of 21, most of the rest falling to the menu; 20 of 21 once the head learned
    # from intents.head_data (2026-12-02).  Regression guards, not targets.
    assert report.accuracy >= 0.85, report.confusion
    for script in ("zh-Hans", "zh-Hant", "en"):
        subset = [(t, label) for t, label in rows if _script(t) == script]
        right = sum(encoder_engine.match(t).coarse == label for t, label in subset)
        assert right >= 0.5 * len(subset), (script, right, len(subset))

    headless = _headless(encoder_engine)
    by_id = {spec.id: spec for spec in encoder_engine.specs}
    encoder = encoder_engine.encoder
    assert encoder is not None

    def without_head(text: str) -> str | None:
        decision = headless.decide(text, encoder.encode)
        return by_id[decision.intent].coarse if decision.intent else None

    before = sum(without_head(t) == label for t, label in rows)
    after = sum(encoder_engine.match(t).coarse == label for t, label in rows)
    assert after >= before + 5, (before, after)


@pytest.mark.timeout(900)
def test_head_leaves_faq_answers_complaint_priority_and_chatter(
    encoder_engine: IntentEngine,
) -> None:
    faq = {
        "退款政策是怎样的?多久能到账?": "faq.refund_policy",
        "你们几点开门": "faq.hours",
        "請問你哋幾點開門?": "faq.hours",
        "how much is shipping to my area": "faq.shipping_fee",
    }
    for text, intent in faq.items():
        assert encoder_engine.match(text).intent == intent, text
    # Complaint still beats inquiry when both are present.
    for text in (
        "我想问下为什么我的退款还没到，都两个星期了",
        "请问你们怎么回事，订单都一周了还没发货?!",
    ):
        assert encoder_engine.match(text).coarse == "complaint", text
    # Off-topic chatter still gets the menu (fallback), not a complaint or a thank-you.
    for text in ("我打算下个月去云南旅游", "今天的晚霞好漂亮", "i need to renew my passport soon"):
        assert encoder_engine.match(text).intent is None, text


def test_without_the_encoder_nothing_changes() -> None:
    lexical = IntentEngine([BUNDLED])
    assert not lexical._state[0].has_head
    headless = IntentEngine([BUNDLED], config=NO_HEAD)
    for text, _ in read_labelled_csv(REVIEWS):
        assert lexical.match(text) == headless.match(text), text


def _vectors(n: int, dims: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dims)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_head_is_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = ["complaint"] * 10 + ["feedback"] * 10 + ["faq"] * 10 + ["greeting"] * 5
    vectors = _vectors(len(kinds), 16, 0)
    vectors[:10, 0] += 2.0  # complaints lean one way, praise the other
    vectors[10:20, 0] -= 2.0
    head = CoarseHead.build(vectors, kinds, c=1.0, cache_dir=tmp_path)
    assert head is not None
    assert len(list(tmp_path.glob("head-*.npz"))) == 1
    probabilities = head.probabilities(vectors[0])
    assert probabilities.shape == (len(HEAD_KINDS),)
    assert abs(float(probabilities.sum()) - 1.0) < 1e-6
    assert HEAD_KINDS[int(np.argmax(probabilities))] == "complaint"

    def no_training(*_args: object) -> CoarseHead:
        raise AssertionError("retrained although the cache holds this head")

    monkeypatch.setattr(CoarseHead, "_train", classmethod(no_training))
    again = CoarseHead.build(vectors, kinds, c=1.0, cache_dir=tmp_path)
    assert again is not None
    assert np.allclose(again.probabilities(vectors[0]), probabilities)


def test_corrupt_head_cache_is_retrained(tmp_path: Path) -> None:
    kinds = ["complaint"] * 10 + ["feedback"] * 10
    vectors = _vectors(len(kinds), 8, 1)
    assert CoarseHead.build(vectors, kinds, c=1.0, cache_dir=tmp_path) is not None
    [cached] = tmp_path.glob("head-*.npz")
    cached.write_bytes(b"not numpy")
    head = CoarseHead.build(vectors, kinds, c=1.0, cache_dir=tmp_path)
    assert head is not None  # two kinds only: the binary model still answers both
    assert float(head.probabilities(vectors[0])[2:].sum()) < 1e-6


def test_catalog_without_complaint_and_praise_gets_no_head() -> None:
    kinds = ["faq"] * 20 + ["complaint"] * 3
    assert CoarseHead.build(_vectors(len(kinds), 8, 2), kinds, c=1.0) is None
    faq_only = [spec for spec in load_folder(BUNDLED)[0] if spec.kind == "faq"]
    matcher = Matcher(faq_only, PRODUCT_CONFIG)
    assert matcher.head_texts == ()
    assert matcher.vector_texts == matcher.example_texts


def test_english_rows_get_their_own_head_and_it_is_cached(tmp_path: Path) -> None:
    kinds = (["complaint"] * 10 + ["feedback"] * 10) * 2 + ["faq"] * 10
    vectors = _vectors(len(kinds), 16, 3)
    vectors[:20, 1] += 2.0  # the first twenty rows are "English": one direction apart
    vectors[[*range(10), *range(20, 30)], 0] += 2.0  # complaints lean one way
    english = [True] * 20 + [False] * 30
    head = CoarseHead.build(vectors, kinds, c=1.0, cache_dir=tmp_path, english=english)
    assert head is not None and head.english is not None and head.gate is not None
    probabilities = head.probabilities(vectors[0])
    assert abs(float(probabilities.sum()) - 1.0) < 1e-6
    assert HEAD_KINDS[int(np.argmax(probabilities))] == "complaint"
    again = CoarseHead.build(vectors, kinds, c=1.0, cache_dir=tmp_path, english=english)
    assert again is not None and again.english is not None
    assert np.allclose(again.probabilities(vectors[0]), probabilities)
    # Too few English complaints and praise: one shared head, as before.
    few = [True] * 5 + [False] * 45
    shared = CoarseHead.build(vectors, kinds, c=1.0, english=few)
    assert shared is not None and shared.english is None
