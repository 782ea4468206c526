"""Ways to reach the Bot API: the lean broadcast client (`bot_api`, no aiogram), the in-process
session (`local_session`) and the console demo (`console`). Re-exports nothing, so importing
`bot.transports.bot_api` never loads aiogram.
"""

from __future__ import annotations

__all__: list[str] = []
