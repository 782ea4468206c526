"""Outreach: customers, tiers, the care calendar, campaigns, the broadcast sender and call tasks.

Modules: `customers` (CRM import/export), `tiers` (ABC analysis), `calendar` (occasions),
`campaigns` (create, preview, schedule, report), `sender` (the paced broadcast over a `send`
callable), `quiet` (quiet hours), `optout` (per-category opt-out), `tasks` (the gold
customers' personal calls), `admin` (the managers' campaign console), `scheduler` (the care
scheduler), `wiring` (builds the campaign use cases from `Services` or a lean context),
`config` (the `[care]` settings section). This package re-exports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
