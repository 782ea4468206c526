"""CSV import/export: encodings, bad rows with line numbers, all-or-nothing, dry run."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from care.outreach.customers import CsvEncodingError, export_customers, import_customers
from storage import ProfileRepo

TODAY = date(2026, 11, 23)
GOOD = (
    "telegram_id,surname,title,language,timezone,birthday,total_spend,visits,referrals,"
    "tier_override\n"
    "101,梁,小姐,zh-Hans,Asia/Shanghai,1990-05-01,12000.50,12,3,\n"
    "102,Smith,Mr.,en,Europe/London,1985/12/24,300,2,0,gold\n"
)


async def _count(services) -> int:
    async with services.database.session() as session:
        return len(await ProfileRepo(session).all())


async def test_import_utf8_then_export_round_trip(services, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(GOOD, encoding="utf-8")
    report = await import_customers(services.database, path, today=TODAY)
    assert report.ok and report.written and (report.created, report.updated) == (2, 0)
    out = io.StringIO()
    assert await export_customers(services.database, out) == 2
    exported = tmp_path / "out.csv"
    exported.write_text(out.getvalue(), encoding="utf-8")
    again = await import_customers(services.database, exported, today=TODAY)
    assert again.ok and (again.created, again.updated) == (0, 2)
    assert "梁" in out.getvalue() and "1985-12-24" in out.getvalue()


async def test_gbk_file_is_detected(services, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(GOOD.encode("gbk"))
    report = await import_customers(services.database, path, today=TODAY)
    assert report.ok and report.encoding == "gbk"
    async with services.database.session() as session:
        assert {c.surname for c in await ProfileRepo(session).all()} == {"梁", "Smith"}


async def test_gbk_file_declared_utf8_gets_a_clear_message(services, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(GOOD.encode("gbk"))
    with pytest.raises(CsvEncodingError, match=r"not valid UTF-8 \(line 2.*--encoding gbk"):
        await import_customers(services.database, path, today=TODAY, encoding="utf-8")
    assert await _count(services) == 0


async def test_bad_rows_reported_by_line_and_nothing_written(services, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "telegram_id,surname,title,birthday,total_spend\n"
        "201,王,先生,1980-01-01,10\n"  # line 2 fine
        "202,李,女士,1980-13-45,10\n"  # line 3 bad date
        "abc,赵,先生,,10\n"  # line 4 bad id
        "201,王,先生,,10\n"  # line 5 duplicate of line 2
        "203,周,小姐,,-5\n",  # line 6 negative spend
        encoding="utf-8",
    )
    report = await import_customers(services.database, path, today=TODAY)
    assert not report.ok and not report.written
    assert [p.line for p in report.problems] == [3, 4, 5, 6]
    assert "bad date" in report.problems[0].message
    assert "first on line 2" in report.problems[2].message
    assert await _count(services) == 0


async def test_missing_column(services, tmp_path: Path) -> None:
    path = tmp_path / "nocol.csv"
    path.write_text("id,surname\n1,王\n", encoding="utf-8")
    report = await import_customers(services.database, path, today=TODAY)
    assert [p.line for p in report.problems] == [1, 1]
    assert "missing column telegram_id" in report.problems[0].message
    assert await _count(services) == 0


async def test_dry_run_writes_nothing(services, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(GOOD, encoding="utf-8")
    report = await import_customers(services.database, path, today=TODAY, dry_run=True)
    assert report.ok and report.created == 2 and not report.written
    assert await _count(services) == 0
