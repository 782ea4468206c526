"""Fuzz the files operators hand the bot: a clear error or a result, never a traceback.

Boundaries: the intents eval CSV, the customers import CSV (and nothing half-written),
carebot.toml, the intent catalog YAML and the script YAML.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from hypothesis import example, given, settings
from sqlmodel import func, select

from care.outreach.customers import CsvEncodingError, import_customers
from care.runtime.settings import SettingsError, load_settings
from intents import load_catalog, read_labelled_csv
from scripts import LibraryError, ScriptLibrary
from scripts._library import parse_source
from storage import Customer, Database
from tests.fuzz.strategies import file_bytes, structured_text

TODAY = date(2026, 11, 23)
_HUGE_FIELD = b'text,label\n"' + b"x" * 200_000 + b'",faq\n'  # past csv's field size limit
_DEEP_YAML = "[" * 1200 + "]" * 1200  # past the recursion limit


def _written(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@given(data=file_bytes)
@example(data=b"text,label\n")
@example(data=b"text,label\nhello,\n")
@example(data=b"\xff\xfe\x00t")
@example(data=_HUGE_FIELD)
@example(data=b"text,label\n\x00,faq\n")
def test_intents_eval_csv_reads_or_says_why(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _written(Path(tmp), "eval.csv", data)
        try:
            rows = read_labelled_csv(path)
        except ValueError as exc:  # what `carebot intents eval` reports as one line
            assert str(exc)
        else:
            assert all(isinstance(t, str) and label for t, label in rows)


async def _count(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(Customer))).scalar())


@settings(max_examples=30)
@given(data=file_bytes)
@example(data=b"telegram_id\n1\n1\n")
@example(data=b"telegram_id,surname\n" + b"1,\xff\n")
@example(data=b"telegram_id,first_name\n5,'=1+1\n6,\x00\n")
@example(data=_HUGE_FIELD.replace(b"text,label", b"telegram_id,surname"))
@example(data=b"telegram_id,birthday\n7,2026-02-30\n")
@example(data=b"\xef\xbb\xbftelegram_id,total_spend\n8,NaN\n9,1e999\n")
async def test_customers_import_all_or_nothing(database_url: str, data: bytes) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        before = await _count(database)
        with tempfile.TemporaryDirectory() as tmp:
            path = _written(Path(tmp), "customers.csv", data)
            try:
                report = await import_customers(database, path, today=TODAY)
            except CsvEncodingError as exc:
                assert "line" in str(exc) or "encoding" in str(exc)
                report = None
        after = await _count(database)
        if report is None or not report.ok:
            assert after == before, "a failed import wrote rows"
            assert report is None or all(p.line >= 1 and p.message for p in report.problems)
        else:
            assert report.written and after == before + report.created
    finally:
        await database.dispose()


@given(text=structured_text)
@example(text="[busines_hours]\nopen = 9\n")
@example(text="timezone = 'Mars/Olympus'\n")
@example(text="[sla\n")
@example(text="admin_ids = [1, 'x']\n")
@example(text="max_message_chars = -1\n")
@example(text="[business_hours]\nopen = 25:00\n")
def test_carebot_toml_loads_or_gives_one_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "carebot.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            _load(path)
        except SettingsError as exc:
            assert "\n" not in str(exc).strip()


def _load(path: Path) -> None:
    import os

    saved = os.environ.get("CAREBOT_CONFIG")
    os.environ["CAREBOT_CONFIG"] = str(path)
    try:
        load_settings()
    finally:
        if saved is None:
            del os.environ["CAREBOT_CONFIG"]
        else:
            os.environ["CAREBOT_CONFIG"] = saved


@given(text=structured_text)
@example(text="intents:\n  - id: x\n    kind: faq\n")
@example(text=_DEEP_YAML)
@example(text="intents: !!python/object:os.system {}\n")
@example(text="- &a [*a]\n")
@example(text="\ud83d: x\n")
def test_catalog_yaml_loads_or_lists_problems(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "mine.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        specs, problems = load_catalog([folder])
        for problem in problems:
            assert problem.message and problem.line >= 0
        assert all(spec.id for spec in specs)


@given(text=structured_text)
@example(text="- id: x\n  purpose: p\n  channel: chat\n  text:\n    en: '{{'\n")
@example(text=_DEEP_YAML)
@example(text="- id: x\n  purpose: p\n  channel: chat\n  text:\n    en: '" + "(" * 3000 + "'\n")
@example(text="- &a [*a]\n")
@example(text="- id: x\n  status: approved\n  approved_version: abc\n")
@example(text="\ud83d")  # a lone surrogate: libyaml's C parser cannot take it (UTF-8 only)
def test_script_yaml_parses_or_lists_problems(text: str) -> None:
    path = Path("/nonexistent/fuzz.yaml")
    scripts, problems = parse_source(path, text)
    assert not (scripts and problems)
    for problem in problems:
        assert problem.message and problem.line >= 1
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "fuzz.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            library = ScriptLibrary.load([Path(tmp)])
        except LibraryError as exc:
            assert exc.problems
        else:
            assert all(not s.servable for s in library.scripts.values())  # nothing signed
