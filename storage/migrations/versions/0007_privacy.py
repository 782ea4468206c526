"""data lifecycle: forgotten customers, redacted tickets, delivery tallies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Plain SQLAlchemy types only (see 0001). ``customers.forgotten_at`` marks a customer erased at
their request (``carebot customers forget``), ``tickets.redacted_at`` a ticket whose texts were
removed (by that erasure or by retention), and ``delivery_tallies`` keeps the per-campaign
counts of ledger rows that were deleted, so campaign reports still add up afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("forgotten_at", UTC_DATETIME, nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("redacted_at", UTC_DATETIME, nullable=True))
    op.create_table(
        "delivery_tallies",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_delivery_tallies_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "tier", "status", name=op.f("pk_delivery_tallies")),
    )


def downgrade() -> None:
    op.drop_table("delivery_tallies")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("redacted_at")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("forgotten_at")
