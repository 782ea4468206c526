"""Writes one benchmark's section into BENCHMARKS.md, leaving the other sections alone.

Each benchmark owns the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`;
rerunning one benchmark replaces only its own section, so the file is always the
output of the latest run of each command (never edited by hand).
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["machine_line", "write_section"]

_HEADER = (
    "# carebot benchmarks\n\n"
    "Every section below is written by the command named in it; rerun that command to\n"
    "refresh it. Do not edit by hand.\n"
)


def machine_line() -> str:
    """One line describing where and when the numbers were taken."""
    import os

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"_Measured {stamp} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}._"
    )


def write_section(name: str, markdown: str, path: Path | None = None) -> Path:
    """Replace (or append) the section `name` of BENCHMARKS.md with `markdown`."""
    path = path or Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
    return path
