"""Load benchmark (`carebot bench load`): updates/s and latency of the real bot vs a bare echo bot.

Rows:

* **in-process** - one process feeding customer text updates to `Dispatcher.feed_update` through
  the real routers, matcher, renderer and database writes (one transaction per update), on
  SQLite and on PostgreSQL. The Bot API is a null session (no network), so the numbers are
  carebot's own cost. Beside it, a bare aiogram echo bot (one handler, `message.answer(text)`)
  on the same session in the same run; the ratio is carebot's rate / echo's rate.
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message

__all__ = ["LoadRow", "render_markdown", "run_all"]

TOKEN = "42:BENCH"
TEXTS = (
    "请问你们几点关门",
    "可以用微信支付吗",
    "我的快递三天还没到,太慢了",
    "你们的服务很好,谢谢店员的耐心",
    "how do i become a member",
    "今天天气不错",
)


@dataclass(frozen=True)
class LoadRow:
    name: str
    backend: str
    updates: int
    per_second: float
    p50_ms: float
    p99_ms: float
    note: str = ""


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
    dispatcher: Dispatcher, bot: Bot, updates: list[dict[str, Any]], warmup: int
) -> tuple[float, list[float]]:
    """Feed updates one after another; returns (updates/s, latencies in seconds)."""
    from aiogram.types import Update

    parsed = [Update.model_validate(u, context={"bot": bot}) for u in updates]
    for update in parsed[:warmup]:
        await dispatcher.feed_update(bot, update)
    latencies: list[float] = []
    started = time.perf_counter()
    for update in parsed[warmup:]:
        t0 = time.perf_counter()
        await dispatcher.feed_update(bot, update)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def _row(name: str, backend: str, rate: float, lat: list[float], note: str = "") -> LoadRow:
    ordered = sorted(lat)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return LoadRow(
        name, backend, len(lat), rate, statistics.median(ordered) * 1000, p99 * 1000, note
    )


async def bench_echo(count: int) -> LoadRow:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(TOKEN, session=NullSession())
    rate, lat = await _measure(dispatcher, bot, _updates(count + 200, 200), 200)
    return _row("bare aiogram echo bot", "-", rate, lat)


async def bench_carebot(database_url: str, backend: str, count: int) -> LoadRow:
    from bot.app import build_dispatcher
    from care.services import build_services
    from care.settings import load_settings

    settings = load_settings(
        bot_token=TOKEN,
        database_url=database_url,
        # A benchmark sends many messages per customer; flood control would answer with notices.
        staff={"flood_per_minute": 1_000_000},
    )
    services = build_services(settings)
    try:
        await services.database.upgrade()
        dispatcher = build_dispatcher(services)
        bot = Bot(TOKEN, session=NullSession())
        rate, lat = await _measure(dispatcher, bot, _updates(count + 200, 200), 200)
    finally:
        await services.aclose()
    return _row("carebot (routers, matcher, renderer, DB writes)", backend, rate, lat)


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
                            [sys.executable, "-m", "bot", "webhook", "serve", "--port", str(port),
                             upgrade, "--no-scheduler"],
                            env=env, stdout=out, stderr=subprocess.STDOUT,
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
    return _row("2 webhook workers over HTTP", "postgresql+redis", count / elapsed, latencies, note)


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
    log("echo bot")
    echo = await bench_echo(count)
    rows.append(echo)
    with tempfile.TemporaryDirectory() as tmp:
        log("carebot on SQLite")
        rows.append(await bench_carebot(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", count))
    if postgres_url:
        log("carebot on PostgreSQL")
        try:
            async with _postgres_database(postgres_url) as url:
                rows.append(await bench_carebot(url, "postgresql", count))
        except OSError as exc:
            log(f"PostgreSQL skipped: {exc}")
    if postgres_url and redis_url and workers_count:
        log("2 webhook workers")
        try:
            rows.append(await bench_two_workers(postgres_url, redis_url, workers_count))
        except (OSError, RuntimeError) as exc:
            log(f"2-worker row skipped: {exc}")
    return rows


def render_markdown(rows: list[LoadRow], header: str) -> str:
    echo = next((r for r in rows if r.name.startswith("bare")), None)
    lines = [
        header,
        "",
        "| setup | database | updates | updates/s | p50 ms | p99 ms | vs echo |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = (
            f"{row.per_second / echo.per_second:.2f}"
            if echo and row is not echo and row.backend in ("sqlite", "postgresql")
            else ""
        )
        lines.append(
            f"| {row.name} | {row.backend} | {row.updates} | {row.per_second:,.0f} | "
            f"{row.p50_ms:.2f} | {row.p99_ms:.2f} | {ratio} |"
        )
    notes = [f"- {r.name}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))
