"""The customer desk: conversation, tickets and their life cycle, staff, SLA, business hours.

Modules: `conversation` (what the bot says to a customer), `tickets` (opening tickets with SLA
deadlines), `lifecycle` (allowed ticket moves), `staff` (ticket cards, staff actions, relay,
CSAT, the SLA watcher), `closer` (closing resolved tickets), `business_hours` (clocks that
pause outside office hours), `config` (the `[staff]` settings section). Import the modules
themselves; this package re-exports nothing, so importing one module stays cheap.
"""

from __future__ import annotations

__all__: list[str] = []
