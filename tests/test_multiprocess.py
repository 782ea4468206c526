"""Production shape end to end: 2 webhook worker processes + scheduler processes, PostgreSQL and
Redis, 3,000 updates from 150 customers with duplicate deliveries and a worker SIGKILLed mid-run.

The test plays Telegram: it posts each update to a worker and, on any failure or timeout,
retries on the other worker until one answers 200 (at-least-once, like Telegram). A chat's next
update is sent only after the previous one was acknowledged (Telegram keeps a chat's order).
The fake Bot API (in this process) records every reply. Checks: every update answered exactly
once and in order per chat, nothing lost, duplicates never answered twice. The only replies
allowed twice are the ones the killed worker had sent but not committed when it died - the
unavoidable at-least-once window between Telegram accepting a reply and our commit - and the
test reports how many there were.

Also: exactly one scheduler leader, and a standby takes over after the leader's death.

Every wait follows progress (tests/progress.py), not a wall-clock budget: on a machine loaded to
a load average of 8, starting four Python processes alone takes minutes, and that is slow, not
broken. A wait fails when nothing moves: no update acknowledged, no worker using CPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from storage import Database
from tests.fakes import FakeBotAPI
from tests.fakes.updates import text_update
from tests.progress import Progress, Stalled, finish, wait_until
from tests.services_fixtures import fresh_postgres_url

# The timeout is a last-resort backstop for a livelock; stalls fail much earlier, by progress.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgresql,
    pytest.mark.redis,
    pytest.mark.timeout(1200),
]

TOKEN = "42:TEST"
SECRET = "multi-process-secret"
CUSTOMERS = 150
PER_CUSTOMER = 20  # 3,000 updates
QUESTIONS = ("请问你们几点关门", "可以用微信支付吗", "会员有什么好处")
REPEAT_RATE = 0.08  # redelivered after being acknowledged
CONCURRENT_DUP_RATE = 0.03  # delivered to both workers at once
KILL_AFTER = 1_200  # acknowledged updates before worker A is killed
STREAMS = 48  # chats in flight at once


@dataclass
class Worker:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    alive: bool = True
    open_requests: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "--log-level", "WARNING", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _wait_ready(http: aiohttp.ClientSession, worker: Worker) -> None:
    """Ready when /readyz says so; waits as long as the worker is alive and working (CPU)."""

    async def ready() -> bool:
        if worker.proc.poll() is not None:
            raise AssertionError(f"worker {worker.name} exited with {worker.proc.returncode}")
        try:
            async with http.get(f"{worker.url}/readyz") as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    await wait_until(
        ready, f"worker {worker.name} to be ready", pids=[worker.proc.pid], interval=0.2
    )


async def _leader(redis: Redis, prefix: str) -> str | None:
    value = await redis.get(f"{prefix}:leader:scheduler")
    text = value.decode() if value else None
    # "host:pid:term"; a "host:pid:pending" value exists for an instant during acquisition.
    return text if text and text.rsplit(":", 1)[-1].isdigit() else None


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_url() as url:
        yield url


async def test_two_workers_and_a_scheduler_survive_a_kill(
    tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    database = Database(pg_url)
    try:
        await database.upgrade()
    finally:
        await database.dispose()

    rng = random.Random(7)
    async with FakeBotAPI(token=TOKEN) as api:
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.base_url,
            "DATABASE_URL": pg_url,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": redis_prefix,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_HOST": "127.0.0.1",
            # A dead worker blocks its chats (and its claimed updates) for this long only. Long
            # enough that a live worker on a loaded machine does not outlive its own lock (then
            # the other worker could run the same update again: a doubled reply).
            "CHAT_LOCK_SECONDS": "15",
            # The guard's semantic layer embeds the forbidden list at start: CPU the test does
            # not exercise (bot replies are checked lexically).
            "GUARD_ENCODER": "off",
            "INTENT_ENCODER": "off",
            "LEADER_TTL_SECONDS": "3",
            "LEADER_POLL_SECONDS": "0.5",
            "CAREBOT_CONFIG": str(tmp_path / "absent.toml"),
            # 25 messages per customer in ~30 s is a load test, not a flood to be throttled.
            "STAFF__FLOOD_PER_MINUTE": "10000",
        }
        workers = [
            Worker(name, port, _spawn(
                ["webhook", "serve", "--port", str(port), "--no-upgrade", "--no-scheduler"],
                env, tmp_path / f"worker-{name}.log",
            ))
            for name, port in (("A", _free_port()), ("B", _free_port()))
        ]  # fmt: skip
        schedulers = [
            _spawn(["webhook", "scheduler"], env, tmp_path / f"scheduler-{i}.log") for i in (1, 2)
        ]
        redis = Redis.from_url(redis_url)
        # A hang detector only: a slow answer is retried on the other worker (at-least-once).
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        try:
            for worker in workers:
                await _wait_ready(http, worker)
            report = await _drive(api, http, workers, rng, tmp_path)
            await _check_leader_failover(redis, redis_prefix, schedulers)
        finally:
            await http.close()
            await redis.aclose()
            for proc in [w.proc for w in workers] + schedulers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in [w.proc for w in workers] + schedulers:
                # Awaited, not proc.wait(): the fake Bot API on this loop must keep answering
                # while the workers shut down gracefully.
                try:
                    await wait_until(
                        lambda proc=proc: proc.poll() is not None,
                        f"process {proc.pid} to exit",
                        pids=[proc.pid],
                        interval=0.1,
                    )
                except Stalled:
                    proc.kill()
                    proc.wait()
    print(json.dumps(report))
    # Graceful stop of the survivor: SIGTERM exit code 0.
    assert workers[1].proc.returncode == 0, (tmp_path / "worker-B.log").read_text()[-3000:]


async def _drive(
    api: FakeBotAPI,
    http: aiohttp.ClientSession,
    workers: list[Worker],
    rng: random.Random,
    tmp_path: Path,
) -> dict[str, Any]:
    # Learn each question's answer from one probe customer (replies depend on the text only).
    answers: dict[str, str] = {}
    probe_id = 10_000_000
    for question in QUESTIONS:
        before = len(api.calls_of("sendMessage"))
        update_id = rng.randrange(1, 2**31)
        update = text_update(probe_id, question, first_name="Ann", update_id=update_id)
        await _deliver(http, workers, update, rng)
        calls = api.calls_of("sendMessage")
        assert len(calls) == before + 1
        answers[question] = calls[-1].params["text"]
    assert len(set(answers.values())) == len(QUESTIONS), answers

    # Update ids: unique but in no particular order (Telegram's are not monotonic either).
    ids = iter(rng.sample(range(1, 2**31), CUSTOMERS * PER_CUSTOMER))
    chats: dict[int, list[dict[str, Any]]] = {}
    for n in range(CUSTOMERS):
        chat_id = 20_000_000 + n
        chats[chat_id] = [
            text_update(chat_id, QUESTIONS[i % len(QUESTIONS)], first_name="Ann",
                        update_id=next(ids))
            for i in range(PER_CUSTOMER)
        ]  # fmt: skip

    acked = 0
    killed_at: float | None = None
    ambiguous: set[int] = set()
    kill_lock = asyncio.Lock()
    started = time.monotonic()

    async def maybe_kill() -> None:
        nonlocal killed_at
        async with kill_lock:
            if killed_at is None and acked >= KILL_AFTER:
                victim = workers[0]
                ambiguous.update(victim.open_requests)  # in flight at the moment of death
                victim.proc.send_signal(signal.SIGKILL)
                victim.alive = False
                killed_at = time.monotonic()

    async def stream(chat_ids: list[int]) -> None:
        nonlocal acked
        for chat_id in chat_ids:
            for update in chats[chat_id]:
                roll = rng.random()
                if roll < CONCURRENT_DUP_RATE:
                    await asyncio.gather(
                        _deliver(http, workers, update, rng, first=0),
                        _deliver(http, workers, update, rng, first=1),
                    )
                else:
                    await _deliver(http, workers, update, rng)
                if roll > 1 - REPEAT_RATE:
                    await _deliver(http, workers, update, rng)  # Telegram's retry, later
                acked += 1
                await maybe_kill()

    order = list(chats)
    rng.shuffle(order)
    groups = [order[i::STREAMS] for i in range(STREAMS)]
    await finish(
        asyncio.gather(*(stream(g) for g in groups)),
        "the updates to be acknowledged",
        value=lambda: acked,
        pids=lambda: [w.proc.pid for w in workers if w.alive],
    )
    elapsed = time.monotonic() - started
    assert killed_at is not None

    # Every chat: exactly its answers, in order; a doubled reply only for an update that the
    # killed worker was handling when it died.
    replies: dict[int, list[str]] = defaultdict(list)
    for call in api.calls_of("sendMessage"):
        if call.ok:
            replies[int(call.params["chat_id"])].append(call.params["text"])
    doubled = 0
    for chat_id, updates in chats.items():
        got = replies[chat_id]
        expected = [answers[u["message"]["text"]] for u in updates]
        position = 0
        for update, answer in zip(updates, expected, strict=True):
            assert position < len(got) and got[position] == answer, (
                f"chat {chat_id}: update {update['update_id']} lost or out of order"
            )
            position += 1
            if position < len(got) and got[position] == answer and update["update_id"] in ambiguous:
                doubled += 1
                position += 1
        assert position == len(got), f"chat {chat_id}: {len(got) - position} extra replies"
    assert doubled <= len(ambiguous)
    return {
        "updates": CUSTOMERS * PER_CUSTOMER,
        "seconds": round(elapsed, 1),
        "updates_per_s": round(CUSTOMERS * PER_CUSTOMER / elapsed, 1),
        "in_flight_at_kill": len(ambiguous),
        "answered_twice_in_crash_window": doubled,
    }


async def _deliver(
    http: aiohttp.ClientSession,
    workers: list[Worker],
    update: dict[str, Any],
    rng: random.Random,
    first: int | None = None,
) -> None:
    """Post until a worker answers 200, switching workers after each failure (at-least-once)."""
    index = rng.randrange(2) if first is None else first
    body = json.dumps(update)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    progress = Progress(
        f"update {update['update_id']} to be acknowledged",
        pids=lambda: [w.proc.pid for w in workers if w.alive],
    )
    while True:
        progress.check()
        worker = workers[index % 2]
        index += 1
        if not worker.alive:
            continue
        update_id = int(update["update_id"])
        worker.open_requests.add(update_id)
        try:
            async with http.post(f"{worker.url}/telegram", data=body, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    return
                assert response.status in (500, 503), response.status
        except (aiohttp.ClientError, TimeoutError):
            pass
        finally:
            worker.open_requests.discard(update_id)
        await asyncio.sleep(0.2)


async def _check_leader_failover(
    redis: Redis, prefix: str, schedulers: list[subprocess.Popen[bytes]]
) -> None:
    holder = await _leader(redis, prefix)
    assert holder is not None, "a scheduler holds the leader lock"
    pids = {str(p.pid): p for p in schedulers}
    leader_pid = holder.split(":")[-2]
    assert leader_pid in pids
    term = int(holder.split(":")[-1])
    pids[leader_pid].send_signal(signal.SIGKILL)
    standbys = [p.pid for p in schedulers if str(p.pid) != leader_pid]

    async def taken_over() -> str | None:
        holder = await _leader(redis, prefix)
        return holder if holder and holder.split(":")[-2] != leader_pid else None

    # The standby polls the lock twice a second and takes it once the dead leader's TTL runs
    # out: an idle wait, so the stall window is the default minute, far above the 3 s TTL.
    holder = await wait_until(taken_over, "a standby to take over", pids=standbys, interval=0.2)
    assert int(holder.split(":")[-1]) > term, "the new leader has a larger fencing token"
