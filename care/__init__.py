"""Application core: settings, conversation use cases, tickets, campaigns, scheduling, CLI."""

from __future__ import annotations

__all__: list[str] = []
