"""Webhook worker: secret check, bad input, dedup, failures not acknowledged, probes, shutdown.

The worker runs in-process on a free port with a loopback fake Bot API; the test posts updates
as Telegram would. Uses the ``database_url`` fixture, so it also runs on PostgreSQL under
``CAREBOT_TEST_DATABASE=postgresql``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlmodel import func, select

from bot.runners.webhook import WebhookWorker
from care.runtime.settings import Settings, load_settings
from storage import Database, MessageLog, ProcessedUpdate
from tests.fakes import FakeBotAPI
from tests.fakes.updates import callback_update, text_update
from tests.progress import finish, wait_until

TOKEN = "42:TEST"
SECRET = "s3cret-Token_1"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
TIMEOUT = aiohttp.ClientTimeout(total=120)  # a hang detector only: slow machines are slow


@dataclass
class Running:
    worker: WebhookWorker
    api: FakeBotAPI
    http: aiohttp.ClientSession
    base: str
    settings: Settings

    async def post(self, update: Any, headers: dict[str, str] | None = None) -> int:
        body = update if isinstance(update, (bytes, str)) else json.dumps(update)
        async with self.http.post(
            f"{self.base}/telegram", data=body, headers=HEADERS if headers is None else headers
        ) as response:
            await response.read()
            return response.status

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(f"{self.base}{path}") as response:
            return response.status, await response.text()


def worker_settings(database_url: str, api: FakeBotAPI, **extra: Any) -> Settings:
    return load_settings(
        bot_token=TOKEN,
        telegram_api_url=api.base_url,
        database_url=database_url,
        webhook_secret=SECRET,
        webhook_max_body_bytes=64 * 1024,
        **extra,
    )


async def start_worker(settings: Settings, api: FakeBotAPI, **kwargs: Any) -> Running:
    worker = WebhookWorker(settings, **kwargs)
    port = await worker.start("127.0.0.1", 0)
    http = aiohttp.ClientSession(timeout=TIMEOUT)
    return Running(worker, api, http, f"http://127.0.0.1:{port}", settings)


@pytest.fixture
async def running(database_url: str) -> AsyncIterator[Running]:
    async with FakeBotAPI(token=TOKEN) as api:
        run = await start_worker(worker_settings(database_url, api), api, leader=False)
        try:
            await finish(run.worker.prepared.wait(), "worker ready")
            yield run
        finally:
            await run.http.close()
            await run.worker.stop()


async def count_rows(database_url: str, table: Any) -> int:
    database = Database(database_url)
    try:
        async with database.session() as session:
            return int(
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
            )
    finally:
        await database.dispose()


async def test_secret_is_required(running: Running) -> None:
    update = text_update(7001, "请问你们几点关门")
    assert await running.post(update, headers={}) == 401
    assert await running.post(update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}) == 401
    assert running.api.calls_of("sendMessage") == []
    assert await running.post(update) == 200
    assert len(running.api.calls_of("sendMessage")) == 1


async def test_bad_input_is_rejected_and_the_worker_stays_up(running: Running) -> None:
    assert await running.post(b"{not json") == 400
    assert await running.post(b"\xff\xfe") == 400
    assert await running.post("[1, 2]") == 400
    assert await running.post({"update_id": "x"}) == 400
    assert await running.post({"update_id": 5, "message": {"oops": True}}) == 400
    assert await running.post(b"{" + b" " * (70 * 1024) + b"}") == 413
    # A type this aiogram does not know: acknowledged (or Telegram would retry forever).
    assert await running.post({"update_id": 77, "brand_new_kind": {"x": 1}}) == 200
    assert running.api.calls_of("sendMessage") == []
    assert await running.post(text_update(7002, "请问你们几点关门")) == 200
    assert len(running.api.calls_of("sendMessage")) == 1
    assert (await running.get("/healthz"))[0] == 200


async def test_duplicates_are_answered_once(running: Running, database_url: str) -> None:
    update = text_update(7003, "请问你们几点关门", update_id=900_001)
    assert await running.post(update) == 200
    assert await running.post(update) == 200
    # Concurrent redelivery of another update: one of them waits, then sees it committed.
    second = text_update(7003, "你们的服务很好,谢谢店员的耐心", update_id=12)
    statuses = await asyncio.gather(running.post(second), running.post(second))
    assert statuses == [200, 200]
    assert len(running.api.calls_of("sendMessage")) == 2
    assert await count_rows(database_url, ProcessedUpdate) == 2
    assert (
        running.worker.services.metrics.sample(
            "carebot_updates_processed_total", {"outcome": "duplicate"}
        )
        == 2
    )


async def test_failed_update_is_not_acknowledged_and_runs_again(
    running: Running, database_url: str
) -> None:
    running.api.inject_error("sendMessage", code=500, description="Internal Server Error")
    update = text_update(7004, "请问你们几点关门", update_id=4242)
    assert await running.post(update) == 500
    assert await count_rows(database_url, ProcessedUpdate) == 0, "failure left no mark"
    assert await count_rows(database_url, MessageLog) == 0, "rolled back"
    assert await running.post(update) == 200
    sent = [c for c in running.api.calls_of("sendMessage") if c.ok]
    assert len(sent) == 1
    assert await count_rows(database_url, ProcessedUpdate) == 1


async def test_probes_and_metrics(running: Running) -> None:
    assert await running.post(text_update(7005, "我的快递三天还没到,太慢了")) == 200
    status, body = await running.get("/readyz")
    assert status == 200 and json.loads(body) == {"prepared": True, "database": True}
    status, text = await running.get("/metrics")
    assert status == 200
    assert 'carebot_updates_processed_total{outcome="ok"} 1.0' in text
    assert "carebot_update_latency_seconds_bucket" in text
    assert 'carebot_tickets_opened_total{kind="complaint"} 1.0' in text
    assert "carebot_intents_total{intent=" in text


async def test_429_is_counted(running: Running) -> None:
    running.api.inject_error(
        "sendMessage", code=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    assert await running.post(text_update(7006, "请问你们几点关门")) == 200
    assert running.worker.services.metrics.sample("carebot_telegram_429_total") == 1


async def test_graceful_shutdown_finishes_in_flight_updates(database_url: str) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        run = await start_worker(worker_settings(database_url, api), api, leader=False)
        try:
            await finish(run.worker.prepared.wait(), "worker ready")
            api.set_latency(1.0)  # the reply is slow: shutdown starts while it is in flight
            posting = asyncio.create_task(run.post(text_update(7007, "请问你们几点关门")))
            await wait_until(lambda: run.worker.inflight.active == 1, "the update in flight")
            await finish(run.worker.stop(), "worker stop")
            assert await finish(posting, "the in-flight post") == 200
        finally:
            await run.http.close()
    assert len(api.calls_of("sendMessage")) == 1
    assert await count_rows(database_url, ProcessedUpdate) == 1


async def test_database_down_means_not_ready_and_not_acknowledged() -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        settings = worker_settings("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere", api)
        run = await start_worker(settings, api, leader=False)
        try:
            await asyncio.sleep(0.5)  # a few failed attempts: the worker must keep running
            assert (await run.get("/healthz"))[0] == 200
            status, body = await run.get("/readyz")
            assert status == 503 and json.loads(body)["database"] is False
            assert await run.post(text_update(7008, "请问你们几点关门")) == 503
        finally:
            await run.http.close()
            await finish(run.worker.stop(), "worker stop")
    assert api.calls_of("sendMessage") == []


async def test_redis_down_means_not_ready_and_not_acknowledged(database_url: str) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        settings = worker_settings(database_url, api, redis_url="redis://127.0.0.1:9/0")
        run = await start_worker(settings, api, leader=False)
        try:
            await finish(run.worker.prepared.wait(), "worker ready")
            status, body = await run.get("/readyz")
            assert status == 503 and json.loads(body)["redis"] is False
            assert await run.post(text_update(7009, "请问你们几点关门")) == 503
            assert (await run.get("/healthz"))[0] == 200
        finally:
            await run.http.close()
            await finish(run.worker.stop(), "worker stop")
    assert api.calls_of("sendMessage") == []


@pytest.mark.redis
async def test_redis_mode_dedup_and_release(
    database_url: str, redis_url: str, redis_prefix: str
) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        settings = worker_settings(
            database_url, api, redis_url=redis_url, redis_prefix=redis_prefix
        )
        run = await start_worker(settings, api, leader=False)
        try:
            await finish(run.worker.prepared.wait(), "worker ready")
            status, body = await run.get("/readyz")
            assert status == 200 and json.loads(body)["redis"] is True
            api.inject_error("sendMessage", code=500, description="Internal Server Error")
            update = text_update(7010, "请问你们几点关门", update_id=31337)
            assert await run.post(update) == 500
            assert await run.post(update) == 200  # the failed claim was released
            assert await run.post(update) == 200  # now a duplicate
            assert len([c for c in api.calls_of("sendMessage") if c.ok]) == 1
            redis = run.worker.services.redis
            assert redis is not None
            assert await redis.get(f"{redis_prefix}:update:31337") == b"done"
            assert 25 * 3600 <= await redis.ttl(f"{redis_prefix}:update:31337") <= 26 * 3600
            # FSM state lives in Redis now (shared by every worker): the conversation's
            # memory (care.desk.dialogue) after a message, and a menu choice.
            keys = await redis.keys(f"{redis_prefix}:fsm:*")
            assert keys and b"dialogue" in (await redis.get(keys[0]) or b"")
            assert await run.post(callback_update(7010, "menu:complaint", message_id=1)) == 200
            assert b"complaint" in (await redis.get(keys[0]) or b"")
        finally:
            await run.http.close()
            await finish(run.worker.stop(), "worker stop")
    # Redis mode does not need the table.
    assert await count_rows(database_url, ProcessedUpdate) == 0
