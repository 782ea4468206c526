"""Prometheus metrics: one `Metrics` object (its own `CollectorRegistry`) held by `Services`.

No module-level collectors: every worker process and every test builds its own registry, so
counts never leak between tests and `/metrics` shows exactly this process. In production run
one registry per process and let Prometheus scrape each worker (see docs/deploy.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "counting_send"]

T = TypeVar("T")

# Buckets around a chat bot's latencies: most updates take a few ms, slow ones wait on Telegram.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The counters and histograms carebot exports; names are prefixed ``carebot_``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "carebot_updates_processed", "Telegram updates handled, by outcome",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.update_latency = Histogram(
            "carebot_update_latency_seconds", "Time to handle one update (incl. commit)",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.intents = Counter(
            "carebot_intents", "Customer messages by matched intent ('none' = no match)",
            ["intent"], registry=r,
        )  # fmt: skip
        self.tickets_opened = Counter(
            "carebot_tickets_opened", "Tickets opened, by kind", ["kind"], registry=r
        )
        self.sla_breaches = Counter(
            "carebot_sla_breaches", "SLA deadlines missed, by deadline", ["deadline"], registry=r
        )
        self.campaign_messages = Counter(
            "carebot_campaign_messages", "Campaign messages by result (sent/failed)",
            ["result"], registry=r,
        )  # fmt: skip
        self.retry_after = Counter(
            "carebot_telegram_429", "Flood-control answers (429 RetryAfter) from Telegram",
            registry=r,
        )  # fmt: skip
        self.api_errors = Counter(
            "carebot_telegram_errors", "Failed Bot API calls by HTTP-ish class",
            ["kind"], registry=r,
        )  # fmt: skip
        self.in_flight = Gauge(
            "carebot_updates_in_flight", "Updates being handled right now", registry=r
        )
        self.leader = Gauge(
            "carebot_leader", "1 while this process holds the scheduler leader lock", registry=r
        )

        self.retention_rows = Counter(
            "carebot_retention_rows", "Rows deleted or redacted by retention, by kind",
            ["kind"], registry=r,
        )  # fmt: skip
        self.retention_batch_seconds = Gauge(
            "carebot_retention_max_batch_seconds",
            "Longest single retention batch (write-lock hold) of the last pass", registry=r,
        )  # fmt: skip
        self.backups = Counter(
            "carebot_backups", "Scheduled backups by result (ok/failed)", ["result"], registry=r
        )
        self.last_backup = Gauge(
            "carebot_last_backup_timestamp_seconds", "When the last good backup was taken",
            registry=r,
        )  # fmt: skip

    def render(self) -> bytes:
        """The text exposition format for a `/metrics` response."""
        return generate_latest(self.registry)

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        """One sample's value (0 when absent); for tests and the CLI."""
        value = self.registry.get_sample_value(name, labels or {})
        return float(value or 0.0)


def counting_send(
    send: Callable[[T], Awaitable[int]], metrics: Metrics
) -> Callable[[T], Awaitable[int]]:
    """Wrap a campaign `send` callable so each message counts as sent or failed.

    Exceptions still propagate unchanged: the sender's own retry/blocked logic decides what a
    failure means; the counter only records that Telegram did not take the message.
    """

    async def send_counted(message: T) -> int:
        try:
            message_id = await send(message)
        except Exception:
            metrics.campaign_messages.labels("failed").inc()
            raise
        metrics.campaign_messages.labels("sent").inc()
        return message_id

    return send_counted
