"""Forbidden-phrase guard benchmark: red-team rates and per-reply latency, with/without encoder.

Rows: for each guard (lexical only; lexical + semantic when a sentence encoder loads) the
block rates per kind and the false-block rate on the `validation` and `test` parts of
tests/data/guard_redteam.csv, and the latency of `Guard.check` per reply: every text of the
set checked once per pass as if new (a pass number appended and a new guard per pass, so
no cache answers), wall clock and the process's CPU time (all threads: the product's guard
spreads a reply's clauses over the cores, `Encoder.encode_spread`; CPU time leaves out waiting
for a busy machine).
"""

from __future__ import annotations

import importlib
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from care.cli.guard import EvalReport, evaluate, read_cases
from intents import normalize
from scripts import Embed, Guard

__all__ = ["GuardRow", "load_embed", "render_markdown", "run_all"]

ROOT = Path(__file__).resolve().parent.parent
REDTEAM = ROOT / "tests" / "data" / "guard_redteam.csv"
FORBIDDEN = ROOT / "scripts" / "forbidden.tsv"
PASSES = 2


@dataclass
class GuardRow:
    """One guard configuration: its rates on both parts and its latency."""

    mode: str
    reports: dict[str, EvalReport]
    wall_ms: list[float]
    cpu_ms: list[float]


def load_embed(log: Callable[[str], None]) -> Embed | None:
    """The project's sentence encoder (intents.encoder), if it is there and loads."""
    try:
        module: Any = importlib.import_module("intents.encoder")
    except ImportError:
        log("intents.encoder not available: lexical rows only")
        return None
    encoder = module.load_encoder("auto")
    if encoder is None:
        log("no sentence encoder loaded: lexical rows only")
        return None
    embed: Embed = encoder.encode_spread  # as care.runtime.guarding builds it
    return embed


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _row(make: Callable[[], Guard]) -> GuardRow:
    guard = make()
    reports = {
        split: evaluate(guard, read_cases(REDTEAM, split)) for split in ("validation", "test")
    }
    texts = [case.text for case in read_cases(REDTEAM)]
    wall: list[float] = []
    cpu: list[float] = []
    for number in range(PASSES):
        # A new guard per pass (its clause cache empty, its meanings embedded beforehand)
        # and a changed text (the folding caches miss): every check is a first sight.
        fresh_guard = make()
        fresh_guard.warm_up()
        for text in texts:
            fresh = f"{text} ({number + 1})"
            start, start_cpu = time.perf_counter(), time.process_time()
            fresh_guard.check(fresh)
            cpu.append((time.process_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    return GuardRow(guard.mode, reports, wall, cpu)


def run_all(log: Callable[[str], None]) -> list[GuardRow]:
    """Lexical guard, then (if an encoder loads) the same list with the semantic layer."""
    rows = [_row(lambda: Guard.from_file(FORBIDDEN, normalize))]
    embed = load_embed(log)
    if embed is not None:
        rows.append(_row(lambda: Guard.from_file(FORBIDDEN, normalize, embed=embed)))
    return rows


def render_markdown(rows: Sequence[GuardRow], header: str) -> str:
    """The BENCHMARKS.md section: rates table and latency table."""
    lines = [header, ""]
    lines.append(
        "| guard | part | literal+obfuscated+filler blocked | paraphrase blocked "
        "| good wrongly blocked | texts |"
    )
    lines.append("|---|---|---:|---:|---:|---:|")
    for row in rows:
        for split, report in row.reports.items():
            total = sum(n for _, n in report.counts.values())
            lines.append(
                f"| {row.mode} | {split} "
                f"| {report.rate('literal', 'obfuscated', 'filler'):.1%} "
                f"| {report.rate('paraphrase'):.1%} | {report.false_block_rate:.1%} | {total} |"
            )
    lines += ["", "| guard | checks | p50 ms | p99 ms | max ms | p99 CPU ms | mean CPU ms |"]
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        lines.append(
            f"| {row.mode} | {len(row.wall_ms)} | {_percentile(row.wall_ms, 0.5):.2f} "
            f"| {_percentile(row.wall_ms, 0.99):.2f} | {max(row.wall_ms):.2f} "
            f"| {_percentile(row.cpu_ms, 0.99):.2f} | {statistics.fmean(row.cpu_ms):.2f} |"
        )
    lines += [
        "",
        f"Load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when the runs ended. "
        "With a core idle at that instant the encoder runs a reply's clauses in one call on "
        "its own threads, on a busy machine it shares them out over worker threads "
        "(`Encoder.encode_spread`): wall times follow the load, compare rows measured side "
        "by side.",
    ]
    if len(rows) == 1:
        lines += ["", "No sentence encoder was available: the semantic rows are missing."]
    return "\n".join(lines)
