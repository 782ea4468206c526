"""Customer profiles from and to the CRM: CSV import (validated, all-or-nothing) and export.

An import is parsed and checked completely before anything is written: every bad row is
reported with its line number, and only a clean file is upserted (by Telegram id) in one
transaction. Files may be UTF-8 (with or without BOM) or GBK/GB18030 (what Excel on a
Chinese Windows saves); the encoding is detected, or checked when given.

Both directions stream, so memory does not grow with the number of customers: the import
reads the file three times (encoding, validation keeping only the ids, then the upsert in
batches inside the one transaction) and the export pages through the table by Telegram id.
Exported cells go through `care.spreadsheet` (no formula can run; a UTF-8 BOM for Excel);
the import removes exactly that guard again.
"""

from __future__ import annotations

import codecs
import csv
import io
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from care.spreadsheet import CsvOut, unsafe_cell
from storage import Database, ProfileRepo, Tier

__all__ = [
    "COLUMNS",
    "MAX_LISTED_PROBLEMS",
    "CsvEncodingError",
    "ImportReport",
    "RowProblem",
    "detect_encoding",
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
#: Problems listed one by one; beyond this a file is clearly not the one meant, and only
#: counted (a 500k-row file of bad rows must not fill memory with messages).
MAX_LISTED_PROBLEMS = 1000
_CHUNK_BYTES = 1 << 20


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
    #: Problems found beyond `MAX_LISTED_PROBLEMS` (counted, not listed).
    unlisted: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.unlisted

    def problem(self, line: int, message: str) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(RowProblem(line, message))
        else:
            self.unlisted += 1


def detect_encoding(path: Path, encoding: str = "auto") -> str:
    """The Python codec to read `path` with ("utf-8-sig" or "gb18030"), checked over the
    whole file in 1 MB chunks. `auto` tries UTF-8 first, then GB18030 (a superset of GBK);
    `CsvEncodingError` names the line and byte of the first bad one."""
    wanted = encoding.lower().replace("_", "-")
    if wanted in ("auto", "utf-8", "utf8"):
        where = _first_error(path, "utf-8")
        if where is None:
            return "utf-8-sig"
        looks_gbk = _first_error(path, "gb18030") is None
        if wanted != "auto" or not looks_gbk:
            hint = (
                " It looks like GBK (Excel on Chinese Windows): rerun with --encoding gbk,"
                " or save the file as 'CSV UTF-8'."
                if looks_gbk
                else " Save it as 'CSV UTF-8' and try again."
            )
            line, offset = where
            raise CsvEncodingError(
                f"the file is not valid UTF-8 (line {line}, byte {offset}).{hint}"
            )
        return "gb18030"
    if wanted in ("gbk", "gb2312", "gb18030", "cp936"):
        where = _first_error(path, "gb18030")
        if where is not None:
            line, offset = where
            raise CsvEncodingError(
                f"the file is not valid GBK (line {line}, byte {offset}); "
                "if it is UTF-8, rerun with --encoding utf-8"
            )
        return "gb18030"
    raise CsvEncodingError(f"unsupported encoding {encoding!r} (use auto, utf-8 or gbk)")


def _first_error(path: Path, encoding: str) -> tuple[int, int] | None:
    """(line, byte offset after any BOM) of the first undecodable byte, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = lines = 0
    with path.open("rb") as handle:
        head = handle.read(3)
        if head != b"\xef\xbb\xbf":
            handle.seek(0)
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # The decoder may have kept up to 3 bytes of the previous chunk back.
                start = max(0, exc.start - (len(exc.object) - len(chunk)))
                return lines + chunk[:start].count(b"\n") + 1, offset + start
            if not chunk:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _parse_date(value: str) -> date:
    if len(value) == 10 and value[4] == value[7] == "-":  # the common case, without strptime
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
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
        if not spend.is_finite() or spend < 0:  # NaN first: comparing it raises
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


def _header(reader: csv.DictReader[str], report: ImportReport) -> bool:
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        report.problem(1, f"unreadable CSV header: {exc}")
        return False
    header = [name.strip().lower() for name in fieldnames]
    if not header:
        report.problem(1, "the file is empty (no header line)")
        return False
    reader.fieldnames = header
    if "telegram_id" not in header:
        report.problem(1, f"missing column telegram_id (columns: {', '.join(header)})")
    unknown = [n for n in header if n not in COLUMNS and n not in _EXPORT_ONLY]
    if unknown:
        report.problem(1, f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes:
        report.problem(1, f"duplicate column(s) {', '.join(dupes)}")
    return report.ok


def _valid_rows(
    reader: csv.DictReader[str], report: ImportReport, today: date
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) for every good row; bad ones become problems. Duplicates are the
    caller's to find (it decides how to remember the ids)."""
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's size limit, a NUL in a quoted field...
            report.problem(reader.line_num, f"unreadable CSV: {exc}")
            return
        line = reader.line_num
        report.rows += 1
        if None in raw:  # more fields than header columns
            report.problem(line, "more fields than columns in the header")
            continue
        values = {
            k: ("" if v is None else unsafe_cell(v) if v[:1] == "'" else v)
            for k, v in raw.items()
            if k in COLUMNS
        }
        if not any(v.strip() for v in values.values()):
            report.rows -= 1  # blank line
            continue
        try:
            yield line, _parse_row(values, today)
        except ValueError as exc:
            report.problem(line, str(exc))


def _duplicate(telegram_id: int, line: int, first: int) -> tuple[int, str]:
    return line, f"duplicate telegram_id {telegram_id} (first on line {first})"


def parse_customers(
    text: str, *, today: date, encoding: str = "utf-8"
) -> tuple[list[dict[str, Any]], ImportReport]:
    """Parse and validate a whole file held in memory; rows are usable only when the
    report is ok (`import_customers` streams a file instead)."""
    report = ImportReport(encoding=encoding)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not _header(reader, report):
        return [], report
    rows: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for line, row in _valid_rows(reader, report, today):
        first = seen.get(row["telegram_id"])
        if first is not None:
            report.problem(*_duplicate(row["telegram_id"], line, first))
            continue
        seen[row["telegram_id"]] = line
        rows.append(row)
    return rows, report


def _open_csv(path: Path, codec: str) -> tuple[Any, csv.DictReader[str]]:
    # errors="strict": `detect_encoding` has checked every byte already.
    handle = path.open(encoding=codec, newline="")
    return handle, csv.DictReader(handle)


def _validate_file(path: Path, codec: str, report: ImportReport, today: date) -> None:
    """First pass: every row checked, only (id, line) kept - 16 bytes a row, in arrays."""
    handle, reader = _open_csv(path, codec)
    with handle:
        if not _header(reader, report):
            return
        ids, lines = array("q"), array("q")
        for line, row in _valid_rows(reader, report, today):
            ids.append(row["telegram_id"])
            lines.append(line)
    if len(ids) < 2:
        return
    import numpy as np  # here, not at the top: the campaign sender imports this module

    id_values, line_values = np.frombuffer(ids, dtype=np.int64), np.frombuffer(lines, np.int64)
    order = np.lexsort((line_values, id_values))  # by id, then by line
    sorted_ids, sorted_lines = id_values[order], line_values[order]
    repeat = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1]) + 1
    if not len(repeat):
        return
    # The first line of each run of equal ids.
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    first_of = starts[np.searchsorted(starts, repeat, side="right") - 1]
    found = sorted(
        _duplicate(int(sorted_ids[i]), int(sorted_lines[i]), int(sorted_lines[f]))
        for i, f in zip(repeat, first_of, strict=True)
    )
    for line, message in found:
        report.problem(line, message)
    report.problems.sort(key=lambda problem: problem.line)


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
    transaction. Raises `CsvEncodingError` for an undecodable file, `OSError` if unreadable.

    Streams: the file is read once to check the encoding, once to validate (keeping only
    ids and lines) and once more to write, `batch` rows at a time.
    """
    codec = detect_encoding(path, encoding)
    report = ImportReport(encoding=_encoding_name(path, codec))
    _validate_file(path, codec, report, today)
    if not report.ok:
        return report
    handle, reader = _open_csv(path, codec)
    with handle:
        again = ImportReport(encoding=report.encoding)  # rows are counted once already
        _header(reader, again)
        async with database.transaction() as session:
            repo = ProfileRepo(session)
            rows = (row for _, row in _valid_rows(reader, again, today))
            while True:
                chunk = [row for _, row in zip(range(batch), rows, strict=False)]
                if not chunk:
                    break
                existing = await repo.existing_telegram_ids([r["telegram_id"] for r in chunk])
                report.updated += len(existing)
                report.created += len(chunk) - len(existing)
                if not dry_run:
                    await repo.bulk_upsert(chunk)
                    if progress is not None:
                        progress(len(chunk))
            if dry_run:
                return report
    report.written = True
    return report


def _encoding_name(path: Path, codec: str) -> str:
    """What the report calls the encoding: utf-8, utf-8-sig (with a BOM) or gbk."""
    if codec == "gb18030":
        return "gbk"
    with path.open("rb") as handle:
        return "utf-8-sig" if handle.read(3) == b"\xef\xbb\xbf" else "utf-8"


async def export_customers(
    database: Database, out: io.TextIOBase | Any, *, bom: bool = True, page: int = 2000
) -> int:
    """Write every customer as CSV to `out` (a UTF-8 BOM first unless `bom=False`; cells
    guarded against formulas); returns the number of rows. Pages through the table."""
    writer = CsvOut(out, bom=bom)
    writer.row([*COLUMNS, *_EXPORT_ONLY])
    count, after = 0, 0
    while True:
        async with database.session() as session:
            customers = await ProfileRepo(session).page(after, page)
            for c in customers:
                writer.row(_export_row(c))
        if not customers:
            return count
        count += len(customers)
        after = customers[-1].telegram_id


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
