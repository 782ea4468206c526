"""Suggested replies: ranking the bundled macros for customer messages (lexical, as in tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from care.desk.suggest import LEXICAL_FLOOR, SuggestionRanker
from intents import IntentEngine, normalize
from scripts import ScriptLibrary

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "tests" / "data" / "suggest_heldout.csv"
SITUATIONS = {
    "late": "macro.delivery.late",
    "refund": "macro.refund.status",
    "damaged": "macro.damaged.item",
    "rude": "macro.complaint.rude_staff",
    "thanks": "macro.closing.thanks",
}


@pytest.fixture(scope="module")
def library() -> ScriptLibrary:
    return ScriptLibrary.load([ROOT / "scripts" / "library"])


@pytest.fixture(scope="module")
def ranker(library: ScriptLibrary) -> SuggestionRanker:
    return SuggestionRanker(library, intents=IntentEngine([ROOT / "intents" / "catalog"]))


def test_situations_rank_their_macro_first(ranker: SuggestionRanker) -> None:
    for text, expected in [
        ("我的快递三天还没到，我要投诉", "macro.delivery.late"),
        ("你们客服态度太差了，还挂我电话", "macro.complaint.rude_staff"),
        ("谢谢你们，问题解决了", "macro.closing.thanks"),
        ("The vase arrived smashed", "macro.damaged.item"),
    ]:
        ranked = ranker.rank(text)
        assert ranked and ranked[0].script_id == expected, (text, ranked)
        assert len(ranked) <= 3 and all(s.score >= LEXICAL_FLOOR for s in ranked)


def test_nothing_rather_than_noise(ranker: SuggestionRanker) -> None:
    for text in ("请问你们几点关门", "转人工", "你好", "", "   ", "🙂"):
        assert ranker.rank(text) == [], text


def test_held_out_set_is_apart_from_the_when_examples(
    library: ScriptLibrary, ranker: SuggestionRanker
) -> None:
    with HELDOUT.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    examples = {normalize(w) for s in library.scripts.values() for w in s.when}
    assert not [r["text"] for r in rows if normalize(r["text"]) in examples]
    test = [r for r in rows if r["split"] == "test" and r["situation"] != "none"]
    assert len(test) >= 100
    hits = sum(
        SITUATIONS[r["situation"]] in [s.script_id for s in ranker.rank(r["text"])] for r in test
    )
    # lexical only (no encoder in tests); `carebot bench suggest` reports both rankers
    assert hits / len(test) >= 0.85
