"""manager reports: the weekly digest ledger

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Plain SQLAlchemy types only (see 0001). ``report_digests`` has one row per ISO week whose
digest was sent (claimed): the leader inserts it before sending, so a restart, a second
leader or a job firing twice never sends a week's digest again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_digests",
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_report_digests")),
    )


def downgrade() -> None:
    op.drop_table("report_digests")
