"""The ``[reports]`` settings section: when the weekly digest goes out, and where.

>>> ReportSettings(weekly_digest="mon 09:00").digest_slot()
(0, datetime.time(9, 0))
>>> ReportSettings().digest_slot() is None
True
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, field_validator

__all__ = ["ReportSettings"]

_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


class ReportSettings(BaseModel):
    """``weekly_digest = "MON 09:00"`` (business time zone; unset = no digest) is sent to the
    managers (ADMIN_IDS) privately, or to ``digest_chat_id`` instead when set."""

    weekly_digest: str | None = None
    digest_chat_id: int | None = None

    @field_validator("weekly_digest")
    @classmethod
    def _slot(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = value.split()
        try:
            if len(parts) != 2 or parts[0].upper() not in _DAYS:
                raise ValueError
            time.fromisoformat(parts[1])
        except ValueError:
            raise ValueError(f"a weekday and a time like 'MON 09:00', not {value!r}") from None
        return f"{parts[0].upper()} {parts[1]}"

    def digest_slot(self) -> tuple[int, time] | None:
        """(weekday 0=Monday, local time) of the digest, or None when it is off."""
        if self.weekly_digest is None:
            return None
        day, clock = self.weekly_digest.split()
        return _DAYS.index(day), time.fromisoformat(clock)
