"""Evaluation metrics for labelled messages: accuracy, macro-F1, per-class P/R, confusion, latency.

Pure functions over label lists so they are unit-testable without an engine;
`evaluate` is the thin loop that times a matcher over CSV rows.  Labels are
intent ids, the coarse labels `inquiry`/`complaint`/`feedback` (compared with
`Match.coarse`), or `none` (the engine declined).  `none` rows count in accuracy
like any other label.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intents.engine import Match

__all__ = [
    "COARSE_LABELS",
    "NONE_LABEL",
    "EvalReport",
    "compute_metrics",
    "evaluate",
    "percentile",
    "predicted_label",
    "read_labelled_csv",
]

NONE_LABEL = "none"
COARSE_LABELS = frozenset({"inquiry", "complaint", "feedback"})


@dataclass(frozen=True)
class EvalReport:
    """Everything `carebot intents eval` prints; `as_dict()` is its `--json` form."""

    n: int
    accuracy: float
    macro_f1: float
    none_recall: float | None
    per_class: dict[str, dict[str, float]]
    confusion: dict[str, dict[str, int]]
    latency_ms: dict[str, float]
    labels: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "none_recall": self.none_recall,
            "per_class": self.per_class,
            "confusion": self.confusion,
            "latency_ms": self.latency_ms,
        }


def read_labelled_csv(path: Path) -> list[tuple[str, str]]:
    """Rows of a `text,label` CSV (header required; extra header columns are ignored, but a
    row with more fields than the header, or without a label, is reported by line)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            return _labelled_rows(path, reader)
        except csv.Error as exc:  # e.g. a field over csv's size limit: one line, not a traceback
            raise ValueError(f"{path}: line {reader.line_num}: {exc}") from None


def _labelled_rows(path: Path, reader: csv.DictReader[str]) -> list[tuple[str, str]]:
    fields = reader.fieldnames or []
    if "text" not in fields or "label" not in fields:
        raise ValueError(f"{path}: expected a header with columns text,label (got {fields})")
    rows: list[tuple[str, str]] = []
    problems: list[str] = []
    for row in reader:
        # An unquoted comma in the text shifts the label into the text's tail: refuse
        # such rows instead of scoring against a nonsense label.
        if row.get(None) or not (row.get("label") or "").strip():
            problems.append(
                f"line {reader.line_num}: expected text,label"
                " (quote text that contains commas; the label must not be empty)"
            )
            continue
        rows.append(((row.get("text") or ""), (row.get("label") or "").strip()))
    if problems:
        shown = "; ".join(problems[:5]) + (
            f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        raise ValueError(f"{len(problems)} malformed row(s): {shown}")
    return rows


def predicted_label(match: Match, gold: str) -> str:
    """The prediction at the level of the gold label (coarse for coarse/none rows)."""
    if match.intent is None:
        return NONE_LABEL
    if gold in COARSE_LABELS or gold == NONE_LABEL:
        # greeting/handoff have no coarse class: they show up under their own id.
        return match.coarse or match.intent
    return match.intent


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def compute_metrics(
    gold: Sequence[str], predicted: Sequence[str], latencies_ms: Iterable[float] = ()
) -> EvalReport:
    """Accuracy, macro-F1 over every label seen in gold or predictions, and the rest."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    n = len(gold)
    labels = sorted(set(gold) | set(predicted))
    pairs = Counter(zip(gold, predicted, strict=True))
    confusion = {g: {p: pairs[(g, p)] for p in labels if pairs[(g, p)]} for g in labels}
    per_class: dict[str, dict[str, float]] = {}
    f1s: list[float] = []
    for label in labels:
        tp = pairs[(label, label)]
        support = sum(count for (g, _), count in pairs.items() if g == label)
        predicted_n = sum(count for (_, p), count in pairs.items() if p == label)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
        f1s.append(f1)
    correct = sum(count for (g, p), count in pairs.items() if g == p)
    none_support = per_class.get(NONE_LABEL, {}).get("support", 0)
    lat = list(latencies_ms)
    return EvalReport(
        n=n,
        accuracy=round(correct / n, 4) if n else 0.0,
        macro_f1=round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        none_recall=per_class[NONE_LABEL]["recall"] if none_support else None,
        per_class=per_class,
        confusion=confusion,
        latency_ms={"p50": round(percentile(lat, 50), 4), "p99": round(percentile(lat, 99), 4)},
        labels=labels,
    )


def evaluate(match: Callable[[str], Match], rows: Sequence[tuple[str, str]]) -> EvalReport:
    """Run `match` over `(text, label)` rows, timing each call."""
    gold: list[str] = []
    predicted: list[str] = []
    latencies: list[float] = []
    for text, label in rows:
        start = time.perf_counter()
        result = match(text)
        latencies.append((time.perf_counter() - start) * 1000.0)
        gold.append(label)
        predicted.append(predicted_label(result, label))
    return compute_metrics(gold, predicted, latencies)
