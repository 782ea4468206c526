"""The LinearSVC part of the matcher: features, training edge cases, the weight cache."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from intents import IntentSpec, Matcher, MatcherConfig, normalize
from intents.linear import LinearModel, linear_features
from tests.progress import wait_until_sync

TOP1 = MatcherConfig(threshold=0.0, min_gap=0.0, confident=0.0, evidence=0.0)

# A toy catalog where every intent shares "card": the linear model has to learn which
# words separate them (the kNN similarity alone weighs "card" the same for all three).
CARDS = {
    "card_arrival": [
        "my card has not arrived yet",
        "when will my new card arrive",
        "still waiting for the card in the post",
        "how long does card delivery take",
    ],
    "card_not_working": [
        "my card does not work",
        "the card keeps getting declined",
        "card is broken and will not pay",
        "why is my card not working in shops",
    ],
    "lost_card": [
        "i lost my card",
        "my card was stolen",
        "someone took my card, block it",
        "cannot find my card anywhere",
    ],
}


def _specs(data: dict[str, list[str]]) -> list[IntentSpec]:
    return [
        IntentSpec(id=k, kind="faq", script=k, examples={"en": tuple(v)}) for k, v in data.items()
    ]


def _model(data: dict[str, list[str]], cache: Path | None = None) -> LinearModel:
    texts = [normalize(t) for v in data.values() for t in v]
    owners = [i for i, v in enumerate(data.values()) for _ in v]
    return LinearModel(texts, owners, len(data), cache_dir=cache)


def test_features_mix_words_bigrams_and_char_grams() -> None:
    feats = linear_features("refunds pending 退款")
    assert "wrefund" in feats  # stemmed word
    assert "prefund pend" in feats  # stemmed bigram
    assert "c re" in feats and "cing " in feats  # char_wb grams keep the raw word
    assert {"u退", "b退款"} <= set(feats)  # CJK character n-grams, no segmenter
    assert linear_features("") == {}


def test_linear_model_separates_intents_sharing_a_word() -> None:
    model = _model(CARDS)
    assert int(np.argmax(model.decision(normalize("my card got stolen yesterday")))) == 2
    assert int(np.argmax(model.decision(normalize("card declined at the shop")))) == 1
    assert int(np.argmax(model.decision(normalize("waiting for my card to arrive")))) == 0


def test_off_topic_text_scores_below_in_scope() -> None:
    model = _model(CARDS)
    on = float(model.decision(normalize("my card was stolen")).max())
    off = float(model.decision(normalize("what is the weather like tomorrow")).max())
    assert off < on


def test_binary_and_degenerate_catalogs() -> None:
    two = {k: CARDS[k] for k in ("card_arrival", "lost_card")}
    model = _model(two)
    assert int(np.argmax(model.decision(normalize("my card was stolen")))) == 1
    one = _model({"only": ["just one intent here"]})
    assert one.decision(normalize("anything")).shape == (1,)
    empty = LinearModel([], [], 0)
    assert empty.decision("x").shape == (0,)


def test_intent_without_examples_never_wins() -> None:
    texts = [normalize(t) for t in CARDS["lost_card"] + CARDS["card_arrival"]] + [""]
    owners = [0] * 4 + [1] * 4 + [2]
    model = LinearModel(texts, owners, 3)
    assert int(np.argmax(model.decision(normalize("i lost my card")))) == 0
    assert float(model.decision("")[2]) < 0


def test_weight_cache_round_trip(tmp_path: Path) -> None:
    trained = _model(CARDS, tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    cached = _model(CARDS, tmp_path)
    query = normalize("card declined again")
    assert np.allclose(trained.decision(query), cached.decision(query))
    # A different catalog gets its own entry; a corrupt file is retrained, not fatal.
    _model({**CARDS, "extra": ["open a new account"]}, tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    files[0].write_bytes(b"not a zip")
    again = _model(CARDS, tmp_path)
    assert np.allclose(again.decision(query), trained.decision(query))


def test_unwritable_cache_only_costs_retraining(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    model = _model(CARDS, blocker / "sub")  # cannot mkdir under a file
    assert model.decision(normalize("i lost my card")).shape == (3,)


def test_matcher_uses_linear_model_and_can_switch_it_off() -> None:
    specs = _specs(CARDS)
    shipped = Matcher(specs, TOP1)
    assert shipped.decide("someone stole my card").intent == "lost_card"
    knn = Matcher(specs, dataclasses.replace(TOP1, linear_weight=0.0))
    assert knn._linear is None
    many = Matcher(specs, dataclasses.replace(TOP1, linear_max_intents=2))
    assert many._linear is None  # FAQ-style catalogs skip the model


def test_training_is_deterministic() -> None:
    query = normalize("card not arriving")
    assert np.array_equal(_model(CARDS).decision(query), _model(CARDS).decision(query))


def test_big_catalog_serves_at_once_and_trains_in_the_background() -> None:
    specs = _specs(CARDS)
    background = Matcher(specs, dataclasses.replace(TOP1, background_training_above=5))
    background.decide("someone stole my card")  # answers whether or not training finished
    wait_until_sync(lambda: background.wait_until_trained(timeout=0.5), "background training")
    assert background._linear is not None
    synchronous = Matcher(specs, TOP1)
    assert synchronous.wait_until_trained(timeout=0)  # small catalogs train before returning
    assert background.decide("someone stole my card") == synchronous.decide("someone stole my card")
