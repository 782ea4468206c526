"""The staff macros' usage figures, JSON-ready: `carebot scripts usage` and the reports.

Apart from `care.desk.macros` (which re-exports them) so a report loads these few lines,
not the macro desk with its staff desk, relay and suggestion ranker.
"""

from __future__ import annotations

from typing import Any

from storage import MacroKind, MacroUsage

__all__ = ["USAGE_COLUMNS", "usage_summary"]

#: The per-script counts of `usage_summary` (`carebot scripts usage`, the reports).
USAGE_COLUMNS = ("sent", "cancelled", "suggested", "suggested_sent", "edited", "ignored", "pending")


def usage_summary(usage: MacroUsage) -> dict[str, Any]:
    """Per-script macro counts and the suggestion hit rate, JSON-ready (CLI and reports).

    Per script: ``sent`` (previews sent, from /s or a suggestion), ``cancelled``,
    ``suggested`` (times it was among a message's suggestions) and what became of those:
    ``suggested_sent``, ``edited`` (previewed, then staff typed their own reply),
    ``ignored`` (staff answered otherwise), ``pending`` (not answered yet).
    ``hit_rate``: decided suggestion lines whose answer was one of their scripts.
    """
    scripts: dict[str, dict[str, int]] = {}
    for (script_id, kind, outcome), count in sorted(usage.counts.items()):
        row = scripts.setdefault(script_id, dict.fromkeys(USAGE_COLUMNS, 0))
        if kind == MacroKind.PREVIEW:
            if outcome in ("sent", "cancelled"):
                row[outcome] += count
        else:
            row["suggested"] += count
            key = "suggested_sent" if outcome == "sent" else outcome
            if key in row:
                row[key] += count
    return {
        "scripts": scripts,
        "suggestion_lines": usage.lines,
        "suggestion_hits": usage.hits,
        "hit_rate": round(usage.hits / usage.lines, 4) if usage.lines else None,
    }
