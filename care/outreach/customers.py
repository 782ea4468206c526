"""Customer profiles from and to the CRM: CSV import (validated, all-or-nothing) and export.

An import is parsed and checked completely before anything is written: every bad row is
reported with its line number, and only a clean file is upserted (by Telegram id) in one
transaction. Files may be UTF-8 (with or without BOM) or GBK/GB18030 (what Excel on a
Chinese Windows saves); the encoding is detected, or checked when given.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import Database, ProfileRepo, Tier

__all__ = [
    "COLUMNS",
    "CsvEncodingError",
    "ImportReport",
    "RowProblem",
    "decode_csv",
    "export_customers",
    "import_customers",
    "parse_customers",
]

#: Columns an import understands; only `telegram_id` is required.
COLUMNS: tuple[str, ...] = (
    "telegram_id",
    "surname",
    "title",
    "first_name",
    "last_name",
    "language",
    "timezone",
    "birthday",
    "total_spend",
    "visits",
    "referrals",
    "tier_override",
    "last_contact_at",
)
# Written by export, ignored by import (computed or owned by the bot), so an exported file
# can be edited and imported back.
_EXPORT_ONLY: tuple[str, ...] = ("tier", "blocked", "opt_outs")
_LANGUAGE_ALIASES = {
    "zh-hans": "zh-Hans",
    "zh": "zh-Hans",
    "zh-cn": "zh-Hans",
    "简体": "zh-Hans",
    "zh-hant": "zh-Hant",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "繁體": "zh-Hant",
    "繁体": "zh-Hant",
    "en": "en",
    "english": "en",
}
_TITLES_MAX = 32


class CsvEncodingError(ValueError):
    """The file is not in the encoding given (or in none we know); the message says why."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem, at a line of the file (1 = the header)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    """What an import found and (unless dry or failed) did."""

    encoding: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def decode_csv(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """(text, encoding used). `auto` tries UTF-8 first, then GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, bom = data[3:], True
    else:
        bom = False
    wanted = encoding.lower().replace("_", "-")
    if wanted in ("auto", "utf-8", "utf8"):
        try:
            return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            looks_gbk = _decodes(data, "gb18030")
            if wanted != "auto" or not looks_gbk:
                hint = (
                    " It looks like GBK (Excel on Chinese Windows): rerun with --encoding gbk,"
                    " or save the file as 'CSV UTF-8'."
                    if looks_gbk
                    else " Save it as 'CSV UTF-8' and try again."
                )
                raise CsvEncodingError(
                    f"the file is not valid UTF-8 (line {line}, byte {exc.start}).{hint}"
                ) from None
            return data.decode("gb18030"), "gbk"
    if wanted in ("gbk", "gb2312", "gb18030", "cp936"):
        try:
            return data.decode("gb18030"), "gbk"
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise CsvEncodingError(
                f"the file is not valid GBK (line {line}, byte {exc.start}); "
                "if it is UTF-8, rerun with --encoding utf-8"
            ) from None
    raise CsvEncodingError(f"unsupported encoding {encoding!r} (use auto, utf-8 or gbk)")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _parse_date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"bad date {value!r} (use YYYY-MM-DD)")


def _parse_row(raw: dict[str, str], today: date) -> dict[str, Any]:
    """One CSV row -> column values; raises ValueError naming the column."""
    row: dict[str, Any] = {}
    tid = raw.get("telegram_id", "").strip()
    if not tid:
        raise ValueError("telegram_id is empty")
    try:
        row["telegram_id"] = int(tid)
    except ValueError:
        raise ValueError(f"telegram_id {tid!r} is not a number") from None
    if row["telegram_id"] <= 0:
        raise ValueError(f"telegram_id {tid!r} must be positive")
    for name in ("surname", "first_name", "last_name"):
        if name in raw:
            value = raw[name].strip()
            row[name] = value if value or name == "first_name" else None
    if "title" in raw:
        title = raw["title"].strip()
        if len(title) > _TITLES_MAX:
            raise ValueError(f"title {title!r} is too long")
        row["title"] = title or None
    if raw.get("language", "").strip():
        lang = _LANGUAGE_ALIASES.get(raw["language"].strip().lower())
        if lang is None:
            raise ValueError(f"language {raw['language']!r} is not zh-Hans, zh-Hant or en")
        row["language"] = lang
    if "timezone" in raw:
        zone = raw["timezone"].strip()
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezone {zone!r} is not an IANA zone name") from None
        row["timezone"] = zone or None
    if "birthday" in raw:
        value = raw["birthday"].strip()
        if value:
            born = _parse_date(value)
            if born > today or born.year < 1900:
                raise ValueError(f"birthday {value!r} is not a plausible date of birth")
            row["birthday"] = born
        else:
            row["birthday"] = None
    if raw.get("total_spend", "").strip():
        text = raw["total_spend"].strip().replace(",", "").lstrip("¥￥$")
        try:
            spend = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"total_spend {raw['total_spend']!r} is not an amount") from None
        if spend < 0 or not spend.is_finite():
            raise ValueError(f"total_spend {raw['total_spend']!r} must be >= 0")
        row["total_spend"] = spend
    for name in ("visits", "referrals"):
        if raw.get(name, "").strip():
            try:
                number = int(raw[name].strip())
            except ValueError:
                raise ValueError(f"{name} {raw[name]!r} is not a whole number") from None
            if number < 0:
                raise ValueError(f"{name} {raw[name]!r} must be >= 0")
            row[name] = number
    if "tier_override" in raw:
        value = raw["tier_override"].strip().lower()
        if value and value not in {t.value for t in Tier}:
            raise ValueError(f"tier_override {value!r} is not gold, silver or regular")
        row["tier_override"] = Tier(value) if value else None
    if raw.get("last_contact_at", "").strip():
        try:
            when = datetime.fromisoformat(raw["last_contact_at"].strip())
        except ValueError:
            raise ValueError(
                f"last_contact_at {raw['last_contact_at']!r} is not an ISO date-time"
            ) from None
        row["last_contact_at"] = when if when.tzinfo else when.replace(tzinfo=UTC)
    return row


