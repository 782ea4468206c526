"""`carebot guard`: check texts against the forbidden-phrase list, measure it on a red-team set."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from care.cli.common import fail, settings_or_exit
from care.runtime.guarding import build_guard
from care.runtime.settings import Settings
from scripts import Guard, GuardVerdict, LibraryError

__all__ = ["Case", "EvalReport", "app", "evaluate", "load_guard", "read_cases"]

app = typer.Typer(help="The forbidden-phrase guard every outgoing message passes.")

_MODES = {
    "lexical": "lexical only (no sentence encoder): paraphrases are caught only when listed",
    "lexical+semantic": "lexical + semantic (sentence encoder)",
}


def load_guard(settings: Settings) -> Guard:
    """The guard as the bot builds it, or exit 2 naming every broken line of the list."""
    try:
        return build_guard(settings, warm=False)
    except LibraryError as exc:
        fail("\n".join(str(problem) for problem in exc.problems))


def _clean(text: str) -> tuple[str, bool]:
    """Lone surrogates (invalid UTF-8 in argv arrives as U+DC80..) replaced by U+FFFD."""
    cleaned = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return cleaned, cleaned != text


def _verdict_json(verdict: GuardVerdict, **extra: Any) -> str:
    record: dict[str, Any] = {
        **extra,
        "allowed": verdict.allowed,
        "phrase": verdict.phrase,
        "matched": verdict.matched,
        "clause": verdict.clause,
        "layer": verdict.layer,
        "score": verdict.score,
        "reason": verdict.reason,
        "suggestion": verdict.suggestion,
    }
    return json.dumps(record, ensure_ascii=False)


def _print_verdict(verdict: GuardVerdict, prefix: str = "") -> None:
    if verdict.allowed:
        typer.echo(f"{prefix}allowed")
        return
    typer.echo(f"{prefix}blocked: {verdict.explain()}")
    typer.echo(f"{prefix}reason: {verdict.reason}")
    typer.echo(f"{prefix}suggestion: {verdict.suggestion}")


def _read_lines(path: Path) -> Iterable[tuple[int, str, bool]]:
    """(line number, text, had invalid UTF-8) for every non-empty line of `path`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            text, bad = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, bad = raw.decode("utf-8", "replace"), True
        if text.strip():
            yield number, text, bad


@app.callback()
def _group() -> None:
    """Keep `check` a sub-command even though the group is small."""


@app.command("check")
def check(
    text: Annotated[str | None, typer.Argument(help="The text a customer would receive")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Check every line of this file (JSON Lines with --json)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print verdicts as JSON")] = False,
) -> None:
    """Exit 0 if every text may be sent; exit 1 naming what fired, why, and what to say instead."""
    if (text is None) == (file is None):
        fail("give one TEXT or --file FILE")
    guard = load_guard(settings_or_exit())
    blocked = 0
    if file is None:
        assert text is not None
        cleaned, bad = _clean(text)
        if bad:
            typer.echo("warning: the text had invalid UTF-8; checked with U+FFFD", err=True)
        verdict = guard.check(cleaned)
        blocked += not verdict.allowed
        if as_json:
            typer.echo(_verdict_json(verdict, mode=guard.mode))
        else:
            _print_verdict(verdict)
            typer.echo(f"guard: {_MODES[guard.mode]}")
    else:
        if not as_json:
            typer.echo(f"guard: {_MODES[guard.mode]}")
        for number, line, bad in _read_lines(file):
            verdict = guard.check(line)
            blocked += not verdict.allowed
            if as_json:
                typer.echo(_verdict_json(verdict, line=number, text=line, invalid_utf8=bad))
            else:
                _print_verdict(verdict, prefix=f"{file}:{number}: ")
    if blocked:
        raise typer.Exit(1)


@app.command("list")
def list_phrases() -> None:
    """The forbidden phrases in force, with their reasons."""
    for phrase in load_guard(settings_or_exit()).phrases:
        typer.echo(f"{phrase.phrase}\t{phrase.reason}")


# -- evaluation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One row of a red-team file: the text, whether it must be blocked, and its kind."""

    text: str
    block: bool
    kind: str
    line: int


@dataclass
class EvalReport:
    """Block rate per kind, the false-block rate on texts that must pass, and every miss."""

    mode: str
    counts: dict[str, list[int]] = field(default_factory=dict)  # kind -> [blocked, total]
    misses: list[tuple[Case, GuardVerdict]] = field(default_factory=list)

    def rate(self, *kinds: str) -> float:
        blocked = sum(self.counts.get(kind, [0, 0])[0] for kind in kinds)
        total = sum(self.counts.get(kind, [0, 0])[1] for kind in kinds)
        return blocked / total if total else 0.0

    must_pass: int = 0  # how many cases expected "allow"

    @property
    def false_block_rate(self) -> float:
        wrong = sum(1 for case, _ in self.misses if not case.block)
        return wrong / self.must_pass if self.must_pass else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "kinds": {
                kind: {"blocked": b, "total": n, "block_rate": round(b / n, 4) if n else 0.0}
                for kind, (b, n) in sorted(self.counts.items())
            },
            "false_block_rate": round(self.false_block_rate, 4),
            "misses": [
                {
                    "line": case.line,
                    "text": case.text,
                    "kind": case.kind,
                    "expected": "block" if case.block else "allow",
                    "phrase": verdict.phrase,
                    "matched": verdict.matched,
                    "clause": verdict.clause,
                }
                for case, verdict in self.misses
            ],
        }


