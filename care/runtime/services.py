"""The typed context of long-lived dependencies, built once at start and passed down.

There are no module-level singletons: `build_services` creates the database, the
intent engine, the script library, the guard and the use cases from one `Settings`
and returns them together; the edge (bot, CLI, tests) owns the result's lifetime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import Redis

from care.desk.conversation import Conversation
from care.desk.macros import MacroDesk
from care.desk.staff import StaffDesk
from care.desk.suggest import SuggestionRanker
from care.desk.tickets import TicketDesk
from care.runtime.content import missing_scripts
from care.runtime.flood import FloodControl, FloodGate, RedisFloodGate
from care.runtime.guarding import build_guard
from care.runtime.metrics import Metrics
from care.runtime.settings import Settings
from care.uow import Repos
from intents import CatalogError, IntentEngine, load_encoder, normalize
from scripts import Guard, Renderer, ScriptLibrary
from storage import Database

__all__ = ["Services", "build_redis", "build_services", "utc_now"]


def utc_now() -> datetime:
    """The real clock (tests pass their own for time travel)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    """Everything a handler or command may need, by name."""

    settings: Settings
    database: Database
    intents: IntentEngine
    library: ScriptLibrary
    guard: Guard
    renderer: Renderer
    conversation: Conversation
    #: Staff takeover: ticket cards, staff actions, guarded relay, CSAT, SLA watcher.
    staff: StaffDesk
    #: Staff macros: /s, previews, the send-once claim.
    macros: MacroDesk
    clock: Callable[[], datetime]
    # Per process: Prometheus counters (no module globals) and the optional shared Redis.
    metrics: Metrics = field(default_factory=Metrics)
    redis: Redis | None = None

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Repos]:
        """One transaction: committed when the block succeeds, rolled back when it raises."""
        async with self.database.transaction() as session:
            yield Repos.bind(session)

    async def aclose(self) -> None:
        self.intents.close()
        await self.database.dispose()
        if self.redis is not None:
            await self.redis.aclose()


def build_services(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Services:
    """Wire the application from settings; raises the leaves' load errors unchanged.

    An intent whose script is not in the library is a `CatalogError` at its file:line.
    """
    database = Database(settings.database_url)
    # One encoder for the intent engine and the suggested replies (loaded once per process).
    encoder = load_encoder(settings.intent_encoder)
    intents = IntentEngine(
        settings.intents_dirs,
        encoder=encoder,
        cache_dir=settings.intents_cache_dir,
    )
    library = ScriptLibrary.load(settings.scripts_dirs, key_file=settings.approval_key_file)
    # An intent answered by a script that does not exist would leave its customers unanswered.
    missing = missing_scripts(intents.specs, library.scripts)
    if missing:
        intents.close()
        raise CatalogError(missing)
    guard = build_guard(settings)
    renderer = Renderer(library, guard, traditional=settings.traditional_variant)
    desk = TicketDesk(settings)
    conversation = Conversation(
        settings=settings,
        intents=intents,
        renderer=renderer,
        desk=desk,
        clock=clock,
    )
    redis = build_redis(settings.redis_url) if settings.redis_url else None
    # With Redis, every worker counts a customer's messages in one shared window.
    limit = settings.staff.flood_per_minute
    flood: FloodControl = (
        RedisFloodGate(redis, prefix=settings.redis_prefix, limit=limit)
        if redis is not None
        else FloodGate(limit=limit)
    )
    staff = StaffDesk.build(settings, renderer, guard, desk, clock, normalize, flood)
    return Services(
        settings=settings,
        database=database,
        intents=intents,
        library=library,
        guard=guard,
        renderer=renderer,
        conversation=conversation,
        staff=staff,
        macros=MacroDesk(
            staff,
            SuggestionRanker(library, encoder, intents=intents),
        ),
        clock=clock,
        redis=redis,
    )


def build_redis(url: str) -> Redis:
    """A Redis client that fails fast (bounded timeouts) instead of hanging an update."""
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
