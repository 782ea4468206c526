"""What the bot says to a customer: the inquiry / complaint / feedback flow.

Each public method is one use case called by a thin handler in `bot/`.  It records
the inbound message, decides the answer (FAQ, complaint ticket, thanks, menu), and
returns a `Turn`: the replies to send and what the next message is expected to be.
Nothing here talks to Telegram; every word comes from an approved script.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from care.desk.business_hours import format_back_at
from care.desk.details import Details, extract
from care.desk.dialogue import Act, Dialogue, act, is_angry, is_praise
from care.desk.lifecycle import escalated_priority, is_held, move
from care.desk.tickets import TicketDesk
from care.replies import Button, Inbound, Reply
from care.runtime.settings import Settings
from care.salutation import salutation
from care.timefmt import format_deadline, format_hours
from care.uow import Repos
from intents import IntentEngine, Match, detect_language, normalize
from scripts import Renderer
from storage import ContentType, Customer, Ticket

__all__ = ["MENU_CHOICES", "Conversation", "Turn"]

#: Menu button -> what the customer's next text message will be treated as.
MENU_CHOICES = ("inquiry", "complaint", "feedback", "human")

#: Slash commands that simply mean "show me the menu"; any other is "not a command here".
_MENU_COMMANDS = frozenset({"menu", "help", "start"})
#: What a reply asked for, by script id (FAQ answers that ask for the order number are
#: recognised by their text, see `_asks`).
_ASKS = {
    "complaint.ack": "details",
    "complaint.ack.later": "details",
    "complaint.prompt": "details",
    "complaint.repeat": "details",
    "inquiry.clarify": "details",
    "handoff.ack": "details",
    "handoff.ack.later": "details",
    "inquiry.prompt": "question",
    "feedback.prompt": "feedback",
}
_ASKED_DETAILS = frozenset({"details", "order_number"})
_ORDER_NUMBER_ASKED = ("订单号", "訂單號", "order number")
#: The complaint count on one open ticket that raises its priority (and tells staff).
_RAISE_AT = 3
#: A complaint this sure is never read as "waiting" ("都三天了还没人理我!").
_CLEAR_COMPLAINT = 70.0

#: Characters only written Cantonese uses: a Hong Kong customer reads Traditional.
_CANTONESE = re.compile("[冇嘅咗喺唔啲嚟佢咁乜嘢咩嗰啱攞睇畀俾噉]")

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
    #: The match score, the conversational act ("waiting", "thanks"...) and the flow that
    #: answered ("complaint_repeat", "details"...): what `carebot demo --trace` shows.
    score: float | None = None
    act: str | None = None
    flow: str | None = None
    #: The customer's conversation state after this turn (the edge stores it).
    dialogue: Dialogue | None = None
    #: Staff-facing notes for the ticket's topic: (script id, context).
    staff_notes: list[tuple[str, dict[str, object]]] = field(default_factory=list)


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
        self,
        repos: Repos,
        inbound: Inbound,
        *,
        expecting: str | None = None,
        dialogue: Dialogue | None = None,
        matching: asyncio.Task[Match] | None = None,
    ) -> Turn:
        """Any customer message: text is matched, media gets a polite reply.

        Takeover: a banned customer gets no answer; while a human holds the customer's
        ticket the message is only logged and relayed (no bot reply); once a ticket is open,
        everything the customer sends is recorded on it (and relayed to its staff topic).

        `dialogue` is what the bot remembers of this customer (FSM storage); the turn carries
        the updated state back (`turn.dialogue`) for the edge to store. `matching` is this
        message's match if the edge started it already (`start_match`).

        Database round trips are counted (a test pins them): one customer upsert, one
        open-ticket lookup shared by every step below, and the inbound log row is only
        queued - it is written with the replies' rows when the update commits.
        """
        dialogue = dialogue if dialogue is not None else Dialogue()
        turn = await self._message(repos, inbound, expecting, dialogue, matching)
        now = self.clock()
        turn.dialogue = dialogue
        dialogue.follow(turn.ticket.number if turn.ticket is not None else dialogue.ticket)
        dialogue.heard(turn.act or turn.intent or inbound.content_type, now)
        if turn.replies:
            asked = next(
                (
                    ask
                    for reply in reversed(turn.replies)
                    if (ask := _asks(reply.rendered.script_id, reply.rendered.plain)) is not None
                ),
                None,
            )
            dialogue.answered(turn.replies[-1].rendered.script_id, asked, now)
        dialogue.last = {
            "intent": turn.intent,
            "score": turn.score,
            "act": turn.act,
            "flow": turn.flow,
            "ticket": turn.ticket.number if turn.ticket is not None else None,
        }
        return turn

    async def _message(
        self,
        repos: Repos,
        inbound: Inbound,
        expecting: str | None,
        dialogue: Dialogue,
        matching: asyncio.Task[Match] | None,
    ) -> Turn:
        # The match depends on the text alone, so it starts before the database reads: the
        # sentence encoder (when the cascade wants it) runs in its thread while the customer
        # and the open ticket are read. Where the text is not answered (banned, held) the
        # match is dropped.
        if matching is None:
            matching = self.start_match(inbound)
        try:
            return await self._reply_to(repos, inbound, expecting, dialogue, matching)
        finally:
            if matching is not None:
                self.drop_match(matching)

    def start_match(self, inbound: Inbound) -> asyncio.Task[Match] | None:
        """Start matching a message's text in the background (the encoder, when wanted, in
        its thread); None for what `message` does not match by intent: media, commands,
        over-long text and text without words. Pass the task to `message`, or `drop_match`
        it."""
        text = inbound.text
        if (
            text is None
            or len(text) > self.settings.max_message_chars
            or text.startswith("/")
            or not normalize(text)
        ):
            return None
        return asyncio.ensure_future(self.intents.amatch(text))

    async def _reply_to(
        self,
        repos: Repos,
        inbound: Inbound,
        expecting: str | None,
        dialogue: Dialogue,
        matching: asyncio.Task[Match] | None,
    ) -> Turn:
        customer = await self._customer(repos, inbound)
        turn = Turn(_id(customer))
        if customer.banned:
            self._log_inbound(repos, customer, inbound)
            turn.flow = "banned"
            return turn
        current = await repos.tickets.open_for_customer(_id(customer))
        dialogue.follow(current.number if current is not None else None)
        if current is not None and is_held(current):
            self._log_inbound(repos, customer, inbound, ticket=current)
            await repos.tickets.set_status(
                current, move(current.status, "customer_reply"), self.clock()
            )
            turn.ticket, turn.relay, turn.held = current, True, True
            turn.expecting = expecting
            turn.flow = "held"
            return turn
        if current is not None:
            # Every message of an open ticket is part of its record (and its staff topic).
            turn.ticket, turn.relay = current, True
        if inbound.text is None:
            self._log_inbound(repos, customer, inbound, ticket=current)
            return self._media(customer, inbound, current, turn, expecting)
        text = inbound.text
        if len(text) > self.settings.max_message_chars:
            self._log_inbound(repos, customer, inbound, ticket=current)
            turn.replies.append(self._say(customer, "text.too_long"))
            turn.flow = "too_long"
            return turn
        if text.startswith("/"):
            self._log_inbound(repos, customer, inbound, ticket=current)
            command = text[1:].split(maxsplit=1)[0].split("@")[0].casefold() if text[1:] else ""
            if command not in _MENU_COMMANDS:
                turn.replies.append(self._say(customer, "command.unknown"))
            turn.replies.append(self._menu(customer))
            turn.expecting = expecting
            turn.flow = "command"
            return turn
        # amatch: the sentence encoder, when the cascade needs it, runs off the event loop.
        match = await matching if matching is not None else None
        kind = self._decide(match, expecting)
        turn.intent = (match.intent if match else None) or "none"
        turn.score = match.score if match is not None and match.intent else None
        conversational = self._act(text, kind, match, expecting, current, dialogue)
        turn.act = conversational
        details = extract(text)
        if kind == "handoff" or (kind == "complaint" and conversational is None):
            return await self._open_case(
                repos, customer, inbound, match, kind, current, dialogue, details, turn
            )
        if kind == "complaint":
            kind = None  # "怎么还没人回?" on an open ticket: the customer is waiting
        if current is not None:
            self._log_inbound(repos, customer, inbound, match, ticket=current)
            return self._follow_up(customer, text, kind, match, conversational, details, turn)
        if (
            conversational is None
            and details.orders
            and (dialogue.asked in _ASKED_DETAILS or kind in (None, "inquiry"))
        ):
            # The order number the bot asked for (or a bare one): a case staff must look up.
            ticket, opened = await self.desk.open_or_reuse(
                repos, customer, "inquiry", text, self.clock(), current=None
            )
            self._log_inbound(repos, customer, inbound, match, ticket=ticket)
            turn.ticket, turn.relay, turn.ticket_opened = ticket, True, bool(opened)
            turn.replies.append(self._added(customer, ticket, details))
            turn.replies.extend(self._away(customer))
            turn.flow = "details"
            return turn
        self._log_inbound(repos, customer, inbound, match)
        if conversational == "waiting" or conversational == "ok":
            turn.replies.append(self._say(customer, "chat.here"))
            turn.replies.append(self._menu(customer))
            turn.flow = conversational
            return turn
        if conversational in ("thanks", "bye"):
            closing = "chat.closing" if conversational == "thanks" else "chat.bye"
            turn.replies.append(self._say(customer, closing))
            turn.flow = conversational
            return turn
        return self._answer(customer, text, kind, match, turn)

    def _answer(
        self, customer: Customer, text: str, kind: str | None, match: Match | None, turn: Turn
    ) -> Turn:
        """Feedback, an FAQ, a clarifying question or the menu."""
        turn.flow = kind or "menu"
        if kind == "feedback":
            praise = is_praise(text)
            turn.flow = "praise" if praise else "feedback"
            turn.replies.append(
                self._say(customer, "feedback.praise" if praise else "feedback.thanks")
            )
            return turn
        if kind == "faq" and match is not None and match.script:
            turn.replies.append(self._say(customer, match.script))
            return turn
        if kind == "inquiry":
            turn.replies.append(self._say(customer, "inquiry.clarify"))
            turn.replies.append(self._menu(customer))
            return turn
        turn.flow = "menu"
        turn.replies.append(self._menu(customer))
        return turn

    async def _open_case(
        self,
        repos: Repos,
        customer: Customer,
        inbound: Inbound,
        match: Match | None,
        kind: str | None,
        current: Ticket | None,
        dialogue: Dialogue,
        details: Details,
        turn: Turn,
    ) -> Turn:
        """A complaint or a request for a person: open the case, or add to the open one."""
        text = inbound.text or ""
        ticket_kind = "complaint" if kind == "complaint" else "inquiry"
        ticket, opened = await self.desk.open_or_reuse(
            repos,
            customer,
            ticket_kind,
            text,
            self.clock(),
            # One customer, one case: a complaint on an open inquiry (or hand-off) joins it.
            any_kind=True,
            current=current,
        )
        # Logged once the ticket is known, so the row is inserted with its ticket_id
        # (logging first would cost an INSERT now and an UPDATE later).
        self._log_inbound(repos, customer, inbound, match, ticket=ticket)
        turn.ticket_opened = bool(opened)
        turn.ticket, turn.relay = ticket, True
        dialogue.follow(ticket.number)
        context = self._ticket_context(customer, ticket)
        if kind == "handoff":
            turn.flow = "handoff"
            live = self.settings.staff_chat_id is not None
            turn.replies.append(
                self._say(customer, "handoff.ack" if live else "handoff.ack.later", context)
            )
            turn.replies.extend(self._away(customer))
            return turn
        if not opened and ticket.kind != "complaint" and dialogue.complaints == 0:
            # The first complaint on a case opened as a question: the full apology, and at
            # least a complaint's priority.
            opened = await self.desk.as_complaint(repos, customer, ticket, self.clock())
        if opened:
            turn.flow = "complaint"
            dialogue.complaints = 1
            live = self.settings.staff_chat_id is not None
            script = "complaint.ack" if live else "complaint.ack.later"
            ack = self._say(customer, script, context)
            if live:
                # The apology offers two ways on; the second is this button (a handoff).
                ack = Reply(ack.rendered, (self._menu_button(customer, "human"),))
            turn.replies.append(ack)
            turn.replies.extend(self._away(customer))
            return turn
        # The same case again: a short acknowledgement, not a second full apology.
        dialogue.complaints = max(dialogue.complaints, 1) + 1
        angry = is_angry(text)
        if (dialogue.complaints >= _RAISE_AT or angry) and not dialogue.raised:
            dialogue.raised = True
            raised = escalated_priority(ticket.priority)
            await repos.staff.set_priority(ticket, raised, self.clock())
            note: dict[str, object] = {
                "ticket_number": ticket.number,
                "count": dialogue.complaints,
                "priority": raised.value,
            }
            turn.staff_notes.append(("staff.event.complaint_repeat", note))
            await self._audit(repos, ticket, "staff.event.complaint_repeat", note)
            turn.flow = "complaint_raised"
            turn.replies.append(self._say(customer, "complaint.raised", context))
            return turn
        turn.flow = "complaint_repeat"
        turn.replies.append(
            self._say(customer, "complaint.repeat", {**context, **details.context()})
        )
        return turn

    def _follow_up(
        self,
        customer: Customer,
        text: str,
        kind: str | None,
        match: Match | None,
        conversational: Act | None,
        details: Details,
        turn: Turn,
    ) -> Turn:
        """A message on an open ticket (already recorded on it): say what happened to it."""
        ticket = turn.ticket
        assert ticket is not None
        context = self._next_due_context(customer, ticket)
        if conversational == "waiting":
            turn.flow = "waiting"
            back = self._back_at(customer)
            turn.replies.append(
                self._say(customer, "followup.waiting", {**context, "back_at": back})
            )
            return turn
        if conversational is not None:
            turn.flow = conversational
            script = "followup.closing" if conversational == "thanks" else "followup.ok"
            turn.replies.append(self._say(customer, script, context))
            return turn
        if details.found:
            turn.flow = "details"
            turn.replies.append(self._added(customer, ticket, details))
            return turn
        if kind in ("faq", "feedback") and match is not None:
            return self._answer(customer, text, kind, match, turn)
        turn.flow = "noted"
        turn.replies.append(self._say(customer, "followup.noted", context))
        return turn

    def _media(
        self,
        customer: Customer,
        inbound: Inbound,
        current: Ticket | None,
        turn: Turn,
        expecting: str | None,
    ) -> Turn:
        """Media: on an open ticket they are evidence (photos counted); else a polite note."""
        turn.flow = "media"
        if current is not None:
            photos = 1 if inbound.content_type == ContentType.PHOTO else 0
            details = extract(inbound.caption, photos=photos)
            if details.found:
                turn.replies.append(self._added(customer, current, details))
            else:
                context = {"ticket_number": current.number}
                turn.replies.append(self._say(customer, "ticket.media_received", context))
            return turn
        turn.replies.append(self._say(customer, "media.unsupported"))
        turn.expecting = expecting
        return turn

    async def edited(self, repos: Repos, inbound: Inbound) -> None:
        """A customer edited an earlier message: the new text joins the record (on the open
        ticket, if any). Never answered: the original was answered when it arrived."""
        customer = await self._customer(repos, inbound)
        current = await repos.tickets.open_for_customer(_id(customer))
        self._log_inbound(repos, customer, inbound, ticket=current)

    async def flooded(self, repos: Repos, inbound: Inbound, *, notify: bool) -> Turn:
        """A message over the customer's flood limit: recorded like any other (on the open
        ticket), not answered - except the window's first, which gets one polite notice in
        the customer's language and tells staff in the ticket's topic."""
        customer = await self._customer(repos, inbound)
        current = await repos.tickets.open_for_customer(_id(customer))
        self._log_inbound(repos, customer, inbound, ticket=current)
        turn = Turn(_id(customer), ticket=current, flow="flooded")
        if notify:
            turn.replies.append(self._say(customer, "flood.notice"))
            if current is not None:
                note: dict[str, object] = {"ticket_number": current.number}
                turn.staff_notes.append(("staff.event.flood", note))
                await self._audit(repos, current, "staff.event.flood", note)
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
        if language == "zh-Hans" and written and _CANTONESE.search(written):
            language = "zh-Hant"  # "有冇人呀?" has no Traditional-only character, but is Cantonese
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
        hours = self.settings.business_hours  # the FAQ answers the same hours staff keep
        return {
            "salutation": salutation(
                customer.language,
                surname=customer.surname,
                title=customer.title,
                first_name=customer.first_name,
            ),
            "first_name": customer.first_name or "",
            "business_name": self.settings.business_name,
            "business_hours": format_hours(
                hours.open, hours.close, hours.weekdays, customer.language
            ),
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

    async def _audit(
        self, repos: Repos, ticket: Ticket, script_id: str, context: Mapping[str, object]
    ) -> None:
        """The staff note also goes on the ticket's audit trail (`tickets show`), so it is
        there with or without a staff group."""
        if ticket.id is None:  # pragma: no cover - repositories flush new rows
            return
        language = self.settings.staff.language or self.settings.default_language
        text = self.renderer.render(script_id, language, dict(context)).plain
        await repos.staff.add_event(
            ticket.id, "note", self.clock(), actor_name="carebot", text=text
        )

    def _back_at(self, customer: Customer) -> str:
        """When staff are back ('' during business hours)."""
        now = self.clock()
        calendar = self.desk.calendar
        if calendar.is_open(now):
            return ""
        return format_back_at(calendar.next_open(now), now, self.settings.zone, customer.language)

    def _next_due_context(self, customer: Customer, ticket: Ticket) -> dict[str, object]:
        """The ticket context with `first_response_due` as the next deadline: once staff
        have answered, the next thing promised is the resolution."""
        context = self._ticket_context(customer, ticket)
        if ticket.first_responded_at is not None:
            context["first_response_due"] = context["resolution_due"]
        return context

    def _added(self, customer: Customer, ticket: Ticket, details: Details) -> Reply:
        context = {**self._next_due_context(customer, ticket), **details.context()}
        return self._say(customer, "followup.added", context)

    def _act(
        self,
        text: str,
        kind: str | None,
        match: Match | None,
        expecting: str | None,
        current: Ticket | None,
        dialogue: Dialogue,
    ) -> Act | None:
        """Waiting / thanks / OK / goodbye - only in context, and never over a clear complaint
        or a request for a person. A menu choice waits for its answer: only thanks and
        goodbye end it."""
        found = act(text)
        if found is None or kind == "handoff":
            return None
        if kind == "complaint" and match is not None and match.score >= _CLEAR_COMPLAINT:
            return None
        if expecting is not None and found not in ("thanks", "bye"):
            return None
        if current is not None:
            return found
        if found in ("thanks", "bye") and kind in (None, "feedback", "greeting"):
            return found  # "谢谢" is never a suggestion to pass to the team
        return found if dialogue.in_context(self.clock()) else None

    @staticmethod
    def drop_match(task: asyncio.Task[Match]) -> None:
        """Cancel a match nobody awaits (or mark its outcome seen, so asyncio does not log
        it); harmless on one already awaited."""
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()

    def _menu_button(self, customer: Customer, choice: str) -> Button:
        return Button(self._say(customer, f"menu.button.{choice}").rendered.plain, f"menu:{choice}")

    def _menu(self, customer: Customer) -> Reply:
        buttons = tuple(self._menu_button(customer, choice) for choice in MENU_CHOICES)
        return Reply(self._say(customer, "menu.prompt").rendered, buttons)


def _asks(script_id: str, plain: str) -> str | None:
    """What a reply asked the customer for, if anything."""
    if script_id in _ASKS:
        return _ASKS[script_id]
    if any(words in plain for words in _ORDER_NUMBER_ASKED):
        return "order_number"
    return None


def _id(row: Customer) -> int:
    """The primary key of a row that has been flushed (repositories flush on create)."""
    if row.id is None:  # pragma: no cover - a repository bug, not a runtime condition
        raise RuntimeError("customer row was not flushed")
    return row.id
