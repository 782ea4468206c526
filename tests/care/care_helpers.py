"""Helpers for care-greeting tests: a time machine, a scripted fake `send`, customers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from care.outreach.sender import OutgoingMessage, SendError
from storage import Database, ProfileRepo


class TimeMachine:
    """Timer for the sender: sleeping moves virtual time to the wake-up instant at once."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
        self.mono = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.mono)

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mono = max(self.mono, self.mono + max(0.0, seconds))
        await asyncio.sleep(0)

    def travel(self, **delta: float) -> None:
        self.mono += timedelta(**delta).total_seconds()


class FakeSend:
    """Records sends; `fail(chat_id)` returns an exception to raise (or None)."""

    def __init__(
        self,
        timer: TimeMachine,
        fail: Callable[[int, int], SendError | BaseException | None] | None = None,
    ) -> None:
        self.timer = timer
        self.fail = fail
        self.calls: list[tuple[float, OutgoingMessage]] = []
        self.sent: list[OutgoingMessage] = []
        self._ids = 100

    async def __call__(self, message: OutgoingMessage) -> int:
        self.calls.append((self.timer.monotonic(), message))
        if self.fail is not None:
            error = self.fail(message.chat_id, len(self.calls))
            if error is not None:
                raise error
        self.sent.append(message)
        self._ids += 1
        return self._ids


async def add_customers(database: Database, rows: Sequence[dict[str, Any]]) -> None:
    async with database.transaction() as session:
        await ProfileRepo(session).bulk_upsert(list(rows))


def customer(tid: int, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "telegram_id": tid,
        "first_name": f"C{tid}",
        "surname": "梁",
        "title": "小姐",
        "language": "zh-Hans",
    }
    base.update(extra)
    return base
