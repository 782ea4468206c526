"""Staff-forum settings (`[staff]` in carebot.toml, `STAFF__...` in the environment).

Kept apart from `care.runtime.settings` so the takeover feature's knobs read as one block:
who is alerted at an SLA breach, whether staff reply as the business, the flood limits.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

__all__ = ["StaffSettings", "split_ids"]


def split_ids(value: Any) -> Any:
    """Telegram ids from the environment: "1, 2" or a single id become a list (before parsing)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


class StaffSettings(BaseModel):
    """Everything about the staff forum group; see README 'Staff group'."""

    #: Telegram user ids alerted by private message when an SLA deadline is breached.
    supervisors: Annotated[list[int], NoDecode] = Field(default_factory=list)
    #: Staff replies reach the customer as the business (copyMessage), not signed by name.
    anonymous: bool = True
    #: Language of staff-facing texts (cards, events); None = the default language.
    language: Literal["zh-Hans", "zh-Hant", "en"] | None = None
    #: Per-customer flood control: messages answered per sliding minute (a burst of this
    #: many at once is fine); beyond it messages are still recorded, the customer gets one
    #: polite notice per window and the bot stays quiet until the window frees up.
    flood_per_minute: int = Field(default=30, ge=1)
    #: Telegram allows a group about 20 bot messages per minute; stay at or under it.
    group_per_minute: int = Field(default=20, ge=1)
    #: SLA warning when this share of a deadline's business time has elapsed.
    sla_warn_fraction: float = Field(default=0.8, gt=0, lt=1)
    #: Resolved tickets close (and their topics with them) after this many days without a
    #: reopen, like Zendesk's solved -> closed; 0 keeps them resolved for ever.
    close_resolved_after_days: float = Field(default=4.0, ge=0)
    #: How often the SLA watcher runs.
    sla_check_seconds: float = Field(default=60.0, gt=0)
    #: How long a staff-membership answer (getChatMember) is trusted.
    auth_cache_seconds: float = Field(default=60.0, ge=0)
    #: Lines of recent history on the ticket card.
    card_history: int = Field(default=6, ge=0, le=30)

    @field_validator("supervisors", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        return split_ids(value)
