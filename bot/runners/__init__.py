"""Running the bot: long polling, the webhook server, and the helpers both share (`runtime`)."""

from __future__ import annotations

__all__: list[str] = []
