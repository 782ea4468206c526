"""What the care layer hands back to the edge: rendered text plus optional buttons.

Framework-free on purpose: `bot/` turns a `Reply` into a Telegram message with an
inline keyboard, the console demo prints it, tests read it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intents import well_formed
from scripts import Rendered

__all__ = ["Button", "Inbound", "Reply"]


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: its (rendered, approved) label and the callback data it sends."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One outgoing message: an approved, guarded rendering and its buttons (rows of one)."""

    rendered: Rendered
    buttons: tuple[Button, ...] = ()

    @property
    def text(self) -> str:
        """HTML text, safe for Telegram's parse_mode=HTML."""
        return self.rendered.text


@dataclass(frozen=True, slots=True)
class Inbound:
    """A customer's message as the care layer sees it, independent of Telegram types.

    `text` is None for media; `content_type` names what arrived (text, photo, sticker...).
    """

    telegram_id: int
    first_name: str
    content_type: str
    text: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    message_id: int | None = None
    caption: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Update JSON may carry lone surrogates ("\ud83d"), which no UTF-8 encoder (OpenCC,
        # the database driver, the Bot API) accepts: repaired once, at the door. NULs stay
        # (storage keeps them verbatim; language detection ignores them).
        for name in ("first_name", "text", "last_name", "username", "caption"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, well_formed(value))
