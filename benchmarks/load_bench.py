"""Load benchmark (`carebot bench load`): updates/s and latency of the real bot vs a bare echo bot.

Rows, each carebot row beside a bare aiogram echo bot (one handler, `message.answer(text)`)
measured the same way in the same run; 'vs echo' is carebot's rate / that echo's rate:

* **in-process, null Bot API** - one process feeding customer text updates one at a time to
  `Dispatcher.feed_update` through the real routers, matcher, renderer and database writes
  (one transaction per update), on SQLite and on PostgreSQL. The Bot API answers in-process
  (no network), so this is carebot's own cost - and the echo bot's is only aiogram's dispatch.
* **in-process, HTTP Bot API** - the same, but both bots talk to the loopback fake Bot API
  (tests/fakes/bot_api.py) over HTTP, as a real bot pays a round trip per reply. The fake runs
  in a child process so it does not share the benchmark's CPU. Once one update at a time, and
  once as polling/webhook process them: 200 chats at once, each chat's updates in order
  (aiogram's handle_as_tasks with per-chat isolation), so replies overlap each other's waits.
* **2 webhook workers** - the production shape: two `carebot webhook serve` processes on
  PostgreSQL + Redis, fed over HTTP by this process (which also plays the Bot API), many
  chats at once, each chat's updates in order (as Telegram delivers them).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message

from benchmarks.fake_api import TOKEN, bench_stats, fake_api

__all__ = ["LoadRow", "render_markdown", "run_all"]

TEXTS = (
    "请问你们几点关门",
    "可以用微信支付吗",
    "我的快递三天还没到,太慢了",
    "你们的服务很好,谢谢店员的耐心",
    "how do i become a member",
    "今天天气不错",
)


#: How the updates reach the bot and where its replies go (a column of the table).
NULL_API = "null session, one at a time"
HTTP_SEQUENTIAL = "HTTP fake, one at a time"
HTTP_CONCURRENT = "HTTP fake, 200 chats at once"
MODES = (NULL_API, HTTP_SEQUENTIAL, HTTP_CONCURRENT)


@dataclass(frozen=True)
class LoadRow:
    name: str
    backend: str
    updates: int
    per_second: float
    p50_ms: float
    p99_ms: float
    note: str = ""
    mode: str = NULL_API
    #: SQL statements per update (carebot rows; counted during the measured updates).
    statements: float | None = None
    #: Null-session carebot rows: ms per update of the pieces, measured alone (`_parts`).
    parts: dict[str, float] | None = None


class NullSession(BaseSession):
    """A Bot API that answers at once: sendMessage returns a Message, anything else True."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        if isinstance(method, SendMessage):
            chat = Chat(id=int(method.chat_id), type="private")
            message = Message(
                message_id=next(self._ids),
                date=datetime.now(UTC),
                chat=chat,
                text=method.text,
            )
            return message  # type: ignore[return-value]
        return True  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""  # pragma: no cover

    async def close(self) -> None:
        return None


def _update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ann", "language_code": "zh-hans"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
            "from": user,
            "text": text,
        },
    }


