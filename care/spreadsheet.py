"""CSV for spreadsheets: cells that cannot run as formulas, and a BOM so Excel reads UTF-8.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken
for a formula by Excel, LibreOffice and Google Sheets (``=cmd|' /C calc'!A0``,
``@SUM(...)``). OWASP's advice (CSV Injection): prefix such a cell with a single quote,
which spreadsheets show as text and never evaluate. The full-width forms (＝ ＋ － ＠),
which Chinese input methods type, are treated the same way. Import undoes exactly this
prefix, so an exported file can be edited and imported back unchanged.

Excel opens a CSV file as the ANSI code page unless it starts with a UTF-8 byte order
mark: without it, Chinese names turn into mojibake. Exports write the BOM by default.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["BOM", "FORMULA_STARTS", "CsvOut", "safe_cell", "safe_row", "unsafe_cell"]

#: What Excel, LibreOffice and Sheets read as the start of a formula (OWASP list + full-width).
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
BOM = "\ufeff"


def safe_cell(value: object) -> str:
    """The cell as text that a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


def unsafe_cell(text: str) -> str:
    """Undo `safe_cell`: only a quote that guards a formula start is removed."""
    if len(text) >= 2 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def safe_row(values: Iterable[object]) -> list[str]:
    return [safe_cell(value) for value in values]


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class CsvOut:
    """A csv writer whose every cell goes through `safe_cell`, BOM first when asked."""

    def __init__(self, out: _Writable, *, bom: bool = True) -> None:
        if bom:
            out.write(BOM)
        self._writer = csv.writer(out)

    def row(self, values: Iterable[object]) -> None:
        self._writer.writerow(safe_row(values))