def parse_customers(
    text: str, *, today: date, encoding: str = "utf-8"
) -> tuple[list[dict[str, Any]], ImportReport]:
    """Parse and validate the whole file; rows are usable only when the report is ok."""
    report = ImportReport(encoding=encoding)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        report.problems.append(RowProblem(1, "the file is empty (no header line)"))
        return [], report
    reader.fieldnames = header
    if "telegram_id" not in header:
        report.problems.append(
            RowProblem(1, f"missing column telegram_id (columns: {', '.join(header)})")
        )
    unknown = [n for n in header if n not in COLUMNS and n not in _EXPORT_ONLY]
    if unknown:
        report.problems.append(
            RowProblem(1, f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
        )
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes:
        report.problems.append(RowProblem(1, f"duplicate column(s) {', '.join(dupes)}"))
    if report.problems:
        return [], report
    rows: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for raw in reader:
        line = reader.line_num
        report.rows += 1
        if None in raw:  # more fields than header columns
            report.problems.append(RowProblem(line, "more fields than columns in the header"))
            continue
        values = {k: (v if v is not None else "") for k, v in raw.items() if k in COLUMNS}
        if not any(v.strip() for v in values.values()):
            report.rows -= 1  # blank line
            continue
        try:
            row = _parse_row(values, today)
        except ValueError as exc:
            report.problems.append(RowProblem(line, str(exc)))
            continue
        first = seen.get(row["telegram_id"])
        if first is not None:
            report.problems.append(
                RowProblem(
                    line, f"duplicate telegram_id {row['telegram_id']} (first on line {first})"
                )
            )
            continue
        seen[row["telegram_id"]] = line
        rows.append(row)
    return rows, report


async def import_customers(
    database: Database,
    path: Path,
    *,
    today: date,
    encoding: str = "auto",
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    batch: int = 1000,
) -> ImportReport:
    """Validate `path` and, if every row is good and not `dry_run`, upsert all in one
    transaction. Raises `CsvEncodingError` for an undecodable file, `OSError` if unreadable."""
    text, used = decode_csv(path.read_bytes(), encoding)
    rows, report = parse_customers(text, today=today, encoding=used)
    if not report.ok:
        return report
    async with database.transaction() as session:
        repo = ProfileRepo(session)
        existing = await repo.existing_telegram_ids([r["telegram_id"] for r in rows])
        report.updated = len(existing)
        report.created = len(rows) - len(existing)
        if dry_run:
            return report
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            await repo.bulk_upsert(chunk)
            if progress is not None:
                progress(len(chunk))
    report.written = True
    return report


async def export_customers(database: Database, out: io.TextIOBase | Any) -> int:
    """Write every customer as CSV (UTF-8) to `out`; returns the number of rows."""
    async with database.session() as session:
        customers = await ProfileRepo(session).all()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, *_EXPORT_ONLY])
    for c in customers:
        writer.writerow(_export_row(c))
    return len(customers)


def _export_row(c: Any) -> Iterable[object]:
    return [
        c.telegram_id,
        c.surname or "",
        c.title or "",
        c.first_name or "",
        c.last_name or "",
        c.language,
        c.timezone or "",
        c.birthday.isoformat() if c.birthday else "",
        f"{c.total_spend:.2f}",
        c.visits,
        c.referrals,
        c.tier_override.value if c.tier_override else "",
        c.last_contact_at.isoformat() if c.last_contact_at else "",
        Tier(c.tier).value,
        "1" if c.blocked else "0",
        ";".join(sorted(c.opt_out_categories())),
    ]
