"""Cross-checks between the content files: every intent answers with a script that exists.

The intent catalog and the script library are leaves that do not know each other, so an
intent can name a script the library lacks; the customer would then get no answer. The
check runs where content is loaded: at start (`build_services`), after a hot reload
(`care.runtime.watch`), and in `carebot intents check` / `carebot scripts lint`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from intents import CatalogProblem, IntentSpec

__all__ = ["missing_scripts"]


def missing_scripts(specs: Iterable[IntentSpec], scripts: Collection[str]) -> list[CatalogProblem]:
    """One problem per intent whose `script` is not among `scripts`, at the intent's line."""
    return [
        CatalogProblem(
            spec.file or Path("<catalog>"),
            spec.line,
            f"intent {spec.id} answers with script {spec.script}, which does not exist "
            "in the script library",
        )
        for spec in specs
        if spec.script not in scripts
    ]
