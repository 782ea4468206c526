"""The staff forum edge: the gateway (topics, cards, relay), its rate-limited outbox, staff auth."""

from __future__ import annotations

__all__: list[str] = []
