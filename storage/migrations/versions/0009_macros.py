"""staff macros: previews with their send-once claim, suggestions and what became of them

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01

Plain SQLAlchemy types only (see 0001). ``macro_uses`` holds one row per macro preview a staff
member opened in a ticket topic and one per script suggested under a customer message; a
preview is sent by the one update that moves its ``outcome`` from ``pending`` to ``sent``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "macro_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("source_message_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("values_json", sa.Text(), nullable=True),
        sa.Column("asking", sa.String(length=64), nullable=True),
        sa.Column("topic_message_id", sa.BigInteger(), nullable=True),
        sa.Column("suggestion_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_macro_uses_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macro_uses")),
    )
    op.create_index(
        "ix_macro_uses_ticket_outcome", "macro_uses", ["ticket_id", "kind", "outcome"], unique=False
    )
    op.create_index("ix_macro_uses_script", "macro_uses", ["script_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_macro_uses_script", table_name="macro_uses")
    op.drop_index("ix_macro_uses_ticket_outcome", table_name="macro_uses")
    op.drop_table("macro_uses")
