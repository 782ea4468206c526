"""staff takeover: message pairs, ticket events, ticket card message id

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23

Plain SQLAlchemy types only (see 0001). Branches from 0001 beside the care-greetings revision
(0002); a merge revision joins them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # SQLite cannot ALTER TABLE ... ADD with everything; batch mode copies the table there.
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("card_message_id", sa.BigInteger(), nullable=True))

    op.create_table(
        "message_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("customer_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_message_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_message_id", sa.BigInteger(), nullable=False),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_message_pairs_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_pairs")),
    )
    op.create_index(
        "ix_message_pairs_customer",
        "message_pairs",
        ["customer_chat_id", "customer_message_id"],
        unique=False,
    )
    op.create_index(
        "ix_message_pairs_staff", "message_pairs", ["staff_chat_id", "staff_message_id"], unique=False
    )
    op.create_index(
        op.f("ix_message_pairs_ticket_id"), "message_pairs", ["ticket_id"], unique=False
    )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(
        op.f("ix_ticket_events_ticket_id"), "ticket_events", ["ticket_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("ticket_events")
    op.drop_table("message_pairs")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("card_message_id")