def _updates(count: int, chats: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        _update(start + i, 5_000_000 + i % chats, TEXTS[(i // chats) % len(TEXTS)])
        for i in range(count)
    ]


async def _measure(
    dispatcher: Dispatcher,
    bot: Bot,
    updates: list[dict[str, Any]],
    warmup: int,
    *,
    concurrent: bool = False,
    measured: Callable[[bool], None] | None = None,
) -> tuple[float, list[float]]:
    """Feed updates; returns (updates/s, latencies in seconds) of those after `warmup`.

    One after another, or `concurrent`: every chat's updates in order, all chats at once -
    what polling (aiogram's handle_as_tasks) and webhook workers do with per-chat isolation.
    A latency is one update's own processing time (not its wait behind its chat's previous
    one). `measured(True/False)` brackets the measured part (the statement counter).
    """
    from aiogram.types import Update

    parsed = [Update.model_validate(u, context={"bot": bot}) for u in updates]
    for update in parsed[:warmup]:
        await dispatcher.feed_update(bot, update)
    latencies: list[float] = []

    async def feed(batch: list[Update]) -> None:
        for update in batch:
            t0 = time.perf_counter()
            await dispatcher.feed_update(bot, update)
            latencies.append(time.perf_counter() - t0)

    rest = parsed[warmup:]
    if concurrent:
        by_chat: dict[int, list[Update]] = {}
        for update in rest:
            assert update.message is not None
            by_chat.setdefault(update.message.chat.id, []).append(update)
        streams = list(by_chat.values())
    else:
        streams = [rest]
    if measured:
        measured(True)
    started = time.perf_counter()
    await asyncio.gather(*(feed(stream) for stream in streams))
    elapsed = time.perf_counter() - started
    if measured:
        measured(False)
    return len(latencies) / elapsed, latencies


def _row(
    name: str,
    backend: str,
    rate: float,
    lat: list[float],
    note: str = "",
    *,
    mode: str = NULL_API,
    statements: float | None = None,
) -> LoadRow:
    ordered = sorted(lat)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return LoadRow(
        name,
        backend,
        len(lat),
        rate,
        statistics.median(ordered) * 1000,
        p99 * 1000,
        note,
        mode,
        statements,
    )


def _session(mode: str, api_url: str | None) -> BaseSession:
    if mode == NULL_API:
        return NullSession()
    if api_url is None:
        raise ValueError(f"{mode} needs the fake Bot API")
    return AiohttpSession(api=TelegramAPIServer.from_base(api_url))


async def bench_echo(count: int, mode: str = NULL_API, api_url: str | None = None) -> LoadRow:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(TOKEN, session=_session(mode, api_url))
    try:
        rate, lat = await _measure(
            dispatcher, bot, _updates(count + 200, 200), 200, concurrent=mode == HTTP_CONCURRENT
        )
    finally:
        await bot.session.close()
    return _row("bare aiogram echo bot", "-", rate, lat, mode=mode)


async def bench_carebot(
    database_url: str,
    backend: str,
    count: int,
    mode: str = NULL_API,
    api_url: str | None = None,
) -> LoadRow:
    from bot.app import build_dispatcher
    from care.runtime.services import build_services
    from care.runtime.settings import load_settings

    settings = load_settings(
        bot_token=TOKEN,
        database_url=database_url,
        # A benchmark sends many messages per customer; flood control would answer with notices.
        staff={"flood_per_minute": 1_000_000},
    )
    services = build_services(settings)
    counted: list[int] = []
    try:
        await services.database.upgrade()
        dispatcher = build_dispatcher(services)
        bot = Bot(TOKEN, session=_session(mode, api_url))
        with services.database.statement_counter() as statements:

            def measured(start: bool) -> None:
                counted.append(len(statements))

            try:
                rate, lat = await _measure(
                    dispatcher,
                    bot,
                    _updates(count + 200, 200),
                    200,
                    concurrent=mode == HTTP_CONCURRENT,
                    measured=measured,
                )
            finally:
                await bot.session.close()
        parts = await _parts(services, count) if mode == NULL_API else None
    finally:
        await services.aclose()
    per_update = (counted[1] - counted[0]) / len(lat)
    row = _row(
        "carebot (routers, matcher, renderer, DB writes)",
        backend,
        rate,
        lat,
        mode=mode,
        statements=per_update,
    )
    return replace(row, parts=parts)


async def _parts(services: Any, count: int) -> dict[str, float]:
    """What one update's pieces cost alone, in ms (mean over `count`), in the same process:

    * ``matcher`` - `IntentEngine.match` on the benchmark's texts;
    * ``reply`` - rendering one approved script and guarding it (the FAQ hours answer);
    * ``database`` - the unit of work a returning customer's FAQ question costs: the customer
      upsert, the open-ticket lookup, the question and answer log rows, the commit.

    The rest of a measured update is aiogram's dispatch, carebot's routers and middlewares and
    the reply's own bookkeeping.
    """
    from care.uow import Repos

    context = {"salutation": "Ann", "first_name": "Ann", "business_name": "Bench"}

    def matcher(i: int) -> None:
        services.intents.match(TEXTS[i % len(TEXTS)])

    def reply(i: int) -> None:
        services.renderer.render("faq.hours", "zh-Hans", context)

    async def database(i: int) -> None:
        now = datetime.now(UTC)
        async with services.database.transaction() as session:
            repos = Repos.bind(session)
            customer = await repos.customers.upsert_from_telegram(
                5_000_000, "Ann", language="zh-Hans", contact_at=now
            )
            assert customer.id is not None
            await repos.tickets.open_for_customer(customer.id)
            for direction in ("in", "out"):
                repos.messages.add(
                    customer_id=customer.id,
                    direction=direction,
                    content_type="text",
                    text=TEXTS[0],
                    now=now,
                )

    results: dict[str, float] = {}
    for name, sync in (("matcher", matcher), ("reply", reply)):
        started = time.perf_counter()
        for i in range(count):
            sync(i)
        results[name] = (time.perf_counter() - started) / count * 1000
    started = time.perf_counter()
    for i in range(count):
        await database(i)
    results["database"] = (time.perf_counter() - started) / count * 1000
    return results


async def _sent_messages(api_url: str) -> int:
    """sendMessage calls the fake answered since the last call (and reset the count)."""
    return (await bench_stats(api_url, reset=True))["messages"]


@contextlib.asynccontextmanager
async def _postgres_database(admin_url: str) -> AsyncIterator[str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"carebot_bench_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


# -- two webhook workers ------------------------------------------------------------------


async def _fake_bot_api() -> tuple[Any, int, list[int]]:
    """The smallest Bot API the workers need: getMe and sendMessage, answered at once."""
    from aiohttp import web

    sent: list[int] = []
    ids = itertools.count(1)

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        form = dict(await request.post()) if request.can_read_body else {}
        if method == "getme":
            result: Any = {"id": 42, "is_bot": True, "first_name": "Bench", "username": "bench"}
        elif method == "sendmessage":
            chat_id = int(str(form.get("chat_id", "0")))
            sent.append(chat_id)
            result = {
                "message_id": next(ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": str(form.get("text", "")),
            }
        else:
            result = True
        return web.json_response({"ok": True, "result": result})

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1]), sent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bench_two_workers(
    admin_url: str, redis_url: str, count: int, chats: int = 200, concurrency: int = 16
) -> LoadRow:
    import aiohttp

    runner, api_port, sent = await _fake_bot_api()
    prefix = f"carebot-bench-{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        async with _postgres_database(admin_url) as db_url:
            env = {
                **os.environ,
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": f"http://127.0.0.1:{api_port}",
                "DATABASE_URL": db_url,
                "REDIS_URL": redis_url,
                "REDIS_PREFIX": prefix,
                "WEBHOOK_SECRET": "bench",
                "STAFF__FLOOD_PER_MINUTE": "1000000",
            }
            ports = [_free_port(), _free_port()]
            logs = Path(tempfile.mkdtemp(prefix="carebot-bench-"))
            for i, port in enumerate(ports):
                upgrade = "--upgrade" if i == 0 else "--no-upgrade"
                with (logs / f"worker-{i}.log").open("wb") as out:
                    procs.append(
                        subprocess.Popen(
                            [
                                sys.executable,
                                "-m",
                                "bot",
                                "webhook",
                                "serve",
                                "--port",
                                str(port),
                                upgrade,
                                "--no-scheduler",
                            ],
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                        )
                    )
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=30),
                connector=aiohttp.TCPConnector(limit=concurrency * 2),
            ) as http:
                for port in ports:
                    await _wait_ready(http, port)
                updates = _updates(count, chats, start=10_000_000)
                by_chat: dict[int, list[dict[str, Any]]] = {}
                for update in updates:
                    by_chat.setdefault(int(update["message"]["chat"]["id"]), []).append(update)
                latencies: list[float] = []
                queue = list(by_chat.values())
                headers = {"X-Telegram-Bot-Api-Secret-Token": "bench"}

                async def stream(index: int) -> None:
                    while queue:
                        for update in queue.pop():
                            port = ports[update["update_id"] % 2]
                            t0 = time.perf_counter()
                            async with http.post(
                                f"http://127.0.0.1:{port}/telegram",
                                data=json.dumps(update),
                                headers=headers,
                            ) as response:
                                await response.read()
                                if response.status != 200:
                                    raise RuntimeError(f"worker answered {response.status}")
                            latencies.append(time.perf_counter() - t0)

                started = time.perf_counter()
                await asyncio.gather(*(stream(i) for i in range(concurrency)))
                elapsed = time.perf_counter() - started
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        await runner.cleanup()
    note = f"{chats} chats, {concurrency} in flight; {len(sent)} replies"
    return _row(
        "2 webhook workers over HTTP",
        "postgresql+redis",
        count / elapsed,
        latencies,
        note,
        mode="HTTP webhook, 16 in flight",
    )


async def _wait_ready(http: Any, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"worker on port {port} not ready")


async def run_all(
    *,
    count: int,
    postgres_url: str | None,
    redis_url: str | None,
    workers_count: int,
    log: Callable[[str], None],
) -> list[LoadRow]:
    rows: list[LoadRow] = []
    with fake_api() as api_url, tempfile.TemporaryDirectory() as tmp:
        for index, mode in enumerate(MODES):
            url = None if mode == NULL_API else api_url
            log(f"echo bot, {mode}")
            rows.append(await bench_echo(count, mode, url))
            if url:
                rows[-1] = _with_replies(rows[-1], await _sent_messages(url))
            log(f"carebot on SQLite, {mode}")
            sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench-{index}.db"
            rows.append(await bench_carebot(sqlite_url, "sqlite", count, mode, url))
            if url:
                rows[-1] = _with_replies(rows[-1], await _sent_messages(url))
            if postgres_url:
                log(f"carebot on PostgreSQL, {mode}")
                try:
                    async with _postgres_database(postgres_url) as pg_url:
                        rows.append(await bench_carebot(pg_url, "postgresql", count, mode, url))
                    if url:
                        rows[-1] = _with_replies(rows[-1], await _sent_messages(url))
                except OSError as exc:
                    log(f"PostgreSQL skipped: {exc}")
    if postgres_url and redis_url and workers_count:
        log("2 webhook workers")
        try:
            rows.append(await bench_two_workers(postgres_url, redis_url, workers_count))
        except (OSError, RuntimeError) as exc:
            log(f"2-worker row skipped: {exc}")
    return rows


def _with_replies(row: LoadRow, sent: int) -> LoadRow:
    """The fake Bot API's count of replies (warm-up included) as the row's note."""
    return replace(row, note=f"{sent:,} sendMessage calls answered over HTTP (warm-up included)")


def render_markdown(rows: list[LoadRow], header: str) -> str:
    echoes = {r.mode: r for r in rows if r.name.startswith("bare")}
    lines = [
        header,
        "",
        "| setup | Bot API, dispatch | database | updates | updates/s | p50 ms | p99 ms "
        "| SQL statements / update | vs echo |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        echo = echoes.get(row.mode)
        ratio = (
            f"{row.per_second / echo.per_second:.2f}"
            if echo and row is not echo and row.backend in ("sqlite", "postgresql")
            else ""
        )
        statements = f"{row.statements:.1f}" if row.statements is not None else ""
        lines.append(
            f"| {row.name} | {row.mode} | {row.backend} | {row.updates} | "
            f"{row.per_second:,.0f} | {row.p50_ms:.2f} | {row.p99_ms:.2f} | {statements} | "
            f"{ratio} |"
        )
    notes = [f"- {r.name} ({r.mode}, {r.backend}): {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def explain(rows: list[LoadRow]) -> str:
    """A paragraph saying, in this run's numbers, where each carebot row stands against 0.5."""
    echoes = {r.mode: r for r in rows if r.name.startswith("bare")}
    parts: list[str] = []
    for row in rows:
        echo = echoes.get(row.mode)
        if echo is None or row is echo or row.backend not in ("sqlite", "postgresql"):
            continue
        ratio = row.per_second / echo.per_second
        own, echo_ms = 1000 / row.per_second, 1000 / echo.per_second
        verdict = "meets the 0.5 goal" if ratio >= 0.5 else "misses the 0.5 goal"
        parts.append(
            f"{row.mode}, {row.backend}: {own:.2f} ms per update against the echo bot's "
            f"{echo_ms:.2f} ms ({ratio:.2f}, {verdict}; 0.5 would need <= {2 * echo_ms:.2f} ms "
            f"per update, with {row.statements or 0:.1f} SQL statements each)"
        )
    if not parts:
        return ""
    http_cost = ""
    if NULL_API in echoes and HTTP_SEQUENTIAL in echoes:
        extra = 1000 / echoes[HTTP_SEQUENTIAL].per_second - 1000 / echoes[NULL_API].per_second
        http_cost = f" (about {extra:.2f} ms per reply in this run)"
    return (
        "\n\n**Against the 0.5 goal.** "
        + "; ".join(parts)
        + "."
        + _breakdown(rows, echoes)
        + " Over HTTP both bots pay the Bot API round trip per reply"
        + http_cost
        + ", which narrows the gap; with 200 chats in flight the echo bot overlaps those "
        "waits, while carebot, CPU-bound in Python, gains little and mostly queues (hence its "
        "p50)."
    )


def _breakdown(rows: list[LoadRow], echoes: dict[str, LoadRow]) -> str:
    """Where a null-session update's time goes, from the pieces measured alone (`_parts`)."""
    measured = [r for r in rows if r.parts and r.mode == NULL_API]
    if not measured or HTTP_SEQUENTIAL not in echoes:
        return ""
    budget = 2 * 1000 / echoes[HTTP_SEQUENTIAL].per_second
    sentences = []
    for row in measured:
        assert row.parts is not None
        total = 1000 / row.per_second
        pieces = row.parts["matcher"] + row.parts["reply"] + row.parts["database"]
        sentences.append(
            f"{row.backend}: {total:.2f} ms per update = matcher {row.parts['matcher']:.2f} + "
            f"one rendered, guarded reply {row.parts['reply']:.2f} + database unit of work "
            f"{row.parts['database']:.2f} (upsert, open-ticket lookup, 2 log rows, commit) + "
            f"the rest {max(total - pieces, 0):.2f} (aiogram's dispatch, routers, middlewares, "
            "sending, and what the same statements cost inside a real update beyond the "
            "isolated loop: session set-up, a colder cache)"
        )
    cheapest = min(
        r.parts["matcher"] + r.parts["reply"] + r.parts["database"]
        for r in measured
        if r.parts is not None
    )
    if cheapest >= budget:
        verdict = (
            f"the matcher, one reply and the database unit of work alone take {cheapest:.2f} "
            "ms, more than all of it: with this storage stack (SQLAlchemy over aiosqlite / "
            "asyncpg) the goal is out of reach while every message is recorded durably before "
            "the answer (the at-least-once webhook contract; 'every contact is recorded') - "
            "batching the log rows and FSM writes, which this run includes, narrows the gap"
        )
    else:
        verdict = (
            f"the matcher, one reply and the database unit of work take {cheapest:.2f} ms of "
            f"it, leaving {budget - cheapest:.2f} ms for the rest and the round trip"
        )
    return (
        " Where the time goes, each piece measured alone in the same process - "
        + "; ".join(sentences)
        + f". Against HTTP, 0.5 of the echo bot allows {budget:.2f} ms per update, Bot API "
        f"round trip included: {verdict}."
    )
