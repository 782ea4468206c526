"""The floor the issue sets on the hand-written held-out set (never used as catalog examples)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from intents import IntentEngine, evaluate, normalize, read_labelled_csv
from intents.loader import load_folder

from .conftest import BUNDLED

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "intents_heldout.csv"
# Written by a different engineer than the matcher's author, after the matcher was tuned,
# and never looked at while tuning: the honest check that the floor generalises.
SECOND = Path(__file__).resolve().parents[1] / "data" / "intents_heldout_second.csv"


def test_heldout_shape() -> None:
    rows = read_labelled_csv(HELDOUT)
    assert len(rows) >= 150
    assert {label for _, label in rows} == {"inquiry", "complaint", "feedback", "none"}
    with HELDOUT.open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == ["text", "label"]


def test_heldout_never_used_as_examples() -> None:
    specs, _ = load_folder(BUNDLED)
    examples = {normalize(text) for spec in specs for text in spec.all_examples()}
    leaked = [text for text, _ in read_labelled_csv(HELDOUT) if normalize(text) in examples]
    assert leaked == []


def test_heldout_floor(engine: IntentEngine) -> None:
    report = evaluate(engine.match, read_labelled_csv(HELDOUT))
    assert report.accuracy >= 0.90, report.confusion
    assert report.none_recall is not None and report.none_recall >= 0.80


@pytest.mark.timeout(900)  # the session's first encoder test encodes the bundled catalog
def test_heldout_floor_with_the_encoder(encoder_engine: IntentEngine) -> None:
    # Issue 13's floor (measured 94.9% / 93.8%). The encoder's product weight was chosen on
    # this set (so it is validation for that one knob); the second and third stay untouched.
    report = evaluate(encoder_engine.match, read_labelled_csv(HELDOUT))
    assert report.accuracy >= 0.93, report.confusion
    assert report.none_recall is not None and report.none_recall >= 0.85


@pytest.mark.timeout(900)
def test_second_heldout_floor_with_the_encoder(encoder_engine: IntentEngine) -> None:
    # Measured 89.7% / 78.6% (11 of 14 `none` rows) with the extended catalog: a regression
    # guard below that, like the lexical one; the none floor is one row lower than lexical
    # and under issue 13's 85% target (missed on this set).
    report = evaluate(encoder_engine.match, read_labelled_csv(SECOND))
    assert report.accuracy >= 0.85, report.confusion
    assert report.none_recall is not None and report.none_recall >= 0.75


def test_second_heldout_floor(engine: IntentEngine) -> None:
    rows = read_labelled_csv(SECOND)
    assert len(rows) >= 75
    specs, _ = load_folder(BUNDLED)
    examples = {normalize(text) for spec in specs for text in spec.all_examples()}
    assert not [text for text, _ in rows if normalize(text) in examples]
    report = evaluate(engine.match, rows)
    # Measured 89.7% / 85.7% when written (2026-11-23): a regression guard a little below
    # that, not a target to tune against (tuning on it would make it no longer held out).
    assert report.accuracy >= 0.85, report.confusion
    assert report.none_recall is not None and report.none_recall >= 0.80


COLLOQUIAL = Path(__file__).resolve().parents[1] / "data" / "intents_heldout_colloquial.csv"


def test_colloquial_heldout_shape_and_never_used_as_examples() -> None:
    # Written (2026-12-01) before the catalog got its Cantonese / Taiwan / sarcasm /
    # code-switching examples, by the same engineer, and not tuned on afterwards.
    rows = read_labelled_csv(COLLOQUIAL)
    assert len(rows) >= 80
    assert {label for _, label in rows} == {"inquiry", "complaint", "feedback", "none"}
    specs, _ = load_folder(BUNDLED)
    examples = {normalize(text) for spec in specs for text in spec.all_examples()}
    assert not [text for text, _ in rows if normalize(text) in examples]


@pytest.mark.timeout(900)
def test_colloquial_heldout_floor_with_the_encoder(encoder_engine: IntentEngine) -> None:
    # Issue 13 targets 85% and complaint recall 85%; measured 80.9% and 64% when written
    # (lexical alone: 78.7% / 64%), 85.1% and 77.8% (none recall 90.9%) once the coarse
    # head learned from free-text reviews and arbitrated complaint vs praise (2026-12-02):
    # accuracy reaches the target, complaint recall does not; 86.2% and 80.6% with the
    # colloquial cue words and `head_flip_gap` tuned on the validation split below
    # (2026-12-02).  Regression guards just below the measurement, not the target.
    report = evaluate(encoder_engine.match, read_labelled_csv(COLLOQUIAL))
    assert report.accuracy >= 0.84, report.confusion
    assert report.per_class["complaint"]["recall"] >= 0.77, report.confusion
    assert report.none_recall is not None and report.none_recall >= 0.85


VALIDATION_COLLOQUIAL = Path(__file__).resolve().parents[1] / "data" / "intents_val_colloquial.csv"


def test_colloquial_validation_is_apart_from_the_heldout_and_the_catalog() -> None:
    # The validation split the Cantonese / Taiwan / sarcasm cue words and `head_flip_gap`
    # were tuned on (2026-12-02); the held-out set above stays untouched by tuning.
    rows = read_labelled_csv(VALIDATION_COLLOQUIAL)
    assert len(rows) >= 60
    heldout = {normalize(text) for text, _ in read_labelled_csv(COLLOQUIAL)}
    specs, _ = load_folder(BUNDLED)
    examples = {normalize(text) for spec in specs for text in spec.all_examples()}
    assert not [text for text, _ in rows if normalize(text) in heldout | examples]


@pytest.mark.timeout(900)
def test_colloquial_validation_floor_with_the_encoder(encoder_engine: IntentEngine) -> None:
    # Measured 88.5% and complaint recall 90.8% after tuning (130 rows; the first 70: 81.4% /
    # 83.3% before); a guard a little below, so losing the colloquial cue words shows here.
    report = evaluate(encoder_engine.match, read_labelled_csv(VALIDATION_COLLOQUIAL))
    assert report.accuracy >= 0.85, report.confusion
    assert report.per_class["complaint"]["recall"] >= 0.88, report.confusion
