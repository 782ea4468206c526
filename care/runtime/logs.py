"""Structured logs: a JSON formatter and the context (update id, ticket number) on every line.

The context travels in `contextvars`, so concurrent updates on one event loop never mix
their ids, and code deep in `care` can tag the ticket it works on without passing loggers
around. `configure_logging` is called once by the CLI; tests never call it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "ContextFilter",
    "JsonFormatter",
    "configure_logging",
    "log_context",
    "set_ticket",
]

_update_id: ContextVar[int | None] = ContextVar("carebot_update_id", default=None)
_ticket: ContextVar[str | None] = ContextVar("carebot_ticket", default=None)
_chat_id: ContextVar[int | None] = ContextVar("carebot_chat_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [u=%(update_id)s t=%(ticket)s]: %(message)s"


@contextmanager
def log_context(*, update_id: int | None = None, chat_id: int | None = None) -> Iterator[None]:
    """Tag every log line inside the block with this update (restored on exit)."""
    tokens = (_update_id.set(update_id), _chat_id.set(chat_id), _ticket.set(None))
    try:
        yield
    finally:
        _ticket.reset(tokens[2])
        _chat_id.reset(tokens[1])
        _update_id.reset(tokens[0])


def set_ticket(number: str | None) -> None:
    """Tag the rest of the current update's log lines with a ticket number."""
    _ticket.set(number)


class ContextFilter(logging.Filter):
    """Copies the context variables onto each record (so any formatter can use them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.update_id = _update_id.get()
        record.ticket = _ticket.get()
        record.chat_id = _chat_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update_id, ticket, chat_id."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("update_id", "ticket", "chat_id"):
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(level: str = "WARNING", fmt: Literal["text", "json"] = "text") -> None:
    """Root logging for a carebot process: one stderr handler, context on every line."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
