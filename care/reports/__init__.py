"""Manager reports: how care is going, in numbers and pictures, across desk and outreach.

Modules: `period` (``--since 30d`` -> whole local days, and the period before), `clock`
(business seconds between many instants), `figures` (the JSON-ready report; counting is
done in `storage.ReportQueries`), `texts` (approved ``report.*`` scripts, number formats),
`charts` (matplotlib, Noto Sans CJK), `page` (the self-contained HTML), `telegram` (/report
and the weekly digest), `config` (the ``[reports]`` settings section). Import the modules
themselves; this package re-exports nothing, so the settings can load `config` without
the rest (which imports the settings).
"""

from __future__ import annotations

__all__: list[str] = []
