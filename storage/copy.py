"""Copying every carebot table from one database to another (SQLite -> PostgreSQL).

`carebot db copy --to URL` is how a shop outgrows the embedded database: the target is
migrated to the same schema, then each table is copied in foreign-key order inside ONE
target transaction, so a failure leaves the target exactly as empty as it was.  Rows go
through the same column types on both sides (aware UTC datetimes, NUL-safe text), and
PostgreSQL's id sequences are moved past the copied ids so new rows don't collide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

import storage.care_models
import storage.macro_models
import storage.models
import storage.ops_models
import storage.staff_models  # noqa: F401  (every table must be in the metadata)
from storage.database import Database

__all__ = ["CopyError", "CopyReport", "copy_database"]

_BATCH = 1_000

#: Called after each batch: (table name, rows copied so far in that table, rows in the table).
Progress = Callable[[str, int, int], None]


class CopyError(Exception):
    """The copy was refused or failed; the target is unchanged."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    """Rows copied per table, in the order they were copied."""

    tables: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.tables)


async def copy_database(
    source: Database, target: Database, *, progress: Progress | None = None
) -> CopyReport:
    """Copy every table of `source` into the (empty) `target` in one transaction."""
    if source.url == target.url:
        raise CopyError("source and target are the same database")
    await source.upgrade()
    await target.upgrade()
    tables = SQLModel.metadata.sorted_tables
    copied: list[tuple[str, int]] = []
    async with source.engine.connect() as read, target.engine.begin() as write:
        for table in tables:
            if (await write.execute(select(func.count()).select_from(table))).scalar_one():
                raise CopyError(
                    f"the target already has rows in {table.name}: copy only into an empty "
                    "database (create it, then run this command)"
                )
        for table in tables:
            total = (await read.execute(select(func.count()).select_from(table))).scalar_one()
            done = 0
            result = await read.stream(select(table))
            async for chunk in result.partitions(_BATCH):
                await write.execute(insert(table), [dict(row._mapping) for row in chunk])
                done += len(chunk)
                if progress is not None:
                    progress(table.name, done, total)
            copied.append((table.name, done))
        if write.dialect.name == "postgresql":
            await _advance_sequences(write)
    return CopyReport(tuple(copied))


async def _advance_sequences(connection: AsyncConnection) -> None:
    """Explicit ids were inserted: move each serial sequence past the largest one."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'),"
                        f" COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL)"
                        f" FROM {table.name}"
                    )
                )
