"""`copy_database`: the SQLite -> PostgreSQL move, on both target backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from storage import CustomerRepo, Database, MessageLog, MessageRepo, Ticket, TicketRepo
from storage.copy import CopyError, copy_database

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
HOSTILE = "{{ 7*7 }} <b>'; DROP TABLE x;--</b> 😀"


async def _filled_source(tmp_path: Path) -> Database:
    source = Database(f"sqlite+aiosqlite:///{tmp_path / 'source.db'}")
    await source.upgrade()
    async with source.transaction() as session:
        for n in range(3):
            customer = await CustomerRepo(session).upsert_from_telegram(100 + n, f"客户{n}")
            assert customer.id is not None
            await MessageRepo(session).log(
                customer_id=customer.id,
                direction="in",
                content_type="text",
                text=HOSTILE,
                now=NOW,
            )
            await TicketRepo(session).create(
                customer_id=customer.id,
                kind="complaint",
                subject=HOSTILE,
                now=NOW,
                first_response_due=NOW + timedelta(minutes=30),
                resolution_due=NOW + timedelta(hours=24),
            )
    return source


async def test_copy_moves_every_row_and_new_ids_continue(
    tmp_path: Path, make_database: object
) -> None:
    source = await _filled_source(tmp_path)
    target: Database = await make_database(upgrade=False)  # type: ignore[operator]
    seen: list[str] = []
    try:
        report = await copy_database(source, target, progress=lambda t, d, n: seen.append(t))
        assert dict(report.tables)["customers"] == 3
        assert dict(report.tables)["tickets"] == 3
        assert "message_logs" in seen
        async with target.transaction() as session:
            tickets = list((await session.execute(select(Ticket))).scalars())
            logs = list((await session.execute(select(MessageLog))).scalars())
            assert sorted(t.number for t in tickets) == [
                "C-20261123-0001",
                "C-20261123-0002",
                "C-20261123-0003",
            ]
            assert {m.text for m in logs} == {HOSTILE}
            assert tickets[0].created_at.tzinfo is not None
            # Sequences moved past the copied ids: a new customer gets a fresh id.
            fresh = await CustomerRepo(session).upsert_from_telegram(999, "new")
            assert fresh.id == 4
            ticket = await TicketRepo(session).create(
                customer_id=4,
                kind="inquiry",
                subject="x",
                now=NOW,
                first_response_due=NOW,
                resolution_due=NOW,
            )
            assert ticket.number == "C-20261123-0004"  # the day counter came along
    finally:
        await source.dispose()


async def test_copy_refuses_a_target_with_data_and_leaves_it_alone(tmp_path: Path) -> None:
    source = await _filled_source(tmp_path)
    target = await _filled_source(tmp_path / "other")
    try:
        with pytest.raises(CopyError, match="already has rows"):
            await copy_database(source, target)
        async with target.session() as session:
            assert len(list((await session.execute(select(Ticket))).scalars())) == 3
        with pytest.raises(CopyError, match="same database"):
            await copy_database(source, source)
    finally:
        await source.dispose()
        await target.dispose()
