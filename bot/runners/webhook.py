"""`carebot webhook serve`: an aiohttp server feeding Telegram's webhook to the dispatcher.

Map of this module:

* `CareRequestHandler` - aiogram's `SimpleRequestHandler`, processing *synchronously*: Telegram
  gets its 200 only after the update was handled and committed (at-least-once). Statuses:
  401 wrong/missing secret, 400 malformed JSON or not an update, 413 body over the limit,
  200 for unknown update types (ignored) and duplicates, 503 while not ready or while another
  worker holds the same update, 500 when handling failed (Telegram retries).
* `WebhookWorker` - the process: HTTP server first (so /healthz answers at once), then the
  database is prepared in the background with backoff (a down database never crash-loops the
  worker), then the helpers shared with polling mode (`bot.runners.runtime.BotRuntime`: the
  leader campaign, the content watch, the staff outbox), and a graceful shutdown that stops
  accepting, then lets the runtime finish in-flight updates, drain queues and close everything.
* Routes: ``POST {WEBHOOK_PATH}``, ``GET /healthz`` (process alive), ``GET /readyz`` (database
  and Redis answer), ``GET /metrics`` (Prometheus text format).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal

from aiogram import Bot
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.app import build_bot, build_dispatcher
from bot.inflight import CareDispatcher, InFlight
from bot.middlewares import UpdateBusy
from bot.runners.runtime import DRAIN_SECONDS, BotRuntime
from bot.telemetry import instrument_bot
from care.runtime.leadership import LeaderLock
from care.runtime.metrics import CONTENT_TYPE_LATEST
from care.runtime.services import Services, build_services
from care.runtime.settings import Settings

__all__ = ["CareRequestHandler", "WebhookWorker", "build_app", "serve"]

log = logging.getLogger("carebot.webhook")

#: Readiness probes must answer quickly even when a dependency hangs.
PROBE_TIMEOUT = 2.0

_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_RETRY = {"Retry-After": "5"}


class CareRequestHandler(SimpleRequestHandler):
    """Verifies the secret, validates the body, then handles the update before answering."""

    def __init__(self, worker: WebhookWorker) -> None:
        secret = worker.settings.webhook_secret
        super().__init__(
            dispatcher=worker.dispatcher,
            bot=worker.bot,
            handle_in_background=False,
            secret_token=secret.get_secret_value() if secret else None,
        )
        self.worker = worker

    async def close(self) -> None:
        # aiogram closes the bot session from the app's on_shutdown, i.e. *before* in-flight
        # requests finish - their replies would fail. The worker closes it after draining.
        return None

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        # Fail closed: a worker started without WEBHOOK_SECRET accepts nothing (the CLI refuses
        # to start that way; this guards programmatic use).
        if not self.secret_token:
            return False
        return super().verify_secret(telegram_secret_token, bot)

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(_SECRET_HEADER, ""), bot):
            return web.Response(status=401, text="Unauthorized")
        if not self.worker.prepared.is_set() or self.worker.stopping:
            return web.Response(status=503, text="not ready", headers=_RETRY)
        try:
            raw = await request.read()  # raises 413 past the app's client_max_size
            payload = json.loads(raw)
        except web.HTTPRequestEntityTooLarge:
            raise
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="malformed JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not a Telegram update")
        try:
            update = Update.model_validate(payload, context={"bot": bot})
        except ValidationError:
            return web.Response(status=400, text="not a Telegram update")
        try:
            _ = update.event_type
        except UpdateTypeLookupError:
            # A newer Bot API than this aiogram knows: acknowledge, or Telegram retries forever.
            log.warning("update %d has an unknown type; ignored", update.update_id)
            self.worker.services.metrics.updates.labels("unknown_type").inc()
            return web.json_response({})
        return await self._process(bot, update)

    async def _process(self, bot: Bot, update: Update) -> web.Response:
        try:
            await self.dispatcher.feed_update(bot, update, **self.data)
        except UpdateBusy:
            return web.Response(status=503, text="in progress elsewhere", headers=_RETRY)
        except (RedisError, OSError) as exc:
            log.warning("update %d not processed (dependency down): %s", update.update_id, exc)
            return web.Response(status=503, text="dependency unavailable")
        except Exception:
            # Not acknowledged: Telegram delivers it again later. Logged with the traceback;
            # the worker stays up.
            log.exception("update %d failed", update.update_id)
            return web.Response(status=500, text="update failed")
        return web.json_response({})


class WebhookWorker:
    """One webhook worker process: settings in, HTTP server and background tasks out."""

    def __init__(
        self,
        settings: Settings,
        *,
        services: Services | None = None,
        bot: Bot | None = None,
        upgrade: bool = True,
        leader: bool = True,
        leader_lock: LeaderLock | None = None,
    ) -> None:
        self.settings = settings
        self.services = services or build_services(settings)
        self.bot = instrument_bot(bot or build_bot(settings), self.services.metrics)
        self.dispatcher: CareDispatcher = build_dispatcher(self.services, dedup=True)
        # Leader duties, content watch, staff outbox: the same helpers as `carebot run`.
        self.runtime = BotRuntime(
            self.bot, self.services, self.dispatcher, leader=leader, lock=leader_lock
        )
        self.upgrade = upgrade
        self.prepared = asyncio.Event()
        self.stopping = False
        self._prepare_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None

    @property
    def inflight(self) -> InFlight:
        return self.dispatcher.inflight

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str | None = None, port: int | None = None) -> int:
        """Listen (port 0 = any free port; returns the bound port) and start background work."""
        app = build_app(self)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=DRAIN_SECONDS)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            host or self.settings.webhook_host,
            self.settings.webhook_port if port is None else port,
        )
        await site.start()
        bound = int(self._runner.addresses[0][1])
        self._prepare_task = asyncio.create_task(self._prepare(), name="carebot-prepare")
        log.warning("webhook worker listening on port %d", bound)
        return bound

    async def _prepare(self) -> None:
        """Migrate (or just wait for) the database with capped backoff, then go ready."""
        delay = 0.5
        while not self.stopping:
            try:
                if self.upgrade:
                    await self.services.database.upgrade()
                elif not await self.services.database.ping(PROBE_TIMEOUT):
                    raise ConnectionError("database unreachable")
                break
            except Exception as exc:  # any failure here means "not yet": logged, retried
                log.warning("database not ready (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
        if self.stopping:
            return
        self.prepared.set()
        self.runtime.start()

    async def stop(self) -> None:
        """Stop accepting, then the shared graceful shutdown (`BotRuntime.aclose`)."""
        self.stopping = True
        if self._runner is not None:
            # Closes the listening socket first, then waits up to shutdown_timeout for the
            # request handlers already running (each one is an update being processed).
            await self._runner.cleanup()
            self._runner = None
        if self._prepare_task is not None:
            try:
                await asyncio.wait_for(self._prepare_task, DRAIN_SECONDS)
            except TimeoutError:
                log.error("database preparation did not stop in time")
        await self.runtime.aclose()

    # -- probes -------------------------------------------------------------------------

    async def ready(self) -> dict[str, bool]:
        """Each dependency's state; ready only when every value is True."""
        checks = {"prepared": self.prepared.is_set() and not self.stopping}
        checks["database"] = await self.services.database.ping(PROBE_TIMEOUT)
        if self.services.redis is not None:
            try:
                async with asyncio.timeout(PROBE_TIMEOUT):
                    checks["redis"] = bool(await self.services.redis.ping())
            except (RedisError, OSError, TimeoutError):
                checks["redis"] = False
        return checks


def build_app(worker: WebhookWorker) -> web.Application:
    """The aiohttp application: webhook route plus health, readiness and metrics."""
    app = web.Application(client_max_size=worker.settings.webhook_max_body_bytes)
    CareRequestHandler(worker).register(app, path=worker.settings.webhook_path)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks = await worker.ready()
        status = 200 if all(checks.values()) else 503
        return web.json_response(checks, status=status)

    async def metrics(_: web.Request) -> web.Response:
        body = worker.services.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(
    settings: Settings,
    *,
    upgrade: bool = True,
    leader: bool = True,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> None:
    """Run one worker until SIGTERM/SIGINT (or `stop`), then shut down gracefully."""
    stop = stop or asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    worker = WebhookWorker(settings, upgrade=upgrade, leader=leader)
    try:
        await worker.start()
        await stop.wait()
        log.warning("stopping: finishing in-flight updates")
    finally:
        await worker.stop()


async def run_leader_only(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """`carebot webhook scheduler`: no HTTP, only the leader campaign and its duties."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    services = build_services(settings)
    runtime = BotRuntime(instrument_bot(build_bot(settings), services.metrics), services)
    try:
        runtime.start()
        await stop.wait()
    finally:
        await runtime.aclose()
