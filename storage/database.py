"""The async database handle: engine, sessions, transactions and Alembic migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from storage.queued import QueuingSession

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where migrations run, not with the package: `carebot report` and the
# other read-only commands never migrate, and the import costs ~0.2-0.5 s of start-up.

__all__ = ["MIGRATIONS_DIR", "Database", "Session"]

#: The session type repositories take; exported so callers can annotate without SQLAlchemy.
Session = AsyncSession

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Execution option of `Database.read_session`'s engine: begin deferred, not IMMEDIATE.
READ_ONLY_OPTION = "carebot_read_only"

# How long a SQLite connection waits for another writer before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30.0


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config built in code, so migrations run from an installed package without
    an ``alembic.ini`` in the working directory."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        # env.py picks this up and migrates on our connection instead of making an engine.
        config.attributes["connection"] = connection
    return config


class Database:
    """One async engine plus session factories; build one per process and pass it down.

    The engine is created lazily on first use (creating a SQLite file's folder then), so
    constructing a ``Database`` does no I/O.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url: URL = make_url(url)
        self.echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database's file, made absolute (None: PostgreSQL or in memory)."""
        database = self.url.database or ""
        if not self.is_sqlite or database in ("", ":memory:") or database.startswith("file:"):
            return None
        return Path(database).expanduser().resolve()

    @property
    def display_url(self) -> str:
        """The URL with its password hidden: what a command may print."""
        return self.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> AsyncEngine:
        """The async engine (created on first access)."""
        if self._engine is None:
            self._engine = self._create_engine()
            self._sessions = async_sessionmaker(
                self._engine, expire_on_commit=False, sync_session_class=QueuingSession
            )
        return self._engine

    @property
    def is_in_memory(self) -> bool:
        """An in-memory SQLite database: one shared connection (StaticPool), so sessions must
        take turns instead of running side by side."""
        database = self.url.database or ""
        return self.is_sqlite and (
            database in ("", ":memory:") or database.startswith("file::memory:")
        )

    def _create_engine(self) -> AsyncEngine:
        if not self.is_sqlite:
            return create_async_engine(self.url, echo=self.echo, pool_pre_ping=True)
        database = self.url.database or ""
        kwargs: dict[str, Any] = {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S},
        }
        in_memory = self.is_in_memory
        if in_memory:
            # Every new connection would otherwise see its own empty in-memory database.
            kwargs["poolclass"] = StaticPool
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(self.url, echo=self.echo, **kwargs)
        _configure_sqlite(engine, wal=not in_memory)
        return engine

    def _sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        _ = self.engine
        assert self._sessions is not None
        return self._sessions

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that never commits by itself: the caller commits (or not); anything
        uncommitted is rolled back on exit.

        On SQLite every transaction takes the write lock at BEGIN (see ``_configure_sqlite``),
        so keep sessions short: one per update, no network calls while it is open.
        """
        async with self._sessionmaker()() as session:
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for long reads (reports): on SQLite its transaction is a plain deferred
        ``BEGIN``, so the bot keeps writing while it runs (WAL readers see a snapshot).
        Never commit writes through it."""
        engine = self.engine.execution_options(**{READ_ONLY_OPTION: True})
        async with AsyncSession(
            engine, expire_on_commit=False, sync_session_class=QueuingSession
        ) as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed when the block succeeds, rolled back when it
        raises."""
        async with self._sessionmaker()() as session, session.begin():
            yield session

    @contextmanager
    def statement_counter(self) -> Iterator[list[str]]:
        """Record every SQL statement this engine sends while the block runs.

        For the tests and the load benchmark that pin how many database round trips an
        update costs. Counted: every statement through a cursor, including SQLite's
        ``BEGIN IMMEDIATE`` (see ``_configure_sqlite``); not counted: the driver's own
        transaction calls (COMMIT on both backends, asyncpg's BEGIN).
        """
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(str(args[2]))  # (conn, cursor, statement, params, context, many)

        target = self.engine.sync_engine
        event.listen(target, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(target, "before_cursor_execute", record)

    async def upgrade(self, revision: str = "heads") -> None:
        """Run the Alembic migrations up to ``revision`` (default: every branch's newest).

        "heads" rather than "head": features developed side by side may each branch from
        the same parent until a merge revision joins them; both must apply.
        """
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)

    async def current_revision(self) -> str | None:
        """The revision the database is at (``None`` when never migrated)."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current_revision)

    @staticmethod
    def head_revision() -> str | None:
        """The newest revision shipped with this package."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    async def ping(self, timeout: float = 5.0) -> bool:
        """Whether the database answers ``SELECT 1`` within ``timeout`` seconds (for health
        checks; never raises for connection problems)."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection; the engine is rebuilt if used again."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _configure_sqlite(engine: AsyncEngine, *, wal: bool) -> None:
    """Pragmas per connection, and ``BEGIN IMMEDIATE`` transactions.

    pysqlite opens transactions lazily with a plain (deferred) BEGIN; a transaction that reads
    and then writes can then fail at once with "database is locked" when another connection
    wrote in between, busy timeout or not. Taking the write lock at BEGIN makes concurrent
    sessions queue on the busy timeout instead (SQLAlchemy's documented pysqlite recipe).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                # Safe with WAL (only the last transactions may be lost on power failure) and
                # much faster than FULL.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A read-only session (reports) must not hold the write lock for its whole run.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
