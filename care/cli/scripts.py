"""`carebot scripts`: list, show, lint, approve and retire the approved script library."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from care.cli.common import settings_or_exit
from care.desk.macro_usage import USAGE_COLUMNS, usage_summary
from care.runtime.content import missing_scripts
from care.runtime.settings import Settings, SettingsError, load_settings
from intents import load_catalog, normalize
from scripts import (
    DEFAULT_OPENERS,
    Guard,
    LibraryError,
    LibraryProblem,
    LintProblem,
    ScriptLibrary,
    ScriptNotServable,
    approve_script,
    lint_library,
    retire_script,
)
from storage import Database, MacroRepo

app = typer.Typer(help="Approved response scripts: list, show, lint, approve, retire.")

OpenerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--opener",
        help="Empathy/apology opener accepted for complaint scripts (repeatable; "
        "replaces the default list).",
    ),
]


def _where(path: Path) -> str:
    """Paths relative to the working directory when possible: shorter, clickable in editors."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _line(problem: LibraryProblem | LintProblem) -> str:
    return f"{_where(problem.file)}:{problem.line}: {problem.message}"


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _library(settings: Settings, *, exit_code: int = 2) -> ScriptLibrary:
    try:
        return ScriptLibrary.load(
            settings.scripts_dirs,
            default_language=settings.default_language,
            key_file=settings.approval_key_file,
        )
    except LibraryError as exc:
        for problem in exc.problems:
            typer.echo(_line(problem), err=exit_code != 1)
        raise typer.Exit(exit_code) from None


def _guard(settings: Settings, *, exit_code: int = 2) -> Guard:
    try:
        return Guard.from_file(settings.forbidden_path, normalize)
    except LibraryError as exc:
        for problem in exc.problems:
            typer.echo(_line(problem), err=exit_code != 1)
        raise typer.Exit(exit_code) from None


@app.command("list")
def list_scripts() -> None:
    """Every script in service: status, whether it can be sent, channel, tier, version."""
    settings = _settings()
    library = _library(settings)
    table = Table("id", "status", "servable", "channel", "tier", "purpose", "version", "file")
    for script_id, script in sorted(library.scripts.items()):
        table.add_row(
            script_id,
            script.status,
            "yes" if script.servable else "no",
            script.channel,
            script.tier or "",
            script.purpose,
            script.version,
            f"{_where(script.file)}:{script.line}",
        )
    Console(width=200).print(table)
    for problem in library.problems:
        typer.echo(_line(problem), err=True)


@app.command("show")
def show(script_id: Annotated[str, typer.Argument(help="Script id, e.g. complaint.ack")]) -> None:
    """One script: metadata and the text of every language variant."""
    settings = _settings()
    library = _library(settings)
    script = library.get(script_id)
    if script is None:
        typer.echo(f"error: no script {script_id!r}", err=True)
        raise typer.Exit(1)
    why = script.unservable_reason()
    typer.echo(f"id:               {script.id}")
    typer.echo(f"file:             {_where(script.file)}:{script.line}")
    typer.echo(f"purpose:          {script.purpose}")
    typer.echo(f"channel:          {script.channel}")
    typer.echo(f"tier:             {script.tier or '-'}")
    typer.echo(f"variables:        {', '.join(script.variables) or '-'}")
    typer.echo(f"status:           {script.status}" + ("" if why is None else f" ({why})"))
    typer.echo(f"version:          {script.version}")
    typer.echo(f"approved_version: {script.approved_version or '-'}")
    typer.echo(f"approved_by:      {script.approved_by or '-'}")
    typer.echo(f"approved_at:      {script.approved_at or '-'}")
    if script.notes:
        typer.echo(f"notes:            {script.notes}")
    for language, template in script.templates.items():
        typer.echo(f"\n[{language}]\n{template}")
    if "zh-Hant" not in script.templates and "zh-Hans" in script.templates:
        typer.echo("\n[zh-Hant] derived from zh-Hans with OpenCC")


