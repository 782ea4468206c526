"""Care-greeting settings (`[care]` in carebot.toml, `CARE__...` in the environment).

Kept apart from `care.runtime.settings` so the greeting feature's knobs read as one block:
tier rules, quiet hours, pacing, birthday automation and the operator's own dates.
"""

from __future__ import annotations

from datetime import date, time

from pydantic import BaseModel, Field, field_validator, model_validator

__all__ = ["CareSettings", "CustomOccasion", "TierRules"]


class TierRules(BaseModel):
    """ABC analysis: a value score = weighted sum of normalised spend, visits and referrals.

    Each metric is divided by its maximum over all customers (so weights compare like with
    like); customers are ranked by score; the top `gold_share` are gold, the next
    `silver_share` silver, the rest regular. Data first, intuition second: staff can still
    pin a customer with a manual override (`tier_override`), which recomputation never
    touches.
    """

    spend_weight: float = Field(default=0.6, ge=0)
    visits_weight: float = Field(default=0.25, ge=0)
    referrals_weight: float = Field(default=0.15, ge=0)
    gold_share: float = Field(default=0.2, ge=0, le=1)
    silver_share: float = Field(default=0.3, ge=0, le=1)
    # A customer with no spend, visits or referrals at all is never gold or silver.
    min_score: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _shares(self) -> TierRules:
        if self.gold_share + self.silver_share > 1:
            raise ValueError("gold_share + silver_share must be at most 1")
        if self.spend_weight + self.visits_weight + self.referrals_weight <= 0:
            raise ValueError("at least one tier weight must be positive")
        return self


class CustomOccasion(BaseModel):
    """A business date of the operator's own (shop anniversary, member day...)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    name_en: str | None = None

    @model_validator(mode="after")
    def _real_day(self) -> CustomOccasion:
        date(2024, self.month, self.day)  # leap year: 29 Feb allowed; raises on 31 Apr etc.
        return self


class CareSettings(BaseModel):
    """Everything about care greetings; see README 'Care greetings'."""

    tiers: TierRules = Field(default_factory=TierRules)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    # Telegram's broadcast limit is about 30 messages/s; 25 leaves room for chat replies.
    rate_per_second: float = Field(default=25.0, gt=0, le=30)
    paid_broadcast: bool = False
    paid_rate_per_second: float = Field(default=1000.0, gt=0, le=1000)
    per_chat_interval_seconds: float = Field(default=1.0, ge=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    retry_backoff_seconds: float = Field(default=2.0, ge=0)
    max_in_flight: int = Field(default=64, ge=1, le=1000)
    birthday_greetings: bool = False
    birthday_send_time: time = time(10, 0)
    gold_personal_call: bool = True
    custom_dates: list[CustomOccasion] = Field(default_factory=list)
    # How often the leader's scheduler looks for campaigns scheduled elsewhere (CLI, admin
    # console in another worker) that have no job yet.
    sync_seconds: float = Field(default=15.0, gt=0, le=3600)
    # Where the file leader lock lives (default: next to the SQLite database).
    lock_dir: str | None = None

    @field_validator("quiet_start", "quiet_end", "birthday_send_time", mode="before")
    @classmethod
    def _hhmm(cls, value: object) -> object:
        if isinstance(value, str) and len(value) <= 5 and ":" in value:
            hours, minutes = value.split(":")
            return time(int(hours), int(minutes))
        return value

    def rate(self, paid: bool) -> float:
        """Messages per second for a campaign (paid broadcasts are billed by Telegram)."""
        return self.paid_rate_per_second if paid else self.rate_per_second
