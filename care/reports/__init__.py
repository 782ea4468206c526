"""Manager reports: how care is going, in numbers and pictures, across desk and outreach.

Map: `period` (``--since 30d`` -> whole local days, and the period before), `clock` (business
seconds between many instants), `figures` (the JSON-ready report, counting done in
`storage.ReportQueries`).
"""

from __future__ import annotations

from care.reports.clock import BusinessClock
from care.reports.figures import ReportInput, Section, build_report, period_figures
from care.reports.period import Period, PeriodError, parse_period

__all__ = [
    "BusinessClock",
    "Period",
    "PeriodError",
    "ReportInput",
    "Section",
    "build_report",
    "parse_period",
    "period_figures",
]
