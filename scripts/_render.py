"""The renderer: approved script + language + context -> guarded, HTML-safe text."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from scripts._budget import DEFAULT_BUDGET, RenderBudget
from scripts._guard import Guard
from scripts._library import ScriptLibrary
from scripts._model import LANGUAGES, Script
from scripts._templates import (
    DEFAULT_TRADITIONAL,
    TRADITIONAL_VARIANTS,
    html_to_plain,
    render_html,
    to_traditional,
)

FALLBACK_ID = "fallback.safe"

_guard_log = logging.getLogger("carebot.guard")
_log = logging.getLogger("carebot.scripts")


@dataclass(frozen=True)
class Rendered:
    """A reply ready to send: `text` is Telegram HTML, `plain` is what the guard checked."""

    text: str
    plain: str
    script_id: str
    version: str
    language: str
    blocked: bool


def variant_source(
    script: Script, language: str, default: str, traditional: str = DEFAULT_TRADITIONAL
) -> tuple[str, str]:
    """(template source, language actually used) for a requested language.

    zh-Hant falls back to the zh-Hans variant converted with OpenCC into the `traditional`
    variant (tw, hk or standard); a language the script does not carry falls back to the
    library default, then to whatever variant exists.
    """
    if language not in LANGUAGES:
        language = default
    if language in script.templates:
        return script.templates[language], language
    if language == "zh-Hant" and "zh-Hans" in script.templates:
        return to_traditional(script.templates["zh-Hans"], traditional), "zh-Hant"
    for candidate in (default, "zh-Hans", "en", *script.templates):
        if candidate in script.templates:
            return script.templates[candidate], candidate
    raise LookupError(f"script {script.id!r} has no text")  # parse_file forbids this


class Renderer:
    """Renders only servable scripts and never lets a forbidden phrase through."""

    def __init__(
        self,
        library: ScriptLibrary,
        guard: Guard,
        *,
        fallback_id: str = FALLBACK_ID,
        traditional: str = DEFAULT_TRADITIONAL,
        budget: RenderBudget = DEFAULT_BUDGET,
    ):
        if traditional not in TRADITIONAL_VARIANTS:
            raise ValueError(f"traditional must be one of {sorted(TRADITIONAL_VARIANTS)}")
        self.library = library
        self.guard = guard
        self.fallback_id = fallback_id
        self.traditional = traditional
        self.budget = budget

    def render(self, script_id: str, language: str, context: Mapping[str, object]) -> Rendered:
        """Render `script_id`; raises `ScriptNotServable` for unknown/draft/retired/edited ids.

        A text that fails the guard is replaced by `fallback.safe` (`blocked=True`) and
        logged on ``carebot.guard``. Any render error (a missing context value, a template
        over its render budget, runaway recursion, ...) is logged and also answered with the
        fallback, so the customer is never left without a reply.
        """
        script = self.library.servable(script_id)
        source, used = self._source(script, language)
        try:
            text = render_html(source, context, self.budget)
        except Exception as exc:  # an operator's template must never take the bot down
            _log.error(
                "script %s version %s (%s) failed to render: %s: %s",
                script.id,
                script.version,
                used,
                type(exc).__name__,
                exc,
            )
            return self._fallback(language, context, blocked=False)
        plain = html_to_plain(text)
        # Approved text: the lexical layer guards what the context put in (names, numbers);
        # its meaning was judged by a person and by lint, the encoder's latency stays out.
        verdict = self.guard.check(plain, semantic=False)
        if not verdict.allowed:
            _guard_log.warning(
                "blocked script %s version %s (%s): forbidden phrase %r",
                script.id,
                script.version,
                used,
                verdict.phrase,
            )
            return self._fallback(language, context, blocked=True)
        return Rendered(text, plain, script.id, script.version, used, blocked=False)

    def _source(self, script: Script, language: str) -> tuple[str, str]:
        return variant_source(script, language, self.library.default_language, self.traditional)

    def _fallback(self, language: str, context: Mapping[str, object], *, blocked: bool) -> Rendered:
        script = self.library.servable(self.fallback_id)
        source, used = self._source(script, language)
        text = render_html(source, context, self.budget)
        plain = html_to_plain(text)
        verdict = self.guard.check(plain, semantic=False)
        if not verdict.allowed:
            # Nothing safer exists; lint refuses to approve such a fallback, so this means the
            # forbidden list changed under it. Shout, but still answer the customer.
            _guard_log.error(
                "the fallback script %s itself matches forbidden phrase %r",
                script.id,
                verdict.phrase,
            )
        return Rendered(text, plain, script.id, script.version, used, blocked=blocked)
