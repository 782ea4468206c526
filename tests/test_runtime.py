"""The helpers both run modes share (`bot.runners.runtime`): leader-only SLA alerts, the breach
counter, the webhook worker draining the staff queue on shutdown, the content watch.

Time travel: SLA deadlines move with a `FakeClock`; the only real waits are the watcher
intervals (tens of milliseconds) and bounded polls for what must happen.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import build_bot
from bot.runners.runtime import BotRuntime
from bot.runners.webhook import WebhookWorker
from bot.staff.outbox import TokenBucket
from care.runtime.services import Services, build_services
from care.runtime.settings import Settings, load_settings
from care.runtime.watch import watch_content
from storage import Ticket
from tests.conftest import FakeClock
from tests.fakes import FakeBotAPI
from tests.fakes.updates import text_update
from tests.progress import finish, wait_until
from tests.services_fixtures import fresh_postgres_url

TOKEN = "42:TEST"
SECRET = "runtime-secret"
SUPERVISOR = 7002
STAFF_CHAT = -1001234567890
FAST = 0.05  # watcher and leader-poll interval in these tests


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgresql", marks=pytest.mark.postgresql),
    ]
)
async def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """One database two "processes" share: the file lock beside SQLite, or PostgreSQL's
    advisory lock (whatever `build_leader_lock` picks for it)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    else:
        async with fresh_postgres_url() as url:
            yield url


async def _until(condition: Callable[[], bool]) -> None:
    await wait_until(condition, "condition not reached", interval=0.01)


async def _complaint(services: Services, telegram_id: int) -> Ticket:
    async with services.unit_of_work() as repos:
        customer = await repos.customers.upsert_from_telegram(telegram_id, "Liang")
        ticket, _ = await services.conversation.desk.open_or_reuse(
            repos, customer, "complaint", "服务太差", services.clock()
        )
        return ticket


def _breaches(services: Services, deadline: str = "first_response") -> float:
    return services.metrics.sample("carebot_sla_breaches_total", {"deadline": deadline})


async def test_only_the_leader_sends_sla_alerts(shared_database: str) -> None:
    clock = FakeClock()
    async with FakeBotAPI(token=TOKEN) as api:
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=api.base_url,
            database_url=shared_database,
            leader_poll_seconds=FAST,
            staff={"supervisors": [SUPERVISOR], "sla_check_seconds": FAST},
        )
        first, second = (build_services(settings, clock=clock) for _ in range(2))
        await first.database.upgrade()
        runtimes = [BotRuntime(build_bot(settings), s, leader=True) for s in (first, second)]
        checks = [0, 0]
        for index, runtime in enumerate(runtimes):
            real = runtime.gateway.run_sla_check

            async def counted(bot: Any, _real: Any = real, _i: int = index) -> Any:
                checks[_i] += 1
                return await _real(bot)

            runtime.gateway.run_sla_check = counted  # type: ignore[method-assign]

        def supervisor_alerts() -> list[Any]:
            return [c for c in api.calls_of("sendMessage") if c.params["chat_id"] == SUPERVISOR]

        leader, follower = runtimes
        try:
            leader.start()
            await _until(lambda: leader.leading)
            follower.start()
            await _until(lambda: checks[0] >= 2)  # the leader's watcher is running

            ticket = await _complaint(first, 9001)
            clock.advance(minutes=31)  # first response was due after 30 business minutes
            await _until(lambda: len(supervisor_alerts()) == 1)
            rounds = checks[0]
            await _until(lambda: checks[0] >= rounds + 3)  # several more passes: said once
            assert len(supervisor_alerts()) == 1
            assert ticket.number in supervisor_alerts()[0].params["text"]
            assert not follower.leading and checks[1] == 0, "a follower never checks SLAs"
            assert _breaches(first) == 1 and _breaches(second) == 0

            # The leader goes away: the follower takes the duties over (SLA watcher included)
            # and alerts the next breach - once, without repeating the first one.
            await leader.aclose()
            await _until(lambda: follower.leading)
            await _complaint(second, 9002)
            clock.advance(minutes=31)
            await _until(lambda: len(supervisor_alerts()) == 2)
            rounds = checks[1]
            await _until(lambda: checks[1] >= rounds + 3)
            assert len(supervisor_alerts()) == 2
            assert _breaches(second) == 1 and _breaches(first) == 1
        finally:
            for runtime in runtimes:
                await runtime.aclose()


async def test_webhook_shutdown_drains_the_staff_queue(tmp_path: Path) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        api.set_chat({"id": STAFF_CHAT, "type": "supergroup", "title": "Care", "is_forum": True})
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=api.base_url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'hook.db'}",
            webhook_secret=SECRET,
            staff_chat_id=STAFF_CHAT,
            staff={"group_per_minute": 600},
        )
        worker = WebhookWorker(settings, leader=False)
        port = await worker.start("127.0.0.1", 0)
        try:
            await finish(worker.prepared.wait(), "worker ready")
            outbox = worker.runtime.gateway.outbox
            # The staff group's budget is spent, on a clock that stands still until the test
            # moves it: on the real clock a slow machine would refill it before the check.
            budget_clock = [0.0]
            outbox.bucket = TokenBucket(600, period=60.0, clock=lambda: budget_clock[0])
            outbox.bucket.spend(outbox.bucket.available)
            # Queued in the fake too, only so that it knows the message copyMessage will name.
            update = api.push_update(text_update(9001, "转人工", first_name="Liang"))
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{port}/telegram",
                    data=json.dumps(update),
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as response,
            ):
                assert response.status == 200
            # The topic was opened inline; the customer's message waits in the staff queue.
            assert api.calls_of("createForumTopic")
            assert outbox.pending == 1 and api.calls_of("copyMessage") == []
            budget_clock[0] = 60.0  # the budget is back: the drain on stop can send it
        finally:
            await finish(worker.stop(), "worker stop")
        [copy] = api.calls_of("copyMessage")
        assert copy.ok and copy.params["chat_id"] == STAFF_CHAT, "queued post went out on stop"


async def test_content_watch_picks_up_an_edited_catalog(tmp_path: Path) -> None:
    ops = tmp_path / "intents"
    ops.mkdir()
    catalog = ops / "wifi.yaml"
    catalog.write_text(_WIFI.format(id="faq.wifi"), encoding="utf-8")
    settings: Settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", intents_dir=ops
    )
    services = build_services(settings)
    stop = watch_content(services, every=FAST)
    try:
        assert services.intents.match("wifi密码是多少").intent == "faq.wifi"
        catalog.write_text(_WIFI.format(id="faq.internet"), encoding="utf-8")
        await _until(lambda: services.intents.match("wifi密码是多少").intent == "faq.internet")
    finally:
        await stop()
        await services.aclose()


_WIFI = """\
intents:
  - id: {id}
    kind: faq
    script: faq.contact
    examples:
      zh-Hans: [有wifi吗, wifi密码是多少]
      en: [do you have wifi, whats the wifi password]
"""
