"""Staff takeover use cases: ticket cards, staff actions, guarded relay, CSAT, the SLA watcher.

Framework-free like the rest of `care/`: every method takes the update's `Repos`, changes
tickets through the life cycle (`care.desk.lifecycle`), writes the audit trail
(`ticket_events`) and returns `Reply` objects saying what to post in the ticket's staff topic
and what to send the customer. `bot/staff/gateway.py` turns those into Bot API calls.

Two renderers: customer-facing texts go through the guarded `renderer` like every bot
message; staff-facing texts (cards, events, alerts) use `internal`, which serves only
approved scripts too but does not guard, because they quote customers and staff verbatim
(a customer who writes "这是公司的规定?!" must still appear on the card) and never reach a
customer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from care.desk.lifecycle import TransitionError, escalated_priority, is_held, move
from care.desk.tickets import TicketDesk
from care.replies import Button, Reply
from care.runtime.flood import FloodControl, FloodMemory, FloodVerdict
from care.runtime.settings import Settings
from care.salutation import salutation
from care.timefmt import format_deadline
from care.uow import Repos
from scripts import Guard, GuardVerdict, Renderer
from storage import Customer, Direction, MessageLog, Ticket, TicketEventKind, TicketStatus

__all__ = [
    "STAFF_ACTIONS",
    "CsatOutcome",
    "RelayDecision",
    "SlaAlert",
    "StaffActor",
    "StaffDesk",
    "StaffOutcome",
]

#: Topic commands / card buttons and what they do.
STAFF_ACTIONS = ("take", "release", "resolve", "reopen", "note", "assign", "ban", "unban")

_HISTORY_CHARS = 120
_SLA_KINDS = (TicketEventKind.SLA_WARNING, TicketEventKind.SLA_BREACH)


@dataclass(frozen=True, slots=True)
class StaffActor:
    """Who pressed the button or sent the command (a Telegram user in the staff group)."""

    user_id: int
    name: str


@dataclass(slots=True)
class StaffOutcome:
    """The result of one staff action.

    ``ok`` False means nothing changed; ``notice`` then says why (shown to the actor only).
    ``topic`` is posted in the ticket topic, ``customer`` sent to the ticket's customer and
    ``card`` replaces the ticket card's text and buttons.
    """

    ok: bool
    ticket: Ticket | None = None
    topic: list[Reply] = field(default_factory=list)
    customer: list[Reply] = field(default_factory=list)
    customer_chat_id: int | None = None
    card: Reply | None = None
    notice: Reply | None = None
    #: The action reopened a closed ticket: its (closed) staff topic opens again.
    reopen_topic: bool = False


@dataclass(frozen=True, slots=True)
class RelayDecision:
    """A staff message in a topic: relay it (as a copy or signed) or show why it was blocked."""

    allowed: bool
    customer_chat_id: int
    ticket: Ticket
    #: Blocked: the reason + suggestion for the staff member (posted in the topic).
    blocked: Reply | None = None
    #: Allowed and not anonymous: the signed text to send instead of a copy.
    signed: Reply | None = None
    #: The action taken implicitly (replying takes an unassigned ticket).
    taken: Reply | None = None
    #: The reply reopened a closed ticket: its (closed) staff topic opens again.
    reopen_topic: bool = False


@dataclass(slots=True)
class CsatOutcome:
    """A rating or comment: what the customer reads, what the topic shows."""

    ok: bool
    customer: list[Reply] = field(default_factory=list)
    topic: Reply | None = None
    ticket: Ticket | None = None
    #: After a score: the ticket id whose optional comment the next message is.
    awaiting_comment: int | None = None


@dataclass(frozen=True, slots=True)
class SlaAlert:
    """One SLA warning or breach: a line for the topic and messages for the supervisors."""

    ticket: Ticket
    kind: TicketEventKind
    deadline: str
    topic: Reply
    supervisors: tuple[tuple[int, Reply], ...] = ()


@dataclass(slots=True)
class StaffDesk:
    """The staff forum's use cases; built once by `build_services`, shared by all updates."""

    settings: Settings
    renderer: Renderer
    internal: Renderer
    guard: Guard
    desk: TicketDesk
    clock: Callable[[], datetime]
    flood: FloodControl
    flooded: FloodMemory = field(default_factory=FloodMemory)

    @classmethod
    def build(
        cls,
        settings: Settings,
        renderer: Renderer,
        guard: Guard,
        desk: TicketDesk,
        clock: Callable[[], datetime],
        normalize: Callable[[str], str],
        flood: FloodControl,
    ) -> StaffDesk:
        internal = Renderer(
            renderer.library, Guard([], normalize=normalize), traditional=renderer.traditional
        )
        return cls(
            settings=settings,
            renderer=renderer,
            internal=internal,
            guard=guard,
            desk=desk,
            clock=clock,
            flood=flood,
        )

    @property
    def language(self) -> str:
        """The staff group's language."""
        return self.settings.staff.language or self.settings.default_language

    # -- rendering helpers --------------------------------------------------------------

    def staff_text(self, script_id: str, context: Mapping[str, object] | None = None) -> Reply:
        """A staff-facing text in the staff language (approved, not guarded: see module doc)."""
        base: dict[str, object] = {"business_name": self.settings.business_name}
        base.update(context or {})
        return Reply(self.internal.render(script_id, self.language, base))

    def customer_text(
        self, customer: Customer, script_id: str, context: Mapping[str, object] | None = None
    ) -> Reply:
        base: dict[str, object] = {
            "salutation": self._salutation(customer, customer.language),
            "first_name": customer.first_name or "",
            "business_name": self.settings.business_name,
        }
        base.update(context or {})
        return Reply(self.renderer.render(script_id, customer.language, base))

    @staticmethod
    def _salutation(customer: Customer, language: str) -> str:
        return salutation(
            language,
            surname=customer.surname,
            title=customer.title,
            first_name=customer.first_name,
        )

    def _deadline(self, due: datetime) -> str:
        return format_deadline(due, self.clock(), self.settings.zone, self.language)

    # -- the topic and its card ---------------------------------------------------------

    async def topic_name(self, repos: Repos, ticket: Ticket) -> str:
        """Ticket number + tier badge + salutation, at most Telegram's 128 characters."""
        customer = await self._customer(repos, ticket)
        rendered = self.staff_text(
            "staff.topic.name",
            {
                "ticket_number": ticket.number,
                "tier": customer.effective_tier.value,
                "salutation": self._salutation(customer, self.language),
            },
        )
        return " ".join(rendered.rendered.plain.split())[:128]

    async def card(self, repos: Repos, ticket: Ticket) -> Reply:
        """The ticket card: customer, tier, recent history, intents, deadlines, buttons."""
        customer = await self._customer(repos, ticket)
        history = await repos.messages.recent(
            _id(customer), limit=max(self.settings.staff.card_history, 1)
        )
        ref = (
            f"@{customer.username} · id {customer.telegram_id}"
            if customer.username
            else (f"id {customer.telegram_id}")
        )
        assignee = await self.assignee_name(repos, ticket)
        reply = self.staff_text(
            "staff.card",
            {
                "ticket_number": ticket.number,
                "kind": ticket.kind.value,
                "priority": ticket.priority.value,
                "status": ticket.status.value,
                "salutation": self._salutation(customer, self.language),
                "customer_ref": ref,
                "tier": customer.effective_tier.value,
                "intents": _intents(history) or "—",
                "first_response_due": self._deadline(ticket.first_response_due),
                "resolution_due": self._deadline(ticket.resolution_due),
                "history": self._history(history[-self.settings.staff.card_history :]) or "—",
                "staff_name": assignee or self.staff_text("staff.nobody").rendered.plain,
            },
        )
        return Reply(reply.rendered, self._card_buttons(ticket))

    def _history(self, messages: list[MessageLog]) -> str:
        lines = []
        for message in messages:
            clock = message.created_at.astimezone(self.settings.zone).strftime("%m-%d %H:%M")
            arrow = "←" if message.direction == Direction.IN else "→"
            body = message.text if message.text is not None else f"[{message.content_type}]"
            body = " ".join(body.split())
            if len(body) > _HISTORY_CHARS:
                body = body[: _HISTORY_CHARS - 1] + "…"
            lines.append(f"{clock} {arrow} {body}")
        return "\n".join(lines)

    def _card_buttons(self, ticket: Ticket) -> tuple[Button, ...]:
        def button(action: str) -> Button:
            label = self.staff_text(f"staff.button.{action}").rendered.plain
            return Button(label, f"staff:{action}:{ticket.id}")

        status = TicketStatus(ticket.status)
        if status.is_finished:
            return (button("note"),)
        first = button("release") if ticket.assignee_id is not None else button("take")
        return (first, button("resolve"), button("note"))

    async def assignee_name(self, repos: Repos, ticket: Ticket) -> str | None:
        """The holder's display name, from the audit trail (the ticket keeps only the id)."""
        if ticket.assignee_id is None:
            return None
        for event in reversed(await repos.staff.events(_id(ticket))):
            if event.kind == TicketEventKind.TAKE and event.actor_id == ticket.assignee_id:
                return event.actor_name
            if event.kind == TicketEventKind.ASSIGN and event.text:
                return event.text
        return str(ticket.assignee_id)

    async def topic_opened(
        self, repos: Repos, ticket: Ticket, thread_id: int, card_message_id: int | None
    ) -> None:
        """Remember the ticket's (new) topic; a recreated topic is noted on the ticket."""
        now = self.clock()
        recreated = ticket.topic_id is not None and ticket.topic_id != thread_id
        await repos.staff.set_topic(ticket, thread_id, card_message_id, now)
        kind = TicketEventKind.TOPIC_RECREATED if recreated else TicketEventKind.ESCALATED
        await repos.staff.add_event(_id(ticket), kind, now, text=str(thread_id))

    # -- staff actions ------------------------------------------------------------------

    async def act(
        self,
        repos: Repos,
        ticket: Ticket,
        actor: StaffActor,
        action: str,
        argument: str = "",
        *,
        target: StaffActor | None = None,
    ) -> StaffOutcome:
        """Run one topic command or card button on ``ticket``.

        ``argument`` is the command's text (/note TEXT, /assign USER_ID); ``target`` the
        colleague for /assign when the command replied to their message.
        """
        now = self.clock()
        customer = await self._customer(repos, ticket)
        outcome = StaffOutcome(ok=True, ticket=ticket, customer_chat_id=customer.telegram_id)
        names = {"staff_name": actor.name}
        try:
            if action == "take":
                await self._transition(repos, ticket, "take", now)
                await repos.staff.assign(ticket, actor.user_id, now)
                outcome.topic.append(self.staff_text("staff.event.taken", names))
                outcome.customer.append(
                    self.customer_text(customer, "ticket.taken", {"ticket_number": ticket.number})
                )
            elif action == "release":
                await self._transition(repos, ticket, "release", now)
                await repos.staff.assign(ticket, None, now)
                outcome.topic.append(self.staff_text("staff.event.released", names))
            elif action == "resolve":
                await self._transition(repos, ticket, "resolve", now)
                outcome.topic.append(self.staff_text("staff.event.resolved", names))
                outcome.customer.append(self.csat_request(customer, ticket))
            elif action == "reopen":
                outcome.reopen_topic = TicketStatus(ticket.status) is TicketStatus.CLOSED
                new = move(ticket.status, "reopen", assigned=ticket.assignee_id is not None)
                await repos.tickets.set_status(ticket, new, now)
                outcome.topic.append(self.staff_text("staff.event.reopened", names))
            elif action == "note":
                note = argument.strip()
                if not note:
                    return StaffOutcome(
                        ok=False, ticket=ticket, notice=self.staff_text("staff.hint.note")
                    )
                outcome.topic.append(self.staff_text("staff.event.note", {**names, "note": note}))
            elif action == "assign":
                assignee = target or _actor_from_argument(argument)
                if assignee is None:
                    return StaffOutcome(
                        ok=False, ticket=ticket, notice=self.staff_text("staff.usage")
                    )
                if TicketStatus(ticket.status) is TicketStatus.NEW:
                    await self._transition(repos, ticket, "take", now)
                await repos.staff.assign(ticket, assignee.user_id, now)
                await repos.staff.add_event(
                    _id(ticket), TicketEventKind.ASSIGN, now,
                    actor_id=actor.user_id, actor_name=actor.name, text=assignee.name,
                )  # fmt: skip
                outcome.topic.append(
                    self.staff_text("staff.event.assigned", {"staff_name": assignee.name})
                )
                outcome.card = await self.card(repos, ticket)
                return outcome
            elif action in ("ban", "unban"):
                await repos.staff.set_banned(customer, action == "ban", now)
                script = "staff.event.banned" if action == "ban" else "staff.event.unbanned"
                outcome.topic.append(self.staff_text(script, names))
            else:
                return StaffOutcome(ok=False, ticket=ticket, notice=self.staff_text("staff.usage"))
        except TransitionError:
            notice = self.staff_text(
                "staff.not_allowed", {"ticket_number": ticket.number, "status": ticket.status.value}
            )
            return StaffOutcome(ok=False, ticket=ticket, notice=notice)
        await repos.staff.add_event(
            _id(ticket),
            TicketEventKind(action),
            now,
            actor_id=actor.user_id,
            actor_name=actor.name,
            text=argument.strip() or None,
        )
        outcome.card = await self.card(repos, ticket)
        return outcome

    async def _transition(self, repos: Repos, ticket: Ticket, action: str, now: datetime) -> None:
        await repos.tickets.set_status(ticket, move(ticket.status, action), now)

    # -- relay --------------------------------------------------------------------------

    async def staff_message(
        self,
        repos: Repos,
        ticket: Ticket,
        actor: StaffActor,
        text: str | None,
        content_type: str,
        *,
        macro: str | None = None,
    ) -> RelayDecision:
        """A staff message in the topic: guard its text/caption, then relay (and take).

        Replying is taking: an unassigned ticket is assigned to whoever answers, so the bot
        stops talking over them. The first staff reply stamps the first-response SLA.
        ``macro`` names the staff macro being sent (`care.desk.macros`): the ticket's
        pending suggestions are then settled as sent / edited / ignored against it.
        """
        now = self.clock()
        customer = await self._customer(repos, ticket)
        if text:
            # the semantic layer runs the sentence encoder: never on the event loop
            verdict = await asyncio.to_thread(self.guard.check, text)
            if not verdict.allowed:
                blocked = self.staff_text("staff.relay.blocked", _blocked_context(verdict, text))
                return RelayDecision(False, customer.telegram_id, ticket, blocked=blocked)
        taken = None
        status = TicketStatus(ticket.status)
        reopen_topic = status is TicketStatus.CLOSED
        if status.is_finished:
            await repos.tickets.set_status(ticket, move(ticket.status, "reopen"), now)
            # the audit trail (and the reports' reopened count) must see a reply-reopen too
            await repos.staff.add_event(
                _id(ticket), TicketEventKind.REOPEN, now, actor_id=actor.user_id,
                actor_name=actor.name,
            )  # fmt: skip
        if not is_held(ticket):
            await repos.staff.assign(ticket, actor.user_id, now)
            await repos.staff.add_event(
                _id(ticket),
                TicketEventKind.TAKE,
                now,
                actor_id=actor.user_id,
                actor_name=actor.name,
            )
            taken = self.staff_text("staff.event.taken", {"staff_name": actor.name})
        await repos.tickets.set_status(ticket, move(ticket.status, "staff_reply"), now)
        await repos.tickets.record_first_response(ticket, now)
        await repos.macros.settle_suggestions(_id(ticket), macro, now)
        signed = None
        if not self.settings.staff.anonymous and text and content_type == "text":
            signed = self.customer_text(
                customer, "staff.reply.signed", {"staff_name": actor.name, "message": text}
            )
        return RelayDecision(
            True,
            customer.telegram_id,
            ticket,
            signed=signed,
            taken=taken,
            reopen_topic=reopen_topic,
        )

    async def log_relayed(
        self,
        repos: Repos,
        ticket: Ticket,
        *,
        direction: Direction,
        content_type: str,
        text: str | None,
        customer_message_id: int,
        staff_message_id: int,
        merged: bool = False,
    ) -> None:
        """Pair the two copies; staff replies also enter the customer's message log."""
        now = self.clock()
        customer = await self._customer(repos, ticket)
        await repos.staff.add_pair(
            ticket_id=_id(ticket),
            direction=direction,
            customer_chat_id=customer.telegram_id,
            customer_message_id=customer_message_id,
            staff_chat_id=self.settings.staff_chat_id or 0,
            staff_message_id=staff_message_id,
            now=now,
            merged=merged,
        )
        if direction == Direction.OUT:
            known = content_type in ("text", "photo", "sticker", "voice", "document", "video",
                                     "location")  # fmt: skip
            await repos.messages.log(
                customer_id=_id(customer),
                direction=Direction.OUT,
                content_type=content_type if known else "other",
                text=text,
                telegram_message_id=customer_message_id,
                ticket_id=ticket.id,
                now=now,
            )

    async def edit_allowed(self, text: str | None) -> Reply | None:
        """An edited staff text: None when it may reach the customer, else why not."""
        if not text:
            return None
        verdict = await asyncio.to_thread(self.guard.check, text)
        if verdict.allowed:
            return None
        return self.staff_text("staff.relay.blocked", _blocked_context(verdict, text))

    async def customer_blocked(self, repos: Repos, ticket: Ticket) -> Reply:
        """The customer blocked the bot (403): mark them, note the ticket, tell the topic."""
        now = self.clock()
        customer = await self._customer(repos, ticket)
        await repos.customers.mark_blocked(customer, True)
        await repos.staff.add_event(_id(ticket), TicketEventKind.CUSTOMER_BLOCKED, now)
        return self.staff_text("staff.event.customer_blocked")

    def topic_recreated(self) -> Reply:
        return self.staff_text("staff.event.topic_recreated")

    # -- CSAT ---------------------------------------------------------------------------

    def csat_request(self, customer: Customer, ticket: Ticket) -> Reply:
        """ "Resolved, please rate us" with five star buttons (callback ``csat:TICKET:N``)."""
        text = self.customer_text(customer, "ticket.resolved", {"ticket_number": ticket.number})
        buttons = tuple(
            Button(
                self.customer_text(customer, f"csat.star.{score}").rendered.plain,
                f"csat:{ticket.id}:{score}",
            )
            for score in range(1, 6)
        )
        return Reply(text.rendered, buttons)

    async def _own_resolved_ticket(
        self, repos: Repos, telegram_id: int, ticket_id: int
    ) -> tuple[Customer, Ticket] | None:
        """The ticket if ``telegram_id`` owns it and it awaits a rating; None otherwise.

        Callback data can be forged: a customer must never rate, or learn anything about,
        someone else's ticket, so "not yours" and "does not exist" look the same.
        """
        customer = await repos.customers.get_by_telegram_id(telegram_id)
        ticket = await repos.tickets.get(ticket_id)
        if customer is None or ticket is None or ticket.customer_id != customer.id:
            return None
        if not TicketStatus(ticket.status).is_finished:
            return None
        return customer, ticket

    async def rate(
        self, repos: Repos, telegram_id: int, ticket_id: int, score: int, language: str = "zh-Hans"
    ) -> CsatOutcome:
        """A star button: store the score, thank, invite an optional comment."""
        owned = await self._own_resolved_ticket(repos, telegram_id, ticket_id)
        if owned is None or not 1 <= score <= 5:
            return CsatOutcome(ok=False, customer=[self._expired(language)])
        customer, ticket = owned
        now = self.clock()
        await repos.tickets.set_csat(ticket, score, ticket.csat_comment, now)
        stars = _stars(score)
        await repos.staff.add_event(_id(ticket), TicketEventKind.CSAT, now, text=str(score))
        return CsatOutcome(
            ok=True,
            ticket=ticket,
            customer=[self.customer_text(customer, "csat.comment_prompt", {"stars": stars})],
            topic=self.staff_text("staff.event.csat", {"stars": stars, "comment": ""}),
            awaiting_comment=ticket.id,
        )

    async def comment(
        self, repos: Repos, telegram_id: int, ticket_id: int, text: str
    ) -> CsatOutcome:
        """The optional comment after a rating."""
        owned = await self._own_resolved_ticket(repos, telegram_id, ticket_id)
        if owned is None or owned[1].csat_score is None:
            return CsatOutcome(ok=False)
        customer, ticket = owned
        now = self.clock()
        comment = text[: self.settings.max_message_chars]
        await repos.tickets.set_csat(ticket, ticket.csat_score or 0, comment, now)
        await repos.messages.log(
            customer_id=_id(customer), direction=Direction.IN, content_type="text",
            text=text, ticket_id=ticket.id, now=now,
        )  # fmt: skip
        await repos.staff.add_event(_id(ticket), TicketEventKind.CSAT, now, text=comment)
        stars = _stars(ticket.csat_score or 0)
        return CsatOutcome(
            ok=True,
            ticket=ticket,
            customer=[self.customer_text(customer, "csat.thanks")],
            topic=self.staff_text("staff.event.csat", {"stars": stars, "comment": comment}),
        )

    def _expired(self, language: str) -> Reply:
        return Reply(self.renderer.render("csat.expired", language, {}))

    # -- flood control ------------------------------------------------------------------

    async def flood_verdict(self, telegram_id: int) -> FloodVerdict:
        """pass (answer it), notify (record it, one notice) or drop (record it, stay quiet)."""
        now = self.clock()
        verdict = await self.flood.verdict(telegram_id, now)
        if verdict != "pass":
            self.flooded.refused(telegram_id, now)
        return verdict

    def flooding(self, telegram_id: int) -> bool:
        """Whether this process refused the customer a message within the last window (their
        next message's match waits for its verdict: `FloodMemory`)."""
        return self.flooded.flooding(telegram_id, self.clock())

    # -- SLA watcher --------------------------------------------------------------------

    async def check_sla(self, repos: Repos, now: datetime | None = None) -> list[SlaAlert]:
        """Warn at `sla_warn_fraction` of a deadline, alert supervisors and escalate at breach.

        Elapsed time is business time (`care.desk.business_hours`), the same clock the deadline
        was computed with. Each warning/breach is said once per ticket and deadline (the
        audit trail remembers), so the job may run as often as it likes.
        """
        now = now or self.clock()
        calendar = self.desk.calendar
        tickets = await repos.staff.unfinished()
        said = await repos.staff.event_keys((_id(t) for t in tickets), _SLA_KINDS)
        alerts: list[SlaAlert] = []
        for ticket in tickets:
            deadlines = [("resolution", ticket.resolution_due)]
            if ticket.first_responded_at is None:
                deadlines.insert(0, ("first_response", ticket.first_response_due))
            for deadline_kind, due in deadlines:
                fraction = calendar.fraction(ticket.created_at, due, now)
                if fraction >= 1:
                    kind = TicketEventKind.SLA_BREACH
                elif fraction >= self.settings.staff.sla_warn_fraction:
                    kind = TicketEventKind.SLA_WARNING
                else:
                    continue
                if (_id(ticket), kind.value, deadline_kind) in said:
                    continue
                said.add((_id(ticket), kind.value, deadline_kind))
                alerts.append(await self._sla_alert(repos, ticket, kind, deadline_kind, due, now))
        return alerts

    async def _sla_alert(
        self,
        repos: Repos,
        ticket: Ticket,
        kind: TicketEventKind,
        deadline_kind: str,
        due: datetime,
        now: datetime,
    ) -> SlaAlert:
        await repos.staff.add_event(_id(ticket), kind, now, text=deadline_kind)
        context: dict[str, object] = {
            "ticket_number": ticket.number,
            "deadline_kind": deadline_kind,
            "first_response_due": self._deadline(due),
        }
        if kind is TicketEventKind.SLA_WARNING:
            topic = self.staff_text("staff.sla.warning", context)
            return SlaAlert(ticket, kind, deadline_kind, topic)
        await repos.staff.set_priority(ticket, escalated_priority(ticket.priority), now)
        topic = self.staff_text("staff.sla.breach", {**context, "priority": ticket.priority.value})
        customer = await self._customer(repos, ticket)
        supervisor_text = self.staff_text(
            "staff.sla.supervisor",
            {
                **context,
                "salutation": self._salutation(customer, self.language),
                "tier": customer.effective_tier.value,
                "staff_name": await self.assignee_name(repos, ticket)
                or self.staff_text("staff.nobody").rendered.plain,
            },
        )
        supervisors = tuple((uid, supervisor_text) for uid in self.settings.staff.supervisors)
        return SlaAlert(ticket, kind, deadline_kind, topic, supervisors)

    # -- lookups ------------------------------------------------------------------------

    async def _customer(self, repos: Repos, ticket: Ticket) -> Customer:
        customer = await repos.customers.get(ticket.customer_id)
        if customer is None:  # pragma: no cover - the foreign key guarantees it
            raise LookupError(f"ticket {ticket.number} has no customer")
        return customer

    async def ticket_for_topic(self, repos: Repos, thread_id: int | None) -> Ticket | None:
        if thread_id is None:
            return None
        return await repos.staff.ticket_by_topic(thread_id)


