"""Staff macros: approved `staff`-channel scripts sent from a ticket topic.

`/s` lists them (grouped by their `purpose`, paged, as buttons); `/s ID` or a button opens a
preview rendered for the ticket's customer - their language, their script, their salutation
and deadlines - with Send / Cancel. A value the ticket does not hold (`new_deadline`, an
order number) is asked for in the topic first: the preview, and so the customer, never sees
a half-filled text. Send goes through `StaffDesk.staff_message` like a typed reply (guard,
take, first response, reopening a closed ticket), and the preview row's send-once claim in
the database (`MacroRepo.claim`) makes two simultaneous presses, in any two workers, send
once. Staff cannot alter a macro's text: what is sent is the approved script as rendered.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from math import ceil

from care.desk.details import extract
from care.desk.macro_usage import USAGE_COLUMNS, usage_summary
from care.desk.staff import RelayDecision, StaffActor, StaffDesk
from care.desk.suggest import SuggestionRanker
from care.replies import Button, Reply
from care.timefmt import format_deadline
from care.uow import Repos
from scripts import Rendered, Script
from storage import Customer, Direction, MacroOutcome, MacroUse, Ticket

__all__ = ["MACRO_CHANNEL", "USAGE_COLUMNS", "MacroDesk", "MacroSend", "MacroStep", "usage_summary"]

#: The script channel of staff macros.
MACRO_CHANNEL = "staff"
#: Buttons per page of the /s list (one per row: a longer page pushes the topic away).
PAGE_SIZE = 6
#: Callback data: list page, open (preview), send, cancel.
PREFIX = "mac"


@dataclass(slots=True)
class MacroStep:
    """What one macro command, button or answered prompt shows in the topic.

    ``reply`` is posted in the topic (or replaces the pressed message when ``edit``);
    ``use_id`` names the preview row whose prompt or preview that post is, so the edge
    records the posted message's id on it (`MacroDesk.posted`). ``notice`` is for the
    actor only (a button's alert).
    """

    reply: Reply | None = None
    edit: bool = False
    use_id: int | None = None
    notice: Reply | None = None


@dataclass(slots=True)
class MacroSend:
    """A Send press: the relay decision (customer copy in ``decision.signed``) and the
    text that replaces the preview in the topic; or only a ``notice`` when nothing is sent."""

    decision: RelayDecision | None = None
    topic: Reply | None = None
    text: str | None = None
    notice: Reply | None = None


@dataclass(slots=True)
class MacroDesk:
    """The macro use cases over the staff desk; one per process (`Services.macros`)."""

    staff: StaffDesk
    #: Ranks macros for customer messages; None = no suggested replies.
    ranker: SuggestionRanker | None = None

    # -- the library's macros -----------------------------------------------------------

    def macros(self) -> list[Script]:
        """Servable staff macros, grouped by category (purpose), then by id."""
        library = self.staff.renderer.library
        found = [
            script
            for script in library.scripts.values()
            if script.channel == MACRO_CHANNEL and script.servable
        ]
        return sorted(found, key=lambda script: (script.purpose, script.id))

    def macro(self, script_id: str) -> Script | None:
        script = self.staff.renderer.library.get(script_id)
        if script is None and not script_id.startswith("macro."):
            script = self.staff.renderer.library.get(f"macro.{script_id}")
        if script is None or script.channel != MACRO_CHANNEL or not script.servable:
            return None
        return script

    # -- /s -----------------------------------------------------------------------------

    def listing(self, ticket: Ticket, page: int = 1, *, unknown: str = "") -> Reply:
        """The /s list: every macro as a button, grouped by category, PAGE_SIZE per page."""
        macros = self.macros()
        pages = max(ceil(len(macros) / PAGE_SIZE), 1)
        page = min(max(page, 1), pages)
        shown = macros[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        groups: dict[str, list[str]] = {}
        for script in macros:
            groups.setdefault(script.purpose, []).append(_short(script.id))
        text = self.staff.staff_text(
            "staff.macro.list",
            {
                "groups": "\n".join(f"{kind}: {' · '.join(ids)}" for kind, ids in groups.items()),
                "page": page,
                "pages": pages,
                "unknown": unknown,
            },
        )
        buttons = [
            Button(
                self._label(
                    "staff.macro.button.pick", kind=script.purpose, script_id=_short(script.id)
                ),
                f"{PREFIX}:o:{ticket.id}:{_short(script.id)}",
            )
            for script in shown
        ]
        if page > 1:
            buttons.append(
                Button(
                    self._label("staff.macro.button.previous"), f"{PREFIX}:l:{ticket.id}:{page - 1}"
                )
            )
        if page < pages:
            buttons.append(
                Button(self._label("staff.macro.button.next"), f"{PREFIX}:l:{ticket.id}:{page + 1}")
            )
        return Reply(text.rendered, tuple(buttons))

    async def command(
        self, repos: Repos, ticket: Ticket, actor: StaffActor, argument: str
    ) -> MacroStep:
        """`/s` (the list), `/s ID` (a preview) or `/s ID VALUE` (VALUE fills the first
        variable the ticket lacks). An unknown id gets the list."""
        parts = argument.split(maxsplit=1)
        if not parts:
            return MacroStep(reply=self.listing(ticket))
        script = self.macro(parts[0])
        if script is None:
            return MacroStep(reply=self.listing(ticket, unknown=parts[0][:64]))
        return await self.open(repos, ticket, actor, script, parts[1] if len(parts) > 1 else "")

    async def pressed_open(
        self, repos: Repos, ticket: Ticket, actor: StaffActor, script_id: str
    ) -> MacroStep:
        """A list or suggestion button: the preview (or the prompt for a missing value)."""
        script = self.macro(script_id)
        if script is None:  # retired or edited since the buttons were drawn
            return MacroStep(reply=self.listing(ticket, unknown=script_id[:64]))
        suggestion = await repos.macros.suggestion_for(_ticket_id(ticket), script.id)
        suggestion_id = suggestion.id if suggestion is not None else None
        return await self.open(repos, ticket, actor, script, "", suggestion_id=suggestion_id)

    async def open(
        self,
        repos: Repos,
        ticket: Ticket,
        actor: StaffActor,
        script: Script,
        value: str,
        *,
        suggestion_id: int | None = None,
    ) -> MacroStep:
        customer = await self._customer(repos, ticket)
        values = await self._captured(repos, ticket, script)
        missing = self._missing(script, ticket, customer, actor, values)
        if missing and value.strip():
            values[missing[0]] = value.strip()
            missing = missing[1:]
        use = await repos.macros.open_preview(
            ticket_id=_ticket_id(ticket),
            script_id=script.id,
            staff_id=actor.user_id,
            values=values,
            asking=missing[0] if missing else None,
            suggestion_id=suggestion_id,
            now=self.staff.clock(),
        )
        return self._step(use, script, ticket, customer, actor, values)

    async def answer(
        self, repos: Repos, ticket: Ticket, actor: StaffActor, prompt_id: int, text: str | None
    ) -> MacroStep | None:
        """A staff reply to a "please give VALUE" prompt: None when ``prompt_id`` is not
        one (the message is an ordinary reply and is relayed)."""
        use = await repos.macros.asking_by_prompt(_ticket_id(ticket), prompt_id)
        if use is None or use.asking is None:
            return None
        script = self.macro(use.script_id)
        value = (text or "").strip()
        if script is None or not value:
            return MacroStep(reply=self.listing(ticket, unknown=use.script_id))
        values = {**_values(use), use.asking: value[:200]}
        customer = await self._customer(repos, ticket)
        missing = self._missing(script, ticket, customer, actor, values)
        await repos.macros.give_value(use, values, missing[0] if missing else None)
        return self._step(use, script, ticket, customer, actor, values)

    async def posted(self, repos: Repos, use_id: int, message_id: int) -> None:
        """The prompt or preview of ``use_id`` is message ``message_id`` of the topic."""
        use = await repos.macros.get(use_id)
        if use is not None:
            await repos.macros.set_topic_message(use, message_id)

    def _step(
        self,
        use: MacroUse,
        script: Script,
        ticket: Ticket,
        customer: Customer,
        actor: StaffActor,
        values: Mapping[str, str],
    ) -> MacroStep:
        if use.asking is not None:
            prompt = self.staff.staff_text(
                "staff.macro.ask", {"script_id": _short(script.id), "variable": use.asking}
            )
            return MacroStep(reply=prompt, use_id=use.id)
        rendered = self._render(script, ticket, customer, actor, values)
        preview = self.staff.staff_text(
            "staff.macro.preview",
            {
                "script_id": _short(script.id),
                "language": rendered.language,
                "message": rendered.plain,
            },
        )
        buttons = (
            Button(self._label("staff.macro.button.send"), f"{PREFIX}:s:{use.id}"),
            Button(self._label("staff.macro.button.cancel"), f"{PREFIX}:x:{use.id}"),
        )
        return MacroStep(reply=Reply(preview.rendered, buttons), use_id=use.id)

    # -- suggested replies ---------------------------------------------------------------

    async def suggest(
        self, repos: Repos, ticket: Ticket, text: str | None, message_id: int
    ) -> tuple[Button, ...]:
        """Up to three approved macros for a customer message, as buttons for its copy in
        the topic (merged into the relay post: no extra message); () when nothing clears
        the confidence floor. What was suggested is recorded for `carebot scripts usage`."""
        if self.ranker is None or not text or not text.strip():
            return ()
        ranked = await self.ranker.arank(text)
        if not ranked:
            return ()
        await repos.macros.suggest(
            ticket_id=_ticket_id(ticket),
            source_message_id=message_id,
            ranked=[(s.script_id, s.score) for s in ranked],
            now=self.staff.clock(),
        )
        return tuple(
            Button(
                self._label("staff.macro.button.suggest", script_id=_short(s.script_id)),
                f"{PREFIX}:o:{ticket.id}:{_short(s.script_id)}",
            )
            for s in ranked
        )

    # -- Send / Cancel ------------------------------------------------------------------

    async def send(self, repos: Repos, use_id: int, actor: StaffActor) -> MacroSend:
        """Claim the preview (once, across workers), then relay it like a typed reply."""
        now = self.staff.clock()
        use = await repos.macros.get(use_id)
        if use is None or not await repos.macros.claim(use_id, MacroOutcome.SENT, now):
            return MacroSend(notice=self.staff.staff_text("staff.macro.gone"))
        ticket = await repos.tickets.get(use.ticket_id)
        script = self.macro(use.script_id)
        if ticket is None or script is None:
            await repos.macros.claim_back(use_id, now)
            return MacroSend(notice=self.staff.staff_text("staff.macro.gone"))
        customer = await self._customer(repos, ticket)
        rendered = self._render(script, ticket, customer, actor, _values(use))
        decision = await self.staff.staff_message(
            repos, ticket, actor, rendered.plain, "text", macro=script.id
        )
        if not decision.allowed:
            await repos.macros.claim_back(use_id, now)
            return MacroSend(decision=decision, notice=decision.blocked)
        if decision.signed is None:  # anonymous replies: the macro's own text, not a copy
            decision = dataclasses.replace(decision, signed=Reply(rendered))
        topic = self.staff.staff_text(
            "staff.macro.sent",
            {"staff_name": actor.name, "script_id": _short(script.id), "message": rendered.plain},
        )
        return MacroSend(decision=decision, topic=topic, text=rendered.plain)

    async def cancel(self, repos: Repos, use_id: int, actor: StaffActor) -> MacroSend:
        use = await repos.macros.get(use_id)
        now = self.staff.clock()
        if use is None or not await repos.macros.claim(use_id, MacroOutcome.CANCELLED, now):
            return MacroSend(notice=self.staff.staff_text("staff.macro.gone"))
        topic = self.staff.staff_text(
            "staff.macro.cancelled", {"staff_name": actor.name, "script_id": _short(use.script_id)}
        )
        return MacroSend(topic=topic)

    # -- rendering ----------------------------------------------------------------------

    def _context(self, ticket: Ticket, customer: Customer, actor: StaffActor) -> dict[str, object]:
        """What the ticket itself says, in the customer's language."""
        now = self.staff.clock()
        zone = self.staff.settings.zone
        language = customer.language
        return {
            "salutation": self.staff._salutation(customer, language),
            "first_name": customer.first_name or "",
            "business_name": self.staff.settings.business_name,
            "ticket_number": ticket.number,
            "first_response_due": format_deadline(ticket.first_response_due, now, zone, language),
            "resolution_due": format_deadline(ticket.resolution_due, now, zone, language),
            "staff_name": actor.name,
        }

    @staticmethod
    async def _captured(repos: Repos, ticket: Ticket, script: Script) -> dict[str, str]:
        """Values the customer already gave on this ticket, for a macro that needs them: the
        order number they wrote last (`care.desk.details`), so staff are not asked for it."""
        if "order_number" not in script.variables:
            return {}
        for message in reversed(await repos.messages.for_ticket(_ticket_id(ticket))):
            if message.direction == Direction.IN:
                orders = extract(message.text).orders
                if orders:
                    return {"order_number": orders[-1]}
        return {}

    def _missing(
        self,
        script: Script,
        ticket: Ticket,
        customer: Customer,
        actor: StaffActor,
        values: Mapping[str, str],
    ) -> list[str]:
        known = self._context(ticket, customer, actor).keys() | values.keys()
        return [name for name in script.variables if name not in known]

    def _render(
        self,
        script: Script,
        ticket: Ticket,
        customer: Customer,
        actor: StaffActor,
        values: Mapping[str, str],
    ) -> Rendered:
        # The approved text as written, unguarded here: Send guards it on the typed-reply
        # path (`StaffDesk.staff_message`), so a value staff typed that trips the guard is
        # refused with its reason instead of being swapped for the safe fallback unseen.
        context = {**self._context(ticket, customer, actor), **values}
        return self.staff.internal.render(script.id, customer.language, context)

    def _label(self, label_id: str, **context: object) -> str:
        return self.staff.staff_text(label_id, context).rendered.plain

    async def _customer(self, repos: Repos, ticket: Ticket) -> Customer:
        customer = await repos.customers.get(ticket.customer_id)
        if customer is None:  # pragma: no cover - the foreign key guarantees it
            raise LookupError(f"ticket {ticket.number} has no customer")
        return customer


def _short(script_id: str) -> str:
    """``macro.delivery.late`` -> ``delivery.late``: what staff type after /s."""
    return script_id.removeprefix("macro.")


def _values(use: MacroUse) -> dict[str, str]:
    if not use.values_json:
        return {}
    loaded = json.loads(use.values_json)
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _ticket_id(ticket: Ticket) -> int:
    if ticket.id is None:  # pragma: no cover - repositories flush new rows
        raise RuntimeError("ticket was not flushed")
    return ticket.id
