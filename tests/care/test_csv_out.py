"""Exports a spreadsheet can open safely: no formula runs, Chinese survives, round trips hold."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from care.outreach.customers import (
    MAX_LISTED_PROBLEMS,
    CsvEncodingError,
    export_customers,
    import_customers,
)
from care.spreadsheet import BOM, FORMULA_STARTS, safe_cell, unsafe_cell
from storage import ProfileRepo
from tests.care.care_helpers import add_customers, customer

TODAY = date(2026, 11, 23)

#: OWASP's examples and friends: each would run as a formula in Excel or LibreOffice.
PAYLOADS = [
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    '=HYPERLINK("http://evil.example","x")',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_starts_are_quoted_and_unquoted_back(payload: str) -> None:
    cell = safe_cell(payload)
    assert cell == "'" + payload and cell[0] not in FORMULA_STARTS
    assert unsafe_cell(cell) == payload


@pytest.mark.parametrize("text", ["梁", "O'Brien", "'quoted'", "1+1", "", "a=b", "'"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert safe_cell(text) == text and unsafe_cell(text) == text


def test_numbers_and_none() -> None:
    assert safe_cell(-5) == "'-5" and safe_cell(12) == "12" and safe_cell(None) == ""


async def test_customer_export_is_safe_has_a_bom_and_imports_back(services, tmp_path: Path) -> None:
    rows = [
        customer(100 + i, surname=payload[:16], first_name=payload, last_name="梁")
        for i, payload in enumerate(PAYLOADS)
    ]
    await add_customers(services.database, rows)
    out = io.StringIO()
    assert await export_customers(services.database, out, page=3) == len(PAYLOADS)
    text = out.getvalue()
    assert text.startswith(BOM)
    table = list(csv.DictReader(io.StringIO(text[1:])))
    assert [r["first_name"] for r in table] == ["'" + p for p in PAYLOADS]
    for record in table:
        for value in record.values():
            assert not value or value[0] not in FORMULA_STARTS, record

    exported = tmp_path / "out.csv"
    exported.write_text(text, encoding="utf-8")
    again = await import_customers(services.database, exported, today=TODAY)
    assert again.ok and (again.created, again.updated) == (0, len(PAYLOADS))
    assert again.encoding == "utf-8-sig"
    async with services.database.session() as session:
        names = [c.first_name for c in await ProfileRepo(session).all()]
    # The guard quote is gone again; import trims surrounding whitespace as it always did.
    assert names == [p.strip() for p in PAYLOADS]


async def test_export_without_bom(services) -> None:
    await add_customers(services.database, [customer(7)])
    out = io.StringIO()
    await export_customers(services.database, out, bom=False)
    assert out.getvalue().startswith("telegram_id,")


def test_cli_export_writes_the_bom_into_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    source = tmp_path / "in.csv"
    source.write_text("telegram_id,first_name,surname\n5,=1+1,梁\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["customers", "import", str(source)]).exit_code == 0
    target = tmp_path / "out.csv"
    result = runner.invoke(app, ["customers", "export", "--out", str(target)])
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"'=1+1" in data and "梁".encode() in data
    plain = runner.invoke(app, ["customers", "export", "--no-bom"])
    assert plain.stdout.startswith("telegram_id,")


async def test_import_lists_at_most_the_cap_and_counts_the_rest(services, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    bad = MAX_LISTED_PROBLEMS + 25
    path.write_text("telegram_id\n" + "x\n" * bad, encoding="utf-8")
    report = await import_customers(services.database, path, today=TODAY)
    assert len(report.problems) == MAX_LISTED_PROBLEMS and report.unlisted == 25
    assert report.problem_count == bad and not report.written


async def test_duplicates_across_the_file_are_found_by_the_streaming_pass(
    services, tmp_path: Path
) -> None:
    path = tmp_path / "dupes.csv"
    ids = [5, 9, 5, 7, 9, 5]  # lines 2..7
    path.write_text("telegram_id\n" + "".join(f"{i}\n" for i in ids), encoding="utf-8")
    report = await import_customers(services.database, path, today=TODAY)
    assert [(p.line, p.message) for p in report.problems] == [
        (4, "duplicate telegram_id 5 (first on line 2)"),
        (6, "duplicate telegram_id 9 (first on line 3)"),
        (7, "duplicate telegram_id 5 (first on line 2)"),
    ]


async def test_an_encoding_error_deep_in_a_big_file_names_its_line(
    services, tmp_path: Path
) -> None:
    path = tmp_path / "late.csv"
    body = b"telegram_id,surname\n" + b"".join(b"%d,x\n" % i for i in range(1, 300_001))
    path.write_bytes(body + b"300001,\xff\xfe\n")  # past the first 1 MB chunk
    with pytest.raises(CsvEncodingError, match=r"line 300002, byte "):
        await import_customers(services.database, path, today=TODAY, encoding="utf-8")
