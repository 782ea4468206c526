"""The floor the issue sets on the hand-written held-out set (never used as catalog examples)."""

from __future__ import annotations

import csv
from pathlib import Path

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
