"""Builders for the care-greeting use cases, from the full `Services` or a lean context.

The campaign use cases need only settings, the database, the script library, the guard,
the renderer and a clock (`CareContext`). `build_campaign_services` makes exactly those,
without the intent engine (which trains a scikit-learn model at load, ~90 MB) or Redis,
so a broadcast worker (`carebot campaign send`, the benchmark) stays small; the chat
process passes its full `Services`, which satisfies the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from care.outreach.campaigns import CampaignDesk
from care.outreach.sender import CampaignSender, ProgressFn, SendFn, Timer
from care.runtime.settings import Settings
from scripts import Guard, Renderer, ScriptLibrary
from storage import Database

__all__ = [
    "CampaignServices",
    "CareContext",
    "build_campaign_services",
    "campaign_desk",
    "campaign_sender",
]


class CareContext(Protocol):
    """What the campaign use cases read; `care.runtime.services.Services` provides it too."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def library(self) -> ScriptLibrary: ...

    @property
    def guard(self) -> Guard: ...

    @property
    def renderer(self) -> Renderer: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


@dataclass(slots=True)
class CampaignServices:
    """The lean context of a broadcast worker; `aclose()` disposes the database."""

    settings: Settings
    database: Database
    library: ScriptLibrary
    guard: Guard
    renderer: Renderer
    clock: Callable[[], datetime]

    async def aclose(self) -> None:
        await self.database.dispose()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_campaign_services(
    settings: Settings, *, clock: Callable[[], datetime] = _utc_now
) -> CampaignServices:
    """Database, scripts and guard only: no intent engine, no Redis."""
    # The guard must normalise text exactly as the matcher does; `normalize` is a plain
    # function (OpenCC + unicodedata), importing it does not build the intent model.
    from intents import normalize

    library = ScriptLibrary.load(settings.scripts_dirs, key_file=settings.approval_key_file)
    guard = Guard.from_file(settings.forbidden_path, normalize=normalize)
    return CampaignServices(
        settings=settings,
        database=Database(settings.database_url),
        library=library,
        guard=guard,
        renderer=Renderer(library, guard, traditional=settings.traditional_variant),
        clock=clock,
    )


def campaign_desk(services: CareContext) -> CampaignDesk:
    return CampaignDesk(
        settings=services.settings,
        database=services.database,
        library=services.library,
        guard=services.guard,
        renderer=services.renderer,
        clock=services.clock,
    )


def campaign_sender(
    services: CareContext,
    send: SendFn,
    *,
    timer: Timer | None = None,
    on_progress: ProgressFn | None = None,
) -> CampaignSender:
    return CampaignSender(
        database=services.database,
        renderer=services.renderer,
        care=services.settings.care,
        send=send,
        business_name=services.settings.business_name,
        default_zone=ZoneInfo(services.settings.timezone),
        timer=timer,
        on_progress=on_progress,
    )
