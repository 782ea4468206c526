"""The report's words and number formats: every label is an approved ``report.*`` script,
every number formatted for the reader's language.

>>> from decimal import Decimal
>>> fmt_int(1234567), fmt_share(0.1234), fmt_share(None), fmt_number(4.0)
('1,234,567', '12.3%', None, '4.00')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from care.runtime.settings import Settings
from intents import normalize
from scripts import Guard, Renderer, ScriptLibrary

__all__ = ["ReportTexts", "fmt_int", "fmt_number", "fmt_share", "load_texts"]


def fmt_int(value: int | float | None) -> str | None:
    """Thousands separators (the same comma in Chinese and English business writing)."""
    return None if value is None else f"{round(value):,}"


def fmt_share(value: float | None) -> str | None:
    return None if value is None else f"{100 * value:.1f}%"


def fmt_number(value: float | None, digits: int = 2) -> str | None:
    return None if value is None else f"{value:,.{digits}f}"


@dataclass(frozen=True, slots=True)
class ReportTexts:
    """``report.*`` scripts in one language, plus the formats that need words (units)."""

    renderer: Renderer
    language: str

    def plain(self, script_id: str, context: Mapping[str, object] | None = None) -> str:
        """The script's text without HTML escaping (charts, terminal)."""
        return self.renderer.render(script_id, self.language, dict(context or {})).plain

    def html(self, script_id: str, context: Mapping[str, object] | None = None) -> str:
        """The script's text, HTML-escaped (values included), for the page and Telegram."""
        return self.renderer.render(script_id, self.language, dict(context or {})).text

    def or_no_data(self, text: str | None) -> str:
        return self.plain("report.no_data") if text is None else text

    def minutes(self, value: float | None) -> str:
        """Business minutes, shown in hours from 90 minutes up."""
        if value is None:
            return self.plain("report.no_data")
        if value >= 90:
            return self.plain("report.unit.hours", {"value": fmt_number(value / 60, 1)})
        return self.plain("report.unit.minutes", {"value": fmt_number(value, 0)})

    def hours(self, value: float | None) -> str:
        if value is None:
            return self.plain("report.no_data")
        return self.plain("report.unit.hours", {"value": fmt_number(value, 1)})

    def score(self, value: float | None) -> str:
        if value is None:
            return self.plain("report.no_data")
        return self.plain("report.unit.points", {"value": fmt_number(value, 2)})

    def tier(self, tier: str) -> str:
        return self.plain(f"report.tier.{tier}")

    def period(self, report: Mapping[str, object]) -> str:
        period = report["period"]
        previous = report["previous_period"]
        assert isinstance(period, Mapping) and isinstance(previous, Mapping)
        return self.plain(
            "report.period",
            {
                "first_day": period["first_day"],
                "last_day": period["last_day"],
                "days": period["days"],
                "previous_first_day": previous["first_day"],
                "previous_last_day": previous["last_day"],
            },
        )


def load_texts(settings: Settings, language: str) -> ReportTexts:
    """The approved library, the guard and a renderer, for a report outside the bot."""
    library = ScriptLibrary.load(settings.scripts_dirs, default_language=settings.default_language)
    guard = Guard.from_file(settings.forbidden_path, normalize)
    renderer = Renderer(library, guard, traditional=settings.traditional_variant)
    return ReportTexts(renderer, language)
