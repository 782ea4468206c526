"""Builders for the care-greeting use cases from the shared `Services` context."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from care.campaigns import CampaignDesk
from care.sender import CampaignSender, ProgressFn, SendFn, Timer
from care.services import Services

__all__ = ["campaign_desk", "campaign_sender"]


def campaign_desk(services: Services) -> CampaignDesk:
    return CampaignDesk(
        settings=services.settings,
        database=services.database,
        library=services.library,
        guard=services.guard,
        renderer=services.renderer,
        clock=services.clock,
    )


def campaign_sender(
    services: Services,
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
