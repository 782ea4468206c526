"""What the bot says to a customer: the inquiry / complaint / feedback flow.

Each public method is one use case called by a thin handler in `bot/`.  It records
the inbound message, decides the answer (FAQ, complaint ticket, thanks, menu), and
returns a `Turn`: the replies to send and what the next message is expected to be.
Nothing here talks to Telegram; every word comes from an approved script.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from care.desk.business_hours import format_back_at
from care.desk.lifecycle import is_held, move
from care.desk.tickets import TicketDesk
from care.replies import Button, Inbound, Reply
from care.runtime.settings import Settings
from care.salutation import salutation
from care.timefmt import format_deadline
from care.uow import Repos
from intents import IntentEngine, Match, detect_language, normalize
from scripts import Renderer
from storage import ContentType, Customer, Ticket

__all__ = ["MENU_CHOICES", "Conversation", "Turn"]

#: Menu button -> what the customer's next text message will be treated as.
MENU_CHOICES = ("inquiry", "complaint", "feedback", "human")

_TELEGRAM_LANGUAGES = {
    "zh-hant": "zh-Hant",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant",
}


@dataclass(slots=True)
class Turn:
    """The outcome of one customer update."""

    customer_id: int
    replies: list[Reply] = field(default_factory=list)
    #: The flow step the next text message answers (a menu choice), or None.
    expecting: str | None = None
    ticket: Ticket | None = None
    #: For metrics: the matched intent id ("none" when nothing matched) and whether this
    #: turn opened a new ticket.
    intent: str | None = None
    ticket_opened: bool = False
    #: Staff takeover: the inbound message belongs to this escalated ticket and is copied
    #: into its staff topic (`ticket` is then set); `held` = a human holds the ticket, so
    #: the bot stays silent and only relays.
    relay: bool = False
    held: bool = False


@dataclass(slots=True)
class Conversation:
    """The customer-facing use cases; built once, shared by all updates."""

    settings: Settings
    intents: IntentEngine
    renderer: Renderer
    desk: TicketDesk
    clock: Callable[[], datetime]

    # -- use cases ---------------------------------------------------------------

    async def start(self, repos: Repos, inbound: Inbound) -> Turn:
        """/start: welcome plus the menu."""
        customer = await self._customer(repos, inbound)
        self._log_inbound(repos, customer, inbound)
        turn = Turn(_id(customer))
        turn.replies.append(self._say(customer, "welcome"))
        turn.replies.append(self._menu(customer))
        return turn

    async def message(
        self, repos: Repos, inbound: Inbound, *, expecting: str | None = None
    ) -> Turn:
        """Any customer message: text is matched, media gets a polite reply.

        Takeover: a banned customer gets no answer; while a human holds the customer's
        ticket the message is only logged and relayed (no bot reply); once a ticket has a
        staff topic, everything the customer sends is relayed there too.

        Database round trips are counted (a test pins them): one customer upsert, one
        open-ticket lookup shared by every step below, and the inbound log row is only
        queued - it is written with the replies' rows when the update commits.
        """
        customer = await self._customer(repos, inbound)
        turn = Turn(_id(customer))
        if customer.banned:
            self._log_inbound(repos, customer, inbound)
            return turn
        current = await repos.tickets.open_for_customer(_id(customer))
        if current is not None and is_held(current):
            self._log_inbound(repos, customer, inbound, ticket=current)
            await repos.tickets.set_status(
                current, move(current.status, "customer_reply"), self.clock()
            )
            turn.ticket, turn.relay, turn.held = current, True, True
            turn.expecting = expecting
            return turn
        escalated = current if current is not None and current.topic_id is not None else None
        if inbound.text is None:
            self._log_inbound(repos, customer, inbound, ticket=escalated)
            if escalated is not None:
                turn.ticket, turn.relay = escalated, True
                context = {"ticket_number": escalated.number}
                turn.replies.append(self._say(customer, "ticket.media_received", context))
                return turn
            turn.replies.append(self._say(customer, "media.unsupported"))
            turn.expecting = expecting
            return turn
        text = inbound.text
        if len(text) > self.settings.max_message_chars:
            self._log_inbound(repos, customer, inbound)
            turn.replies.append(self._say(customer, "text.too_long"))
            return turn
        # amatch: the sentence encoder, when the cascade needs it, runs off the event loop.
        match = await self.intents.amatch(text) if normalize(text) else None
        kind = self._decide(match, expecting)
        turn.intent = (match.intent if match else None) or "none"
        if kind in ("complaint", "handoff"):
            ticket_kind = "complaint" if kind == "complaint" else "inquiry"
            ticket, opened = await self.desk.open_or_reuse(
                repos,
                customer,
                ticket_kind,
                text,
                self.clock(),
                any_kind=kind == "handoff",
                current=current,
            )
            # Logged once the ticket is known, so the row is inserted with its ticket_id
            # (logging first would cost an INSERT now and an UPDATE later).
            self._log_inbound(repos, customer, inbound, match, ticket=ticket)
            turn.ticket_opened = bool(opened)
            turn.ticket, turn.relay = ticket, True
            script = "complaint.ack" if kind == "complaint" else "handoff.ack"
            turn.replies.append(self._say(customer, script, self._ticket_context(customer, ticket)))
            if opened or kind == "handoff":
                turn.replies.extend(self._away(customer))
            return turn
        # Staff see the whole conversation in the topic, answered by the bot or not.
        self._log_inbound(repos, customer, inbound, match, ticket=escalated)
        if escalated is not None:
            turn.ticket, turn.relay = escalated, True
        if kind == "feedback":
            turn.replies.append(self._say(customer, "feedback.thanks"))
            return turn
        if kind == "faq" and match is not None and match.script:
            turn.replies.append(self._say(customer, match.script))
            return turn
        if kind == "inquiry":
            turn.replies.append(self._say(customer, "inquiry.clarify"))
            turn.replies.append(self._menu(customer))
            return turn
        turn.replies.append(self._menu(customer))
        return turn

    async def menu_choice(self, repos: Repos, inbound: Inbound, choice: str) -> Turn:
        """A menu button: ask for the details, or hand over to a person at once."""
        if choice == "human":
            # The press itself asks for a person: `message`'s handoff path, with the press's
            # own Inbound - a rebuilt one lost the username and last name, and the customer
            # upsert then erased them just as the ticket card needed them.
            return await self.message(repos, inbound, expecting="handoff")
        customer = await self._customer(repos, inbound)
        self._log_inbound(repos, customer, inbound)
        turn = Turn(_id(customer), expecting=choice if choice in MENU_CHOICES else None)
        prompt = {"inquiry": "inquiry.prompt", "complaint": "complaint.prompt"}.get(
            choice, "feedback.prompt"
        )
        turn.replies.append(self._say(customer, prompt if turn.expecting else "menu.prompt"))
        return turn

    async def record_sent(
        self, repos: Repos, turn: Turn, reply: Reply, telegram_message_id: int | None
    ) -> None:
        """Log one delivered reply with its script id and version.

        Queued, not flushed: a turn's replies and its inbound message reach the database as
        one batched INSERT at the commit instead of one round trip each.
        """
        repos.messages.add(
            customer_id=turn.customer_id,
            direction="out",
            content_type="text",
            text=reply.rendered.plain,
            script_id=reply.rendered.script_id,
            script_version=reply.rendered.version,
            telegram_message_id=telegram_message_id,
            ticket_id=turn.ticket.id if turn.ticket else None,
            now=self.clock(),
        )

    # -- decisions ---------------------------------------------------------------

    @staticmethod
    def _decide(match: Match | None, expecting: str | None) -> str | None:
        """The flow to run: complaint, handoff, feedback, faq, inquiry or None (menu).

        A menu choice tells us what the customer meant to write, but a clear request
        for a person, or a complaint typed after choosing "inquiry", still wins.
        """
        kind = match.kind if match and match.intent else None
        if kind in ("handoff", "complaint") or expecting == "handoff":
            return kind if kind in ("handoff", "complaint") else "handoff"
        if expecting in ("complaint", "feedback"):
            return expecting
        if expecting == "inquiry" and kind != "faq":
            return "inquiry"
        if kind == "greeting":
            return None
        return kind

    # -- helpers -----------------------------------------------------------------

    async def _customer(self, repos: Repos, inbound: Inbound) -> Customer:
        """Create or refresh the customer, switch its language and stamp the contact time -
        one statement (the repository's upsert) for what used to be four."""
        # Only words the customer wrote say which language they use; callback data
        # ("menu:complaint") and media without caption say nothing, and neither does text
        # without letters (detect_language's default "" = keep the stored language), nor a
        # slash command: "/stop" from a customer who writes Chinese is not English.
        written = None if inbound.content_type == "callback" else inbound.text or inbound.caption
        if written is not None and written.startswith("/"):
            written = written.partition(" ")[2]  # "/start 你好": only what follows counts
        language = detect_language(written, default="") if written else ""
        return await repos.customers.upsert_from_telegram(
            inbound.telegram_id,
            inbound.first_name,
            last_name=inbound.last_name,
            username=inbound.username,
            language=self._initial_language(inbound.language_code),
            written_language=language or None,
            contact_at=self.clock(),
        )

    def _initial_language(self, code: str | None) -> str:
        if not code:
            return self.settings.default_language
        code = code.casefold()
        if code in _TELEGRAM_LANGUAGES:
            return _TELEGRAM_LANGUAGES[code]
        if code.startswith("zh"):
            return "zh-Hans"
        if code.startswith("en"):
            return "en"
        return self.settings.default_language

    def _log_inbound(
        self,
        repos: Repos,
        customer: Customer,
        inbound: Inbound,
        match: Match | None = None,
        *,
        ticket: Ticket | None = None,
    ) -> None:
        """Queue the inbound row (written with the turn's replies at the commit)."""
        known = inbound.content_type in ContentType._value2member_map_
        repos.messages.add(
            customer_id=_id(customer),
            direction="in",
            # Telegram has dozens of content types (polls, dice, contacts...); the log keeps
            # the ones care distinguishes and files the rest as "other".
            content_type=inbound.content_type if known else ContentType.OTHER,
            text=inbound.text if inbound.text is not None else inbound.caption,
            intent=match.intent if match else None,
            score=match.score if match else None,
            telegram_message_id=inbound.message_id,
            ticket_id=ticket.id if ticket is not None else None,
            now=self.clock(),
        )

    def _context(self, customer: Customer) -> dict[str, object]:
        return {
            "salutation": salutation(
                customer.language,
                surname=customer.surname,
                title=customer.title,
                first_name=customer.first_name,
            ),
            "first_name": customer.first_name or "",
            "business_name": self.settings.business_name,
        }

    def _ticket_context(self, customer: Customer, ticket: Ticket) -> dict[str, object]:
        now, zone = self.clock(), self.settings.zone
        return {
            "ticket_number": ticket.number,
            "first_response_due": format_deadline(
                ticket.first_response_due, now, zone, customer.language
            ),
            "resolution_due": format_deadline(ticket.resolution_due, now, zone, customer.language),
        }

    def _say(
        self, customer: Customer, script_id: str, extra: Mapping[str, object] | None = None
    ) -> Reply:
        context = self._context(customer)
        if extra:
            context.update(extra)
        return Reply(self.renderer.render(script_id, customer.language, context))

    def _away(self, customer: Customer) -> list[Reply]:
        """Outside business hours: when staff will be back (the SLA clock is paused till then)."""
        now = self.clock()
        calendar = self.desk.calendar
        if calendar.is_open(now):
            return []
        back = format_back_at(calendar.next_open(now), now, self.settings.zone, customer.language)
        return [self._say(customer, "staff.away", {"back_at": back})]

    def _menu(self, customer: Customer) -> Reply:
        buttons = tuple(
            Button(self._say(customer, f"menu.button.{choice}").rendered.plain, f"menu:{choice}")
            for choice in MENU_CHOICES
        )
        return Reply(self._say(customer, "menu.prompt").rendered, buttons)


def _id(row: Customer) -> int:
    """The primary key of a row that has been flushed (repositories flush on create)."""
    if row.id is None:  # pragma: no cover - a repository bug, not a runtime condition
        raise RuntimeError("customer row was not flushed")
    return row.id