@app.command("lint")
def lint(openers: OpenerOption = None) -> None:
    """Check every script; exit 1 listing each problem as file:line: message."""
    settings = _settings()
    library = _library(settings, exit_code=1)
    guard = _guard(settings, exit_code=1)
    problems = lint_library(
        library, guard, list(settings.languages), tuple(openers or DEFAULT_OPENERS)
    )
    for problem in problems:
        typer.echo(_line(problem))
    # The other direction: intents of the catalog answered by a script that is not here.
    specs, _ = load_catalog(settings.intents_dirs)  # the catalog's own problems: intents check
    missing = missing_scripts(specs, library.scripts)
    for intent in missing:
        typer.echo(f"{_where(intent.file)}:{intent.line}: {intent.message}")
    if problems or missing:
        count = len(problems) + len(missing)
        typer.echo(f"{count} problem(s) in {len(library)} scripts", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(library)} scripts, no problems")


@app.command("approve")
def approve(
    script_id: Annotated[str, typer.Argument(help="Script id to approve")],
    by: Annotated[str, typer.Option("--by", help="Who approves (recorded in the file)")],
    openers: OpenerOption = None,
) -> None:
    """Approve the current text of a script (refused while it fails lint)."""
    if not by.strip():
        typer.echo("error: --by must name the approver", err=True)
        raise typer.Exit(2)
    settings = _settings()
    library = _library(settings)
    guard = _guard(settings)
    if library.get(script_id) is None:
        typer.echo(f"error: no script {script_id!r}", err=True)
        raise typer.Exit(1)
    problems = [
        problem
        for problem in lint_library(
            library,
            guard,
            list(settings.languages),
            tuple(openers or DEFAULT_OPENERS),
            ids={script_id},
        )
        if problem.kind != "approval"  # the stale approval is what we are fixing
    ]
    if problems:
        for problem in problems:
            typer.echo(_line(problem))
        typer.echo(f"refused: {script_id} fails lint ({len(problems)} problem(s))", err=True)
        raise typer.Exit(1)
    try:
        script = approve_script(library, script_id, by.strip())
    except (LibraryError, ScriptNotServable, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"approved {script.id} version {script.version} by {script.approved_by} "
        f"at {script.approved_at} ({_where(script.file)})"
    )


@app.command("retire")
def retire(script_id: Annotated[str, typer.Argument(help="Script id to retire")]) -> None:
    """Take a script out of service (it can be approved again later)."""
    settings = _settings()
    library = _library(settings)
    if library.get(script_id) is None:
        typer.echo(f"error: no script {script_id!r}", err=True)
        raise typer.Exit(1)
    try:
        script = retire_script(library, script_id)
    except (LibraryError, ScriptNotServable, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"retired {script.id} ({_where(script.file)})")


@app.command("usage")
def usage(
    days: Annotated[int, typer.Option("--days", help="Only the last N days (0 = all).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Staff macros: per-script counts (sent, suggested, edited, ignored) and the suggestion
    hit rate."""
    settings = settings_or_exit(existing_database=True)  # reads data: never creates a database

    async def main() -> dict[str, Any]:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            since = datetime.now(UTC) - timedelta(days=days) if days > 0 else None
            async with database.session() as session:
                return usage_summary(await MacroRepo(session).usage(since))
        finally:
            await database.dispose()

    summary = asyncio.run(main())
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    table = Table("script", *USAGE_COLUMNS)
    for script_id, row in summary["scripts"].items():
        table.add_row(script_id, *(str(row[column]) for column in USAGE_COLUMNS))
    Console(width=200).print(table)
    rate = summary["hit_rate"]
    typer.echo(
        f"suggestion lines answered: {summary['suggestion_lines']}, "
        f"with a suggested script: {summary['suggestion_hits']}"
        + (f" (hit rate {100 * rate:.1f}%)" if rate is not None else " (hit rate: no data yet)")
    )
