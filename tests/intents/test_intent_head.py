"""The per-intent head: logistic regression over example vectors, cached, used by the matcher."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from intents import IntentSpec, Matcher, MatcherConfig
from intents.intent_head import IntentHead

TOP1 = MatcherConfig(threshold=0.0, min_gap=0.0, confident=0.0, evidence=0.0)


def _clusters(n_intents: int, per: int, dims: int = 16, seed: int = 0) -> np.ndarray:
    """Unit vectors in `n_intents` tight clusters of `per` rows, intents in order."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_intents, dims))
    rows = np.repeat(centres, per, axis=0) + 0.2 * rng.standard_normal((n_intents * per, dims))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32)


def test_head_learns_its_intents_and_is_cached(tmp_path: Path) -> None:
    vectors = _clusters(4, 6)
    owners = [i // 6 for i in range(24)]
    head = IntentHead.build(vectors, owners, 5, c=1.0, cache_dir=tmp_path)
    assert head is not None
    predicted = [int(np.argmax(head.probabilities(v))) for v in vectors]
    assert predicted == owners
    probabilities = head.probabilities(vectors[0])
    assert probabilities.shape == (5,)
    assert abs(float(probabilities.sum()) - 1.0) < 1e-6
    assert float(probabilities[4]) < 1e-6  # the intent without examples never wins
    files = list(tmp_path.glob("intent-head-*.npz"))
    assert len(files) == 1
    again = IntentHead.build(vectors, owners, 5, c=1.0, cache_dir=tmp_path)
    assert again is not None
    np.testing.assert_array_equal(again.weights, head.weights)
    # A corrupt cache file is retrained, not an error.
    files[0].write_bytes(b"not an npz")
    assert IntentHead.build(vectors, owners, 5, c=1.0, cache_dir=tmp_path) is not None


def test_head_needs_two_intents_and_skips_empty_rows() -> None:
    vectors = _clusters(2, 3)
    assert IntentHead.build(vectors[:3], [0, 0, 0], 2, c=1.0) is None
    vectors[5] = 0.0  # an empty example: no vector
    head = IntentHead.build(vectors, [0, 0, 0, 1, 1, 1], 2, c=1.0)
    assert head is not None
    assert int(np.argmax(head.probabilities(vectors[3]))) == 1


def _specs(n_intents: int, per: int) -> list[IntentSpec]:
    return [
        IntentSpec(
            id=f"intent{i}",
            kind="faq",
            script=f"intent{i}",
            examples={"en": tuple(f"message {i} number {j}" for j in range(per))},
        )
        for i in range(n_intents)
    ]


def test_matcher_uses_the_head_where_it_applies() -> None:
    specs = _specs(4, 5)
    matcher = Matcher(specs, TOP1)
    vectors = _clusters(4, 5)
    matcher.attach_vectors(vectors)
    assert matcher.has_intent_head
    # The head's vote lifts the intent whose cluster the message's vector sits in.
    scores = matcher.semantic_scores(vectors[7])
    assert int(np.argmax(scores)) == 1

    off = Matcher(specs, dataclasses.replace(TOP1, intent_head_share=0.0))
    off.attach_vectors(vectors)
    assert off.has_vectors and not off.has_intent_head

    # More intents than `intent_head_max_intents`: no head (training cost).
    many = Matcher(specs, dataclasses.replace(TOP1, intent_head_max_intents=3))
    many.attach_vectors(vectors)
    assert many.has_vectors and not many.has_intent_head

    # FAQ catalogs beyond the SVM's cap still get the head when they have paraphrases.
    faq = Matcher(specs, dataclasses.replace(TOP1, linear_max_intents=3))
    faq.attach_vectors(vectors)
    assert faq.has_intent_head


def test_head_needs_paraphrases_per_intent() -> None:
    # One example per intent on average is below `intent_head_min_examples`: no head.
    single = Matcher(_specs(4, 1), TOP1)
    single.attach_vectors(_clusters(4, 1))
    assert single.has_vectors and not single.has_intent_head
    pairs = Matcher(_specs(4, 2), TOP1)
    pairs.attach_vectors(_clusters(4, 2))
    assert pairs.has_intent_head


def test_big_catalog_trains_the_head_in_the_background(tmp_path: Path) -> None:
    specs = _specs(3, 8)
    cfg = dataclasses.replace(TOP1, background_training_above=10, model_cache=tmp_path)
    matcher = Matcher(specs, cfg)
    matcher.wait_until_trained(timeout=60)
    matcher.attach_vectors(_clusters(3, 8))
    assert matcher.has_vectors  # the cosines serve at once
    assert matcher.wait_until_intent_head(timeout=60)
    assert matcher.has_intent_head
    assert list(tmp_path.glob("intent-head-*.npz"))
