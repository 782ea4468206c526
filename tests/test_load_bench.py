"""The load benchmark runs end to end at a tiny size (its numbers are for BENCHMARKS.md only)."""

from __future__ import annotations

from benchmarks import load_bench


async def test_load_bench_rows_and_explanation() -> None:
    logged: list[str] = []
    rows = await load_bench.run_all(
        count=30, postgres_url=None, redis_url=None, workers_count=0, log=logged.append
    )
    assert [(r.name.split()[0], r.mode) for r in rows] == [
        (name, mode) for mode in load_bench.MODES for name in ("bare", "carebot")
    ]
    assert all(r.updates == 30 and r.per_second > 0 for r in rows)
    carebot = [r for r in rows if r.backend == "sqlite"]
    # A returning customer's FAQ question: BEGIN IMMEDIATE, upsert, ticket lookup, one INSERT
    # of the log rows (feedback and small talk cost the same; complaints are not in TEXTS).
    assert all(r.statements is not None and 3.5 <= r.statements <= 4.5 for r in carebot)
    null_row = carebot[0]
    assert null_row.parts is not None and set(null_row.parts) == {"matcher", "reply", "database"}
    assert all(ms > 0 for ms in null_row.parts.values())
    assert [r.parts for r in carebot[1:]] == [None, None]  # measured once, in the null row
    text = load_bench.render_markdown(rows, "## Load") + load_bench.explain(rows)
    assert "| carebot (routers, matcher, renderer, DB writes) | null session" in text
    assert "Where the time goes" in text and "sqlite:" in text
    assert "230 sendMessage calls answered over HTTP" in text
