"""Red-team floors (issue 14) on the held-out `test` part of tests/data/guard_redteam.csv.

The set was written apart from the forbidden list; the list is tuned on the `validation`
part only. Columns: text, expected (block|allow), kind (literal, obfuscated, filler,
paraphrase, good), split (validation|test), language.
"""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from care.cli.guard import EvalReport, evaluate, read_cases
from scripts import Guard
from tests.scripts.conftest import DATA

REDTEAM = DATA / "guard_redteam.csv"


@pytest.fixture(scope="module")
def report(guard: Guard) -> EvalReport:
    return evaluate(guard, read_cases(REDTEAM, split="test"))


def test_the_set_is_big_mixed_and_split() -> None:
    with REDTEAM.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 250
    assert len({row["text"] for row in rows}) == len(rows), "no duplicates"
    assert Counter(row["split"] for row in rows).keys() == {"validation", "test"}
    kinds = Counter((row["split"], row["kind"]) for row in rows)
    for split in ("validation", "test"):
        for kind in ("literal", "obfuscated", "filler", "paraphrase", "good"):
            assert kinds[split, kind] >= 10, (split, kind)
    texts = [row["text"] for row in rows if row["split"] == "test"]
    assert any(t.isascii() for t in texts) and any("係" in t or "唔" in t for t in texts)
    assert any("\ufe0f" in t for t in texts) and any("\u200b" in t for t in texts)


def test_literal_and_disguised_phrases_are_blocked(report: EvalReport) -> None:
    rate = report.rate("literal", "obfuscated", "filler")
    missed = [case.text for case, _ in report.misses if case.block and case.kind != "paraphrase"]
    assert rate >= 0.98, missed


def test_good_replies_pass(report: EvalReport) -> None:
    wrongly = [(case.text, v.matched) for case, v in report.misses if not case.block]
    assert report.false_block_rate <= 0.03, wrongly


def test_paraphrases_are_blocked(report: EvalReport) -> None:
    # Lexical only here (the variants column); with the sentence encoder it is higher.
    missed = [case.text for case, _ in report.misses if case.kind == "paraphrase"]
    assert report.rate("paraphrase") >= 0.80, missed
