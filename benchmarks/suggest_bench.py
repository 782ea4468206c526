"""`carebot bench suggest`: suggested staff replies on the held-out customer messages.

tests/data/suggest_heldout.csv holds customer messages written apart from the macros'
`when` examples (the bench checks no text is shared), labelled with their situation and
split in two: `validation` (the confidence floor and the encoder blend were tuned on it)
and `test` (never tuned on; the headline numbers). `none` rows are off-topic messages that
should get no suggestion at all.

Per ranker (lexical; lexical + the sentence encoder when it loads): top-1 and top-3 hit
rates over the situational rows, how many of them got any suggestion, how many `none` rows
stayed silent, and the latency of one `rank` call (p50 / p99, encoder included).
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from care.desk.suggest import SuggestionRanker
from care.runtime.settings import Settings
from intents import IntentEngine, load_encoder, normalize
from scripts import ScriptLibrary

__all__ = ["SITUATIONS", "Row", "Score", "load_rows", "render_markdown", "run_all", "score"]

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "suggest_heldout.csv"
#: The coarse situations of the bundled set and the macro that answers each.
SITUATIONS: dict[str, str] = {
    "late": "macro.delivery.late",
    "refund": "macro.refund.status",
    "damaged": "macro.damaged.item",
    "rude": "macro.complaint.rude_staff",
    "thanks": "macro.closing.thanks",
}
TARGET_TOP3 = 0.90
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Row:
    split: str
    situation: str
    text: str


@dataclass(frozen=True)
class Score:
    ranker: str
    split: str
    situational: int
    top1: float
    top3: float
    answered: float
    silent_none: float
    nones: int
    p50_ms: float
    p99_ms: float
    p99_cpu_ms: float


def load_rows(path: Path = DATA) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [Row(r["split"], r["situation"], r["text"]) for r in csv.DictReader(handle)]


def check_disjoint(rows: Sequence[Row], library: ScriptLibrary) -> None:
    """The held-out texts must not be `when` examples (after normalising)."""
    examples = {normalize(w) for s in library.scripts.values() for w in s.when}
    shared = [r.text for r in rows if normalize(r.text) in examples]
    if shared:
        raise SystemExit(f"held-out messages that are also `when` examples: {shared}")


def score(ranker: SuggestionRanker, name: str, rows: Sequence[Row], split: str) -> Score:
    chosen = [r for r in rows if r.split == split]
    hits1 = hits3 = answered = silent = 0
    timings: list[float] = []
    cpu: list[float] = []
    for row in chosen:
        start, start_cpu = time.perf_counter(), time.thread_time()
        ranked = [s.script_id for s in ranker.rank(row.text)]
        timings.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.thread_time() - start_cpu) * 1000.0)
        if row.situation == "none":
            silent += not ranked
            continue
        expected = SITUATIONS[row.situation]
        answered += bool(ranked)
        hits1 += ranked[:1] == [expected]
        hits3 += expected in ranked[:3]
    n = sum(1 for r in chosen if r.situation != "none")
    nones = len(chosen) - n
    timings.sort()
    cpu.sort()
    return Score(
        ranker=name,
        split=split,
        situational=n,
        top1=hits1 / max(n, 1),
        top3=hits3 / max(n, 1),
        answered=answered / max(n, 1),
        silent_none=silent / max(nones, 1),
        nones=nones,
        p50_ms=statistics.median(timings),
        p99_ms=_p99(timings),
        p99_cpu_ms=_p99(cpu),
    )


def _p99(values: Sequence[float]) -> float:
    return values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


def run_all(settings: Settings, log: Callable[[str], None]) -> list[Score]:
    library = ScriptLibrary.load(settings.scripts_dirs, key_file=settings.approval_key_file)
    rows = load_rows()
    check_disjoint(rows, library)
    encoder = load_encoder(settings.intent_encoder)
    # As in production: the intent engine (lexical here) vetoes greetings and hand-offs.
    engine = IntentEngine(settings.intents_dirs)
    rankers: list[tuple[str, SuggestionRanker]] = [
        ("lexical", SuggestionRanker(library, intents=engine))
    ]
    if encoder is None:
        log("no sentence encoder: only the lexical rows")
    else:
        ranker = SuggestionRanker(library, encoder, intents=engine)
        log(f"encoding the macros' examples with {encoder.name} ...")
        ranker.wait_until_ready()
        rankers.append((f"lexical + {encoder.name}", ranker))
    scores: list[Score] = []
    for name, ranker in rankers:
        for split in ("validation", "test"):
            ranker.rank("warm-up")  # first call pays one-off allocations
            scores.append(score(ranker, name, rows, split))
    return scores


def _pct(value: float) -> str:
    return f"{100.0 * value:.1f}%"


def render_markdown(scores: Sequence[Score], header: str) -> str:
    lines = [
        header,
        "",
        "| ranker | split | messages | top-1 | top-3 | any suggestion | off-topic left silent "
        "| p50 ms | p99 ms | p99 CPU ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(
            f"| {s.ranker} | {s.split} | {s.situational} + {s.nones} off-topic | {_pct(s.top1)} "
            f"| {_pct(s.top3)} | {_pct(s.answered)} | {_pct(s.silent_none)} "
            f"| {s.p50_ms:.2f} | {s.p99_ms:.2f} | {s.p99_cpu_ms:.2f} |"
        )
    for top in (s for s in scores if s.split == "test"):
        accuracy = "met" if top.top3 >= TARGET_TOP3 else "NOT met"
        wall = "met" if top.p99_ms <= TARGET_P99_MS else "NOT met"
        cpu = "met" if top.p99_cpu_ms <= TARGET_P99_MS else "NOT met"
        lines.append(
            f"\n{top.ranker}, test split: top-3 >= {_pct(TARGET_TOP3)} {accuracy}; p99 <= "
            f"{TARGET_P99_MS:.0f} ms per message: wall clock {wall}, CPU {cpu}."
        )
    return "\n".join(lines) + "\n"
