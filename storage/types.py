"""Portable column types: aware-UTC datetimes, money, string enums and verbatim text.

Every type here renders as a plain, portable SQL type (``DATETIME``/``timestamptz``,
``NUMERIC``, ``VARCHAR``, ``TEXT``), so migrations can use the bare SQLAlchemy types and the
same revision files work on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Numeric, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["Money", "StrEnumType", "UTCDateTime", "VerbatimText", "utcnow"]


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind storage accepts)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that is always aware UTC in Python.

    SQLite has no time zones, so values are stored there as naive UTC; PostgreSQL gets
    ``timestamptz``. Naive datetimes are rejected on the way in: guessing their zone is how
    off-by-eight-hours bugs are born.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: storage needs timezone-aware values")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """``NUMERIC(14, 2)`` that always loads as a two-place ``Decimal``.

    SQLite has no decimal type; SQLAlchemy warns (an error under our test settings) when asked
    for Decimals there, so SQLite reads floats and we quantize them: with two places and
    fewer than 15 significant digits the float's shortest repr is the exact decimal.
    """

    impl = Numeric(14, 2)
    cache_ok = True
    _CENT = Decimal("0.01")

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(14, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(14, 2))

    def process_bind_param(self, value: Decimal | float | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(str(value)).quantize(self._CENT)
        return float(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(self._CENT)


class StrEnumType(TypeDecorator[StrEnum]):
    """A ``StrEnum`` stored as a plain ``VARCHAR`` (no native PG enum: adding values later must
    not need an ``ALTER TYPE``). Loads back as the enum member."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        # Validates plain strings too, so a typo fails at write time, not at read time.
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        if value is None:
            return None
        return self.enum_class(value)

    @property
    def python_type(self) -> type[Any]:
        return self.enum_class


# PostgreSQL text cannot hold NUL, yet messages must round-trip verbatim. On PostgreSQL only,
# NUL is escaped with a private-use sentinel (and the sentinel itself doubled), which is
# reversible and leaves every other character (and SQLite data) untouched.
_SENTINEL = "\ue000"
_UNESCAPE = re.compile(f"{_SENTINEL}(.)", re.DOTALL)


def _escape_nul(text: str) -> str:
    if "\x00" not in text and _SENTINEL not in text:
        return text
    return text.replace(_SENTINEL, _SENTINEL * 2).replace("\x00", _SENTINEL + "0")


def _unescape_nul(text: str) -> str:
    if _SENTINEL not in text:
        return text
    return _UNESCAPE.sub(lambda m: "\x00" if m.group(1) == "0" else m.group(1), text)


class VerbatimText(TypeDecorator[str]):
    """``TEXT`` that round-trips any Python string, NUL included, on every backend."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or dialect.name != "postgresql":
            return value
        return _escape_nul(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or dialect.name != "postgresql":
            return value
        return _unescape_nul(value)