def read_cases(path: Path, split: str | None = None) -> list[Case]:
    """Rows of a CSV with columns text, expected (block|allow) and optionally kind, split."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(source.splitlines())
    if reader.fieldnames is None or not {"text", "expected"} <= set(reader.fieldnames):
        raise ValueError(f"{path}: needs a header with the columns text,expected[,kind]")
    cases: list[Case] = []
    for row in reader:
        line = reader.line_num
        expected = (row.get("expected") or "").strip().lower()
        if expected not in ("block", "allow"):
            raise ValueError(f"{path}:{line}: expected must be block or allow, not {expected!r}")
        if split is not None and (row.get("split") or "") != split:
            continue
        kind = (row.get("kind") or "").strip() or expected
        cases.append(Case(row["text"] or "", expected == "block", kind, line))
    return cases


def evaluate(guard: Guard, cases: Sequence[Case]) -> EvalReport:
    """Run every case through the guard."""
    report = EvalReport(mode=guard.mode)
    for case in cases:
        verdict = guard.check(case.text)
        blocked = not verdict.allowed
        counts = report.counts.setdefault(case.kind, [0, 0])
        counts[0] += blocked
        counts[1] += 1
        report.must_pass += not case.block
        if blocked != case.block:
            report.misses.append((case, verdict))
    return report


@app.command("eval")
def evaluate_command(
    data: Annotated[Path, typer.Option("--data", help="CSV: text,expected[,kind[,split]]")],
    split: Annotated[
        str | None, typer.Option("--split", help="Only rows whose split column is this")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Block rate per kind, false-block rate on texts that must pass, and every miss."""
    try:
        cases = read_cases(data, split)
    except ValueError as exc:
        fail(str(exc))
    report = evaluate(load_guard(settings_or_exit()), cases)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"guard: {_MODES[report.mode]}")
    typer.echo(f"{'kind':<14}{'blocked':>9}{'total':>7}{'rate':>8}")
    for kind, (blocked, total) in sorted(report.counts.items()):
        typer.echo(f"{kind:<14}{blocked:>9}{total:>7}{blocked / total:>8.1%}")
    typer.echo(f"false-block rate (texts that must pass): {report.false_block_rate:.1%}")
    if report.misses:
        typer.echo(f"\nmisses ({len(report.misses)}):")
    for case, verdict in report.misses:
        what = f"blocked by {verdict.explain()}" if not verdict.allowed else "let through"
        text = case.text.encode("utf-8", "backslashreplace").decode("utf-8")
        typer.echo(f"  {data}:{case.line} [{case.kind}] {text!r}: {what}")