def _blocked_context(verdict: GuardVerdict, text: str) -> dict[str, object]:
    """What the staff "blocked" notice names: the wording that fired, where, why, instead."""
    fired = verdict.matched or verdict.phrase or ""
    if verdict.phrase and fired != verdict.phrase:
        fired = f"{fired} ≈ {verdict.phrase}"
    # The notice ends each part with its own full stop: the list's may already have one.
    return {
        "phrase": fired,
        "clause": verdict.clause or text,
        "reason": (verdict.reason or "").rstrip(_STOPS),
        "suggestion": (verdict.suggestion or "").rstrip(_STOPS),
    }


_STOPS = "。．.！!？? \t"


def _id(row: Customer | Ticket) -> int:
    if row.id is None:  # pragma: no cover - repositories flush new rows
        raise RuntimeError("row was not flushed")
    return row.id


def _stars(score: int) -> str:
    return "★" * score + "☆" * (5 - score)


def _intents(history: list[MessageLog]) -> str:
    """Distinct detected intents with their best score, most confident first."""
    best: dict[str, float] = {}
    for message in history:
        if message.intent and message.direction == Direction.IN:
            best[message.intent] = max(best.get(message.intent, 0.0), message.score or 0.0)
    ranked = sorted(best.items(), key=lambda item: -item[1])
    return ", ".join(f"{intent} ({score:.0f})" for intent, score in ranked)


def _actor_from_argument(argument: str) -> StaffActor | None:
    """``/assign 12345 [name]``: a numeric Telegram id, optionally followed by a name."""
    parts = argument.split(maxsplit=1)
    if not parts or not parts[0].lstrip("-").isdigit():
        return None
    name = parts[1].strip() if len(parts) > 1 else parts[0]
    return StaffActor(int(parts[0]), name)
