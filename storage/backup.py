"""Backups and restores: SQLite's online backup API, pg_dump / pg_restore for PostgreSQL.

SQLite: `backup_sqlite` copies the live database with ``sqlite3.Connection.backup`` in ONE
step. In WAL mode (the bot's setting) that is a single read transaction: it sees one
consistent snapshot - every transaction committed before it began, none after - while the
bot keeps writing beside it (readers never block WAL writers). The copy is written to a
temporary file, checked (``PRAGMA quick_check``) and renamed into place, so a crash never
leaves a half-written backup under the final name.

`inspect_sqlite` / `inspect_pg_dump` decide whether a file is a carebot database before a
restore touches anything: a SQLite file with an ``alembic_version`` row naming a revision this
package ships, and carebot's tables; for a pg_dump archive, its table of contents must hold
``alembic_version`` and ``tickets``. `restore_sqlite` writes through the backup API too, so
the target's own journal keeps it consistent (no raw file copy under an open database).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from storage.database import alembic_config

__all__ = [
    "BackupError",
    "DumpCommand",
    "inspect_pg_dump",
    "inspect_sqlite",
    "pg_dump_command",
    "pg_restore_command",
    "run_command",
    "sqlite_backup",
    "sqlite_in_use",
    "sqlite_restore",
]

_MAGIC = b"SQLite format 3\x00"
#: Tables a carebot database has had since its first revision.
_CORE_TABLES = ("customers", "tickets", "message_logs")


class BackupError(Exception):
    """A backup or restore was refused or failed; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class DumpCommand:
    """A pg_dump / pg_restore invocation: argv (no password) and the environment it needs."""

    argv: tuple[str, ...]
    env: dict[str, str]

    def shell(self) -> str:
        """The command as an operator would type it (password left to ``PGPASSWORD``)."""
        return " ".join(_quote(a) for a in self.argv)


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./=:@+" for c in arg) else repr(arg)


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def inspect_sqlite(path: Path) -> str:
    """The schema revision of the carebot database at ``path``; `BackupError` if it isn't one.

    Opened read-only: nothing is written, not even a journal.
    """
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_MAGIC))
    except OSError as exc:
        raise BackupError(f"{path}: {exc.strerror or exc}") from None
    if header != _MAGIC:
        raise BackupError(f"{path} is not a SQLite database")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in tables:
                raise BackupError(f"{path} is a SQLite file but not a carebot database")
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: {exc}") from None
    missing = [t for t in _CORE_TABLES if t not in tables]
    if missing or not rows:
        raise BackupError(
            f"{path} is not a carebot database (no {', '.join(missing) or 'revision'})"
        )
    revisions = sorted(str(r[0]) for r in rows)
    unknown = [r for r in revisions if not _known_revision(r)]
    if unknown:
        raise BackupError(
            f"{path} is at revision {', '.join(unknown)}, which this carebot does not know "
            "(made by a newer version?)"
        )
    return ",".join(revisions)


def sqlite_in_use(path: Path) -> bool:
    """Whether a database with any content exists at ``path`` (a restore would overwrite it)."""
    return path.exists() and path.stat().st_size > 0


def sqlite_backup(source: Path, target: Path) -> str:
    """Copy the live database ``source`` to ``target`` consistently; returns its revision."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30.0)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: one step, one snapshot
            check = dst.execute("PRAGMA quick_check").fetchone()
            # The copy is a standalone file: no WAL beside it to lose on a later file copy.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    if not check or check[0] != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup failed its integrity check: {check}")
    os.replace(partial, target)
    return inspect_sqlite(target)


def sqlite_restore(source: Path, target: Path) -> str:
    """Replace the database at ``target`` with the backup ``source``; returns the revision.

    ``source`` is inspected first: a file that is not a carebot database is refused before
    ``target`` is opened.
    """
    revision = inspect_sqlite(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target, timeout=30.0)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return revision


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {"PGPASSWORD": str(url.password)} if url.password else {}
    return args, env


def pg_dump_command(url: URL, target: Path) -> DumpCommand:
    """``pg_dump`` in its custom format (compressed, restorable table by table)."""
    args, env = _libpq(url)
    argv = ("pg_dump", "--format=custom", "--no-owner", *args, "--file", str(target))
    return DumpCommand((*argv, str(url.database or "")), env)


def pg_restore_command(url: URL, source: Path) -> DumpCommand:
    """``pg_restore`` replacing every object the archive holds (``--clean --if-exists``)."""
    args, env = _libpq(url)
    argv = ("pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args)
    return DumpCommand((*argv, "--dbname", str(url.database or ""), str(source)), env)


def run_command(command: DumpCommand, timeout: float = 3600.0) -> None:
    """Run a pg_dump / pg_restore command; `BackupError` with its stderr when it fails."""
    if shutil.which(command.argv[0]) is None:
        raise BackupError(f"{command.argv[0]} is not installed")
    result = subprocess.run(
        command.argv,
        env={**os.environ, **command.env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{command.argv[0]} failed: {lines[-1] if lines else result.returncode}")


def inspect_pg_dump(path: Path) -> None:
    """`BackupError` unless ``path`` is a pg_dump archive of a carebot database."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    if shutil.which("pg_restore") is None:
        raise BackupError("pg_restore is not installed: cannot check the archive")
    result = subprocess.run(
        ("pg_restore", "--list", str(path)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{path} is not a pg_dump archive")
    listing = result.stdout
    if " alembic_version " not in listing or " tickets " not in listing:
        raise BackupError(f"{path} is a pg_dump archive but not of a carebot database")
