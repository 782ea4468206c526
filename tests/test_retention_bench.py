"""The retention benchmark runs end to end at a tiny size (its numbers are for BENCHMARKS.md)."""

from __future__ import annotations

from benchmarks import retention_bench


async def test_retention_bench_deletes_the_old_half_and_renders() -> None:
    logged: list[str] = []
    result = await retention_bench.run(rows=4000, log=logged.append)
    assert result.deleted == 2000 and result.remaining >= 2000
    assert result.batches >= 1 and result.batch_max_ms > 0 and result.writes >= 1
    markdown = retention_bench.render_markdown(result, "## Retention")
    assert "| SQLite (WAL) | 4,000 | 2,000 |" in markdown
    assert logged
