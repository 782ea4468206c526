"""Fixtures for the script library tests: the bundled library, the guard, a temp library."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from intents import normalize
from scripts import Guard, Renderer, ScriptLibrary, load_forbidden
from scripts._lint import SAMPLE_VALUES

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_DIR = ROOT / "scripts" / "library"
FORBIDDEN = ROOT / "scripts" / "forbidden.tsv"
DATA = ROOT / "tests" / "data"

CONTEXT: dict[str, dict[str, object]] = {
    "zh-Hans": {
        "salutation": "梁小姐",
        "first_name": "小梅",
        "ticket_number": "C-20261122-0001",
        "first_response_due": "今天 18:30 前",
        "resolution_due": "11月23日 18:00 前",
        "business_name": "carebot 旗舰店",
    },
    "zh-Hant": {
        "salutation": "梁小姐",
        "first_name": "小梅",
        "ticket_number": "C-20261122-0001",
        "first_response_due": "今天 18:30 前",
        "resolution_due": "11月23日 18:00 前",
        "business_name": "carebot 旗艦店",
    },
    "en": {
        "salutation": "Ms. Liang",
        "first_name": "Mei",
        "ticket_number": "C-20261122-0001",
        "first_response_due": "by 18:30 today",
        "resolution_due": "by 18:00 on 23 November",
        "business_name": "carebot flagship store",
    },
}

# Staff-takeover variables (care/desk/staff.py: cards, events, CSAT): the lint's sample values.
for _language, _values in CONTEXT.items():
    for _name, _value in SAMPLE_VALUES[_language].items():
        _values.setdefault(_name, _value)

# Indented like the test bodies it is appended to, so `textwrap.dedent` handles both.
FALLBACK = """
        - id: fallback.safe
          purpose: fallback
          channel: chat
          text:
            zh-Hans: 感谢您的消息，我们的同事会尽快与您联系。
            en: Thank you for your message; a colleague will get back to you shortly.
          status: draft
"""


def data_lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="session")
def guard() -> Guard:
    return Guard(load_forbidden(FORBIDDEN), normalize=normalize)


@pytest.fixture(scope="session")
def bundled() -> ScriptLibrary:
    return ScriptLibrary.load([BUNDLED_DIR])


@pytest.fixture
def renderer(bundled: ScriptLibrary, guard: Guard) -> Renderer:
    return Renderer(bundled, guard)


WriteScripts = Callable[[str, str], Path]


@pytest.fixture
def write_scripts(tmp_path: Path) -> WriteScripts:
    """Write a YAML script file into tmp_path/library (dedented) and return its path."""
    folder = tmp_path / "library"
    folder.mkdir(exist_ok=True)

    def write(name: str, body: str) -> Path:
        path = folder / name
        path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
        return path

    return write
