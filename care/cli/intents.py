"""`carebot intents`: validate the catalog, try a message, evaluate on a labelled CSV.

Catalog folders default to the settings (`intents_dirs`: bundled catalog, then
the operator's `INTENTS_DIR`); `--catalog DIR` (repeatable) replaces them.
A running bot picks catalog edits up by itself (the engine polls file mtimes
every 2 s); `check` is how an operator validates an edit before saving it there,
and says which matcher serves (`INTENT_ENCODER`: lexical, or lexical + a sentence encoder).
`match` and `eval` use the encoder as the bot would, waiting for the catalog's vectors.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from care.cli.common import fail, settings_or_exit
from care.runtime.content import missing_scripts
from intents import (
    CatalogError,
    EvalReport,
    IntentEngine,
    IntentSpec,
    evaluate,
    load_catalog,
    load_encoder,
    read_labelled_csv,
)
from scripts import LibraryError, ScriptLibrary

__all__ = ["app"]

app = typer.Typer(help="Intent catalog: check, try and evaluate the matcher.", no_args_is_help=True)

_CATALOG_HELP = "Catalog folder (repeatable, later folders override ids); default: from settings."


def _dirs(catalog: list[Path] | None) -> list[Path]:
    if catalog:
        return list(catalog)
    return settings_or_exit().intents_dirs


def _engine(catalog: list[Path] | None) -> IntentEngine:
    settings = settings_or_exit()
    try:
        engine = IntentEngine(
            _dirs(catalog),
            encoder=load_encoder(settings.intent_encoder),
            cache_dir=settings.intents_cache_dir,
        )
    except CatalogError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    if engine.encoder is not None and not engine.wait_until_vectors(timeout=0):
        # A cold catalog: the bot would answer lexically meanwhile; here we wait, visibly.
        shown = -1
        while not engine.wait_until_vectors(timeout=1.0):
            done, total = engine.progress
            if done != shown:
                typer.echo(f"encoding catalog examples: {done}/{total}", err=True)
                shown = done
            if not any(t.name == "intents-encode-catalog" for t in threading.enumerate()):
                break  # encoding failed (logged); lexical-only
    return engine


def _matcher_line(setting: str) -> str:
    encoder = load_encoder(setting)
    if encoder is None:
        return f"matcher: lexical-only (INTENT_ENCODER={setting})"
    return f"matcher: lexical + sentence encoder {encoder.name} ({encoder.model})"


def _script_problems(specs: list[IntentSpec]) -> list[object]:
    """Intents answered by a script the library (bundled + SCRIPTS_DIR) does not have."""
    settings = settings_or_exit()
    try:
        library = ScriptLibrary.load(
            settings.scripts_dirs,
            default_language=settings.default_language,
            key_file=settings.approval_key_file,
        )
    except LibraryError as exc:
        return [f"{problem.file}:{problem.line}: {problem.message}" for problem in exc.problems]
    return list(missing_scripts(specs, library.scripts))


@app.command()
def check(
    catalog: list[Path] | None = typer.Option(None, "--catalog", help=_CATALOG_HELP),
) -> None:
    """Validate the catalog folders; print problems as `file:line: message`, exit 1 on any."""
    dirs = _dirs(catalog)
    specs, catalog_problems = load_catalog(dirs)
    problems = [*catalog_problems, *_script_problems(specs)]
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    examples = sum(len(spec.all_examples()) for spec in specs)
    typer.echo(f"ok: {len(specs)} intents, {examples} examples in {len(dirs)} folder(s)")
    typer.echo(_matcher_line(settings_or_exit().intent_encoder))


@app.command()
def match(
    text: str = typer.Argument(..., help="A customer message."),
    catalog: list[Path] | None = typer.Option(None, "--catalog", help=_CATALOG_HELP),
) -> None:
    """Show what the matcher makes of one message (intent, score, runner-up, script)."""
    result = _engine(catalog).match(text)
    typer.echo(json.dumps(result.__dict__, ensure_ascii=False))


@app.command("eval")
def eval_(
    data: Path = typer.Option(..., "--data", help="CSV with columns text,label."),
    catalog: list[Path] | None = typer.Option(None, "--catalog", help=_CATALOG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Accuracy, macro-F1, per-class P/R, confusion matrix, none recall and latency."""
    try:
        rows = read_labelled_csv(data)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {data}: {exc}")
    if not rows:
        fail(f"{data}: no rows")
    engine = _engine(catalog)
    report = evaluate(engine.match, rows)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    _print_report(report)


def _print_report(report: EvalReport) -> None:
    console = Console(width=120)
    none = "n/a" if report.none_recall is None else f"{report.none_recall:.1%}"
    console.print(
        f"rows {report.n}   accuracy {report.accuracy:.1%}   macro-F1 {report.macro_f1:.3f}   "
        f"none recall {none}   latency p50 {report.latency_ms['p50']:.3f} ms "
        f"p99 {report.latency_ms['p99']:.3f} ms"
    )
    classes = Table("label", "precision", "recall", "f1", "support", title="per class")
    for label, stats in report.per_class.items():
        classes.add_row(
            label,
            f"{stats['precision']:.3f}",
            f"{stats['recall']:.3f}",
            f"{stats['f1']:.3f}",
            str(int(stats["support"])),
        )
    console.print(classes)
    matrix = Table("gold \\ predicted", *report.labels, title="confusion")
    for gold in report.labels:
        row = report.confusion.get(gold, {})
        matrix.add_row(gold, *(str(row.get(p, 0)) for p in report.labels))
    console.print(matrix)
