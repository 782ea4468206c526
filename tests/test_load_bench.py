"""The load benchmark runs end to end at a tiny size (its numbers are for BENCHMARKS.md only)."""

from __future__ import annotations

import pytest

from benchmarks import load_bench


async def test_load_bench_rows_and_explanation(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each row waits for the guard's start-up embedding (steady state); without its encoder
    # there is none to wait for.
    monkeypatch.setenv("GUARD_ENCODER", "off")
    logged: list[str] = []
    rows = await load_bench.run_all(
        count=30,
        postgres_url=None,
        redis_url=None,
        workers_count=0,
        log=logged.append,
        # The encoder rows' machinery without the encoder's CPU (its matching is tested in
        # tests/intents); one second of arrivals at each fixed rate.
        encoder="off",
        arrival_seconds=1.0,
    )
    arrival_modes = [f"HTTP fake, {rate} updates/s arriving" for rate in load_bench.ARRIVAL_RATES]
    assert [(r.name.split()[0], r.mode) for r in rows] == [
        *((name, mode) for mode in load_bench.MODES for name in ("bare", "carebot")),
        ("carebot", load_bench.HTTP_SEQUENTIAL),
        *(("carebot", mode) for mode in arrival_modes),
    ]
    assert all(r.per_second > 0 for r in rows)
    assert all(r.updates == 30 for r in rows[:7])
    assert [r.updates for r in rows[7:]] == list(load_bench.ARRIVAL_RATES)  # rate x 1 s
    carebot = [r for r in rows[:6] if r.backend == "sqlite"]
    # A returning customer's FAQ question: BEGIN IMMEDIATE, upsert, ticket lookup, one INSERT
    # of the log rows (feedback and small talk cost the same; complaints are not in TEXTS).
    assert all(r.statements is not None and 3.5 <= r.statements <= 4.5 for r in carebot)
    null_row = carebot[0]
    assert null_row.parts is not None and set(null_row.parts) == {"matcher", "reply", "database"}
    assert all(ms > 0 for ms in null_row.parts.values())
    assert [r.parts for r in carebot[1:]] == [None, None]  # measured once, in the null row
    # Encoder off: no share of messages reached it, and the table says so.
    assert all(r.encoder == "off" and r.encoded_share == 0 for r in rows if r.backend == "sqlite")
    text = load_bench.render_markdown(rows, "## Load") + load_bench.explain(rows)
    assert "| carebot (routers, matcher, renderer, DB writes) | null session" in text
    assert "Where a lexical-only update's time goes" in text and "sqlite:" in text
    assert "50 sendMessage calls answered over HTTP" in text  # 20 warm-up + 30
    for rate in load_bench.ARRIVAL_RATES:
        assert f"At {rate} updates/s arriving" in text and "queueing included" in text
    assert "0.5 goal" not in text  # retired


async def test_load_bench_encoder_rows_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_ENCODER", "off")
    rows = await load_bench.run_all(
        count=20,
        postgres_url=None,
        redis_url="redis://127.0.0.1:1/0",  # never contacted: the 2-worker row is skipped too
        workers_count=10,
        log=lambda _: None,
        encoder="off",
        arrival_seconds=1.0,
        encoder_only=True,
    )
    arrival_modes = [f"HTTP fake, {rate} updates/s arriving" for rate in load_bench.ARRIVAL_RATES]
    assert [r.mode for r in rows] == [load_bench.HTTP_SEQUENTIAL, *arrival_modes]
    assert all(r.name.startswith("carebot") and r.per_second > 0 for r in rows)


def test_explain_states_the_per_worker_target() -> None:
    row = load_bench.LoadRow(
        load_bench.ENCODER_ROW, "sqlite", 100, 95.0, 8.0, 20.0,
        mode=load_bench.HTTP_SEQUENTIAL, encoder="e5", encoded_share=0.25,
    )  # fmt: skip
    slow = load_bench.LoadRow(
        load_bench.ENCODER_ROW, "sqlite", 100, 60.0, 8.0, 20.0,
        mode=load_bench.HTTP_SEQUENTIAL, encoder="e5", encoded_share=0.25,
    )  # fmt: skip
    assert ">= 90/s" in load_bench.explain([row]) and "met" in load_bench.explain([row])
    assert "25%" in load_bench.explain([row])
    assert "MISSED" in load_bench.explain([slow])
