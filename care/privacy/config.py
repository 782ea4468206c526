"""Data-lifecycle settings: `[retention]` and `[backup]` in carebot.toml (`RETENTION__...`,
`BACKUP__...` in the environment)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["BackupSettings", "RetentionSettings"]


class RetentionSettings(BaseModel):
    """How long data is kept; 0 keeps it for ever. The leader applies it once a day."""

    #: Every message (in and out) is deleted this many days after it was written, except
    #: the transcript of a ticket that is still open.
    messages_days: int = Field(default=365, ge=0)
    #: Tickets closed this long ago lose their texts (subject, transcript, notes, CSAT
    #: comment); the rows stay, so counts, SLA and CSAT reports still add up.
    closed_tickets_days: int = Field(default=730, ge=0)
    #: Campaign deliveries (who got which greeting) of finished campaigns are folded into
    #: per-campaign counts and deleted after this many days.
    deliveries_days: int = Field(default=180, ge=0)
    #: Rows per batch to start with; the batch shrinks when one takes longer than
    #: `max_batch_ms` and grows back when it is quick.
    batch_rows: int = Field(default=2000, ge=10, le=100_000)
    #: Longest a batch may hold the write lock (SQLite) before the next one is made smaller.
    max_batch_ms: float = Field(default=50.0, gt=0)
    #: How often the leader runs a pass.
    every_hours: float = Field(default=24.0, gt=0)


class BackupSettings(BaseModel):
    """The leader's scheduled backups (see `carebot db backup` for the manual one)."""

    #: How many scheduled backups to keep (the oldest are deleted); 0 = no scheduled backups.
    keep: int = Field(default=7, ge=0)
    #: Where they go; default: `backups/` beside the SQLite database (`data/backups`).
    dir: str | None = None
    #: A backup is taken when the newest one is older than this.
    every_hours: float = Field(default=24.0, gt=0)
