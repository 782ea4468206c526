"""The guard bench's markdown: rates, latency, and the load the latency was measured under."""

from __future__ import annotations

from benchmarks.guard_bench import GuardRow, render_markdown
from care.cli.guard import EvalReport


def test_markdown_has_both_tables_and_says_the_load() -> None:
    report = EvalReport(mode="lexical")
    report.counts = {"literal": [9, 10], "paraphrase": [4, 5], "good": [0, 10]}
    report.must_pass = 10
    row = GuardRow("lexical", {"validation": report}, [0.1, 0.2, 3.0], [0.1, 0.1, 0.2])
    markdown = render_markdown([row], "## Guard")
    assert "| lexical | validation | 90.0% | 80.0% | 0.0% | 25 |" in markdown
    assert "| lexical | 3 | 0.20 | 3.00 | 3.00 | 0.20 | 0.13 |" in markdown
    assert "Load average " in markdown and "when the runs ended" in markdown
    assert "No sentence encoder was available" in markdown
