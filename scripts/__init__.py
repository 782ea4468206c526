"""Approved response scripts: the library, the Jinja2 renderer and the forbidden-phrase guard.

    library = ScriptLibrary.load([bundled_dir, operator_dir])
    guard = Guard.from_file(forbidden_path, normalize=intents.normalize)
    rendered = Renderer(library, guard).render("complaint.ack", "zh-Hant", context)

Only approved, unmodified scripts are served; every rendered text passes the guard.
"""

from __future__ import annotations

from scripts._approval import approve_script, retire_script
from scripts._budget import DEFAULT_BUDGET, RenderBudget, TemplateBudgetError
from scripts._guard import Embed, ForbiddenPhrase, Guard, GuardVerdict, load_forbidden
from scripts._library import ScriptLibrary
from scripts._lint import (
    DEFAULT_OPENERS,
    GREETING_MAX_CHARS,
    LintProblem,
    lint_library,
    lint_script,
)
from scripts._model import LibraryError, LibraryProblem, Script, ScriptNotServable
from scripts._render import Rendered, Renderer
from scripts._templates import TRADITIONAL_VARIANTS

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_OPENERS",
    "GREETING_MAX_CHARS",
    "TRADITIONAL_VARIANTS",
    "Embed",
    "ForbiddenPhrase",
    "Guard",
    "GuardVerdict",
    "LibraryError",
    "LibraryProblem",
    "LintProblem",
    "RenderBudget",
    "Rendered",
    "Renderer",
    "Script",
    "ScriptLibrary",
    "ScriptNotServable",
    "TemplateBudgetError",
    "approve_script",
    "lint_library",
    "lint_script",
    "load_forbidden",
    "retire_script",
]
