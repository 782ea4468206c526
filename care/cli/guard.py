"""`carebot guard`: check a text against the forbidden-phrase list (what staff replies pass)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from care.runtime.settings import SettingsError, load_settings
from intents import normalize
from scripts import Guard, LibraryError

app = typer.Typer(help="The forbidden-phrase guard every outgoing message passes.")


def _load_guard() -> Guard:
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        return Guard.from_file(settings.forbidden_path, normalize)
    except LibraryError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


@app.callback()
def _group() -> None:
    """Keep `check` a sub-command even though the group is small."""


@app.command("check")
def check(
    text: Annotated[str, typer.Argument(help="The text a customer would receive")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
) -> None:
    """Exit 0 if the text may be sent; exit 1 with the phrase, reason and suggestion if not."""
    verdict = _load_guard().check(text)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "allowed": verdict.allowed,
                    "phrase": verdict.phrase,
                    "reason": verdict.reason,
                    "suggestion": verdict.suggestion,
                },
                ensure_ascii=False,
            )
        )
    elif verdict.allowed:
        typer.echo("allowed")
    else:
        typer.echo(f"blocked: matches forbidden phrase {verdict.phrase!r}")
        typer.echo(f"reason: {verdict.reason}")
        typer.echo(f"suggestion: {verdict.suggestion}")
    if not verdict.allowed:
        raise typer.Exit(1)


@app.command("list")
def list_phrases() -> None:
    """The forbidden phrases in force, with their reasons."""
    for phrase in _load_guard().phrases:
        typer.echo(f"{phrase.phrase}\t{phrase.reason}")
