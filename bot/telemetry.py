"""Bot API call metrics: a session request middleware counting 429s and other API errors.

It sits on the Bot's session, so every call is seen - customer replies, staff relays and
campaign sends alike - without touching the code that makes them.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from care.runtime.metrics import Metrics

__all__ = ["ApiMetricsMiddleware", "instrument_bot"]


class ApiMetricsMiddleware(BaseRequestMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.retry_after.inc()
            raise
        except TelegramNetworkError:
            self.metrics.api_errors.labels("network").inc()
            raise
        except TelegramAPIError as exc:
            self.metrics.api_errors.labels(type(exc).__name__).inc()
            raise


def instrument_bot(bot: Bot, metrics: Metrics) -> Bot:
    """Attach the metrics middleware to ``bot``'s session (idempotent per session)."""
    if not any(isinstance(m, ApiMetricsMiddleware) for m in bot.session.middleware):
        bot.session.middleware(ApiMetricsMiddleware(metrics))
    return bot
