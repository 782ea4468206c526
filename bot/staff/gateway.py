"""The staff forum edge: topics, ticket cards, relaying both ways, edits, resilience.

`care.desk.staff.StaffDesk` decides; this module performs the Bot API calls:

* escalation opens a forum topic (ticket number + tier badge + salutation) whose first
  message is the ticket card with inline buttons;
* customer messages are copied into the topic through the `StaffOutbox` (rate budget,
  bursts merged); staff messages are copied to the customer (text/captions guarded first);
  every copy is paired (`message_pairs`) so edits and replies are mirrored both ways;
* a ticket closed (resolved and left alone, `care.desk.closer`) closes its topic with a
  note, and reopening the ticket opens the topic again;
* "message thread not found" (topic deleted) -> a new topic, the ticket remapped, the message
  resent; 403 from a customer -> marked blocked and noted on the ticket; 429 -> bounded retry.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import Message, ReplyParameters

from bot.delivery import retrying
from bot.inbound import content_type_of
from bot.keyboards import buttons_keyboard, keyboard_for
from bot.staff.outbox import OutboxJob, StaffOutbox, TokenBucket
from care.desk.closer import Closure, close_resolved
from care.desk.staff import RelayDecision, SlaAlert
from care.replies import Reply
from care.runtime.services import Services
from care.uow import Repos
from storage import Direction, Ticket, TicketEventKind

__all__ = ["StaffGateway"]

log = logging.getLogger("carebot.staff")

T = TypeVar("T")

_THREAD_GONE = "thread not found"


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    """RetryAfter: wait as told and retry, a bounded number of times (logged as staff)."""
    return await retrying(call, log)


class StaffGateway:
    """One per dispatcher (workflow data ``staff_gateway``)."""

    def __init__(self, services: Services, *, period: float = 60.0) -> None:
        self.services = services
        bucket = TokenBucket(services.settings.staff.group_per_minute, period)
        self.outbox = StaffOutbox(bucket)

    @property
    def chat_id(self) -> int | None:
        return self.services.settings.staff_chat_id

    async def aclose(self, timeout: float = 10.0) -> None:
        await self.outbox.drain(timeout)
        await self.outbox.aclose()

    # -- topics -------------------------------------------------------------------------

    async def ensure_topic(self, bot: Bot, repos: Repos, ticket: Ticket) -> int | None:
        """The ticket's topic id, creating topic + card on first escalation."""
        if self.chat_id is None:
            return None
        if ticket.topic_id is not None:
            return ticket.topic_id
        return await self._open_topic(bot, repos, ticket)

    async def _open_topic(self, bot: Bot, repos: Repos, ticket: Ticket) -> int:
        assert self.chat_id is not None
        desk = self.services.staff
        name = await desk.topic_name(repos, ticket)
        topic = await _retrying(lambda: bot.create_forum_topic(self.chat_id or 0, name))
        thread = topic.message_thread_id
        card = await desk.card(repos, ticket)
        sent = await _retrying(
            lambda: bot.send_message(
                self.chat_id or 0,
                card.text,
                message_thread_id=thread,
                reply_markup=keyboard_for(card),
            )
        )
        self.outbox.bucket.spend(2)  # topic service message + card count against the budget
        await desk.topic_opened(repos, ticket, thread, sent.message_id)
        return thread

    # -- customer -> topic --------------------------------------------------------------

    async def relay_from_customer(
        self,
        bot: Bot,
        repos: Repos,
        ticket: Ticket,
        message: Message,
        after_commit: list[Callable[[], None]],
    ) -> None:
        """Open the topic if needed (inline), then queue the copy (after this update commits)."""
        thread = await self.ensure_topic(bot, repos, ticket)
        if thread is None or ticket.id is None:
            return
        reply_to = None
        if message.reply_to_message is not None:
            pair = await repos.staff.pair_by_customer_message(
                message.chat.id, message.reply_to_message.message_id
            )
            reply_to = pair.staff_message_id if pair is not None else None
        # Suggested replies ride on the copy itself: the group's budget pays for no extra post.
        buttons = await self.services.macros.suggest(
            repos, ticket, message.text or message.caption, message.message_id
        )
        if reply_to is None:
            job = OutboxJob(
                run=lambda group: self._copy_group(bot, message.chat.id, group),
                merge_key=thread,
                merge_text=message.text if content_type_of(message) == "text" else None,
                ticket_id=ticket.id,
                source_message_id=message.message_id,
                buttons=buttons,
            )
        else:  # a reply is never merged: it must point at its own message
            job = OutboxJob(
                run=lambda group: self._copy_one(bot, message.chat.id, group[0], reply_to=reply_to),
                ticket_id=ticket.id,
                source_message_id=message.message_id,
                buttons=buttons,
            )
        # The worker uses its own transaction, so the copy waits until this update committed.
        after_commit.append(lambda: self.outbox.put(job))

    async def _copy_group(self, bot: Bot, customer_chat: int, group: Sequence[OutboxJob]) -> None:
        if len(group) == 1:
            await self._copy_one(bot, customer_chat, group[0])
            return
        merged = "\n".join(job.merge_text or "" for job in group)

        async def send(repos: Repos, ticket: Ticket, thread: int) -> int:
            newest = next((job.buttons for job in reversed(group) if job.buttons), ())
            sent = await bot.send_message(
                self.chat_id or 0, merged, message_thread_id=thread, parse_mode=None,
                reply_markup=buttons_keyboard(newest),
            )  # fmt: skip
            return sent.message_id

        async def record(repos: Repos, ticket: Ticket, staff_message_id: int) -> None:
            for job in group:
                await self.services.staff.log_relayed(
                    repos, ticket, direction=Direction.IN, content_type="text", text=None,
                    customer_message_id=job.source_message_id or 0,
                    staff_message_id=staff_message_id, merged=True,
                )  # fmt: skip

        await self._in_topic(bot, group[0].ticket_id, send, record)

    async def _copy_one(
        self, bot: Bot, customer_chat: int, job: OutboxJob, *, reply_to: int | None = None
    ) -> None:
        async def send(repos: Repos, ticket: Ticket, thread: int) -> int:
            sent = await bot.copy_message(
                self.chat_id or 0,
                customer_chat,
                job.source_message_id or 0,
                message_thread_id=thread,
                reply_markup=buttons_keyboard(job.buttons),
                reply_parameters=(
                    ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                    if reply_to is not None
                    else None
                ),
            )
            return sent.message_id

        async def record(repos: Repos, ticket: Ticket, staff_message_id: int) -> None:
            await self.services.staff.log_relayed(
                repos, ticket, direction=Direction.IN, content_type="", text=None,
                customer_message_id=job.source_message_id or 0, staff_message_id=staff_message_id,
            )  # fmt: skip

        await self._in_topic(bot, job.ticket_id, send, record)

    async def _in_topic(
        self,
        bot: Bot,
        ticket_id: int | None,
        send: Callable[[Repos, Ticket, int], Awaitable[int]],
        record: Callable[[Repos, Ticket, int], Awaitable[None]] | None = None,
    ) -> None:
        """Send into the ticket's topic from the outbox worker, in a transaction of its own.

        A vanished topic ("message thread not found") is replaced by a new one (card and
        all), the ticket remapped, and the same message resent: nothing is lost.
        """
        if ticket_id is None:
            return
        async with self.services.unit_of_work() as repos:
            ticket = await repos.tickets.get(ticket_id)
            if ticket is None:
                return
            thread = await self.ensure_topic(bot, repos, ticket)
            if thread is None:
                return
            try:
                message_id = await _retrying(functools.partial(send, repos, ticket, thread))
            except TelegramBadRequest as exc:
                if _THREAD_GONE not in exc.message.lower():
                    log.warning("staff group rejected a message: %s", exc.message)
                    return
                log.warning("topic %s of %s is gone; opening a new one", thread, ticket.number)
                thread = await self._open_topic(bot, repos, ticket)
                notice = self.services.staff.topic_recreated()
                await _retrying(
                    lambda: bot.send_message(
                        self.chat_id or 0, notice.text, message_thread_id=thread
                    )
                )
                message_id = await _retrying(functools.partial(send, repos, ticket, thread))
            if record is not None:
                await record(repos, ticket, message_id)

    # -- staff-facing posts -------------------------------------------------------------

    def post(
        self,
        bot: Bot,
        ticket: Ticket,
        replies: Sequence[Reply],
        after_commit: list[Callable[[], None]],
    ) -> None:
        """Queue staff-facing texts for the ticket's topic (after the update commits)."""
        for reply in replies:
            job = self._post_job(bot, ticket.id, reply)
            after_commit.append(functools.partial(self.outbox.put, job))

    def _post_job(self, bot: Bot, ticket_id: int | None, reply: Reply) -> OutboxJob:
        async def send(repos: Repos, ticket: Ticket, thread: int) -> int:
            sent = await bot.send_message(
                self.chat_id or 0, reply.text, message_thread_id=thread,
                reply_markup=keyboard_for(reply),
            )  # fmt: skip
            return sent.message_id

        async def run(_group: Sequence[OutboxJob]) -> None:
            await self._in_topic(bot, ticket_id, send)

        return OutboxJob(run=run, ticket_id=ticket_id)

    async def refresh_card(self, bot: Bot, ticket: Ticket, card: Reply | None) -> None:
        """Edit the card in place; a missing or unchanged card is not worth failing over."""
        if card is None or self.chat_id is None or ticket.card_message_id is None:
            return
        try:
            await _retrying(
                lambda: bot.edit_message_text(
                    text=card.text,
                    chat_id=self.chat_id,
                    message_id=ticket.card_message_id,
                    reply_markup=keyboard_for(card),
                )
            )
        except TelegramBadRequest as exc:
            log.info("card of %s not refreshed: %s", ticket.number, exc.message)

    # -- staff -> customer --------------------------------------------------------------

    async def relay_to_customer(
        self,
        bot: Bot,
        repos: Repos,
        message: Message,
        decision: RelayDecision,
        after_commit: list[Callable[[], None]],
    ) -> None:
        """Copy (or send signed) an allowed staff message; blocked ones only inform staff."""
        ticket = decision.ticket
        if not decision.allowed:
            if decision.blocked is not None:
                await self.reply_in_topic(bot, message, decision.blocked)
            return
        reply_to = None
        if message.reply_to_message is not None:
            pair = await repos.staff.pair_by_staff_message(
                message.chat.id, message.reply_to_message.message_id
            )
            reply_to = pair.customer_message_id if pair is not None else None
        parameters = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        try:
            if decision.signed is not None:
                signed = decision.signed
                sent_id = (
                    await _retrying(
                        lambda: bot.send_message(
                            decision.customer_chat_id, signed.text, reply_parameters=parameters
                        )
                    )
                ).message_id
            else:
                sent_id = (
                    await _retrying(
                        lambda: bot.copy_message(
                            decision.customer_chat_id,
                            message.chat.id,
                            message.message_id,
                            reply_parameters=parameters,
                        )
                    )
                ).message_id
        except TelegramForbiddenError:
            notice = await self.services.staff.customer_blocked(repos, ticket)
            await self.reply_in_topic(bot, message, notice)
            return
        await self.services.staff.log_relayed(
            repos,
            ticket,
            direction=Direction.OUT,
            content_type=content_type_of(message),
            text=message.text or message.caption,
            customer_message_id=sent_id,
            staff_message_id=message.message_id,
        )
        if decision.reopen_topic:
            self.reopen_topic(bot, ticket, after_commit)
        if decision.taken is not None:
            self.post(bot, ticket, [decision.taken], after_commit)

    async def send_to_customer(
        self, bot: Bot, repos: Repos, ticket: Ticket, chat_id: int, replies: Sequence[Reply]
    ) -> bool:
        """Bot texts to the ticket's customer (taken, CSAT request); False if blocked."""
        for reply in replies:
            try:
                await _retrying(
                    functools.partial(
                        bot.send_message, chat_id, reply.text, reply_markup=keyboard_for(reply)
                    )
                )
            except TelegramForbiddenError:
                await self.services.staff.customer_blocked(repos, ticket)
                return False
        return True

    async def reply_in_topic(self, bot: Bot, message: Message, reply: Reply) -> int:
        """Answer the staff member right under their message (only they need to read it);
        returns the answer's message id."""
        sent = await _retrying(
            lambda: bot.send_message(
                message.chat.id,
                reply.text,
                message_thread_id=message.message_thread_id,
                reply_parameters=ReplyParameters(
                    message_id=message.message_id, allow_sending_without_reply=True
                ),
                reply_markup=keyboard_for(reply),
            )
        )
        self.outbox.bucket.spend()
        return sent.message_id

    async def edit_in_topic(self, bot: Bot, message: Message, reply: Reply) -> None:
        """Replace a bot message of the topic (a macro list page, a decided preview)."""
        try:
            await _retrying(
                lambda: bot.edit_message_text(
                    text=reply.text,
                    chat_id=message.chat.id,
                    message_id=message.message_id,
                    reply_markup=keyboard_for(reply),
                )
            )
        except TelegramBadRequest as exc:
            log.info("topic message not edited: %s", exc.message)

    async def send_macro(
        self,
        bot: Bot,
        repos: Repos,
        preview: Message,
        decision: RelayDecision,
        text: str,
        after_commit: list[Callable[[], None]],
    ) -> bool:
        """Send a macro's customer copy (`decision.signed`) like a relayed staff reply: the
        copy is paired with the preview message (replies and edits map both ways) and
        logged; a closed topic reopens; False when the customer has blocked the bot."""
        ticket, copy = decision.ticket, decision.signed
        if copy is None:  # pragma: no cover - MacroDesk.send always fills it
            return False
        try:
            sent = await _retrying(lambda: bot.send_message(decision.customer_chat_id, copy.text))
        except TelegramForbiddenError:
            notice = await self.services.staff.customer_blocked(repos, ticket)
            await self.reply_in_topic(bot, preview, notice)
            return False
        await self.services.staff.log_relayed(
            repos, ticket, direction=Direction.OUT, content_type="text", text=text,
            customer_message_id=sent.message_id, staff_message_id=preview.message_id,
        )  # fmt: skip
        if decision.reopen_topic:
            self.reopen_topic(bot, ticket, after_commit)
        if decision.taken is not None:
            self.post(bot, ticket, [decision.taken], after_commit)
        return True

    # -- edits --------------------------------------------------------------------------

    async def customer_edited(self, bot: Bot, repos: Repos, message: Message) -> None:
        """Mirror a customer's edit onto the topic copy (or post it when the copy was merged)."""
        pair = await repos.staff.pair_by_customer_message(message.chat.id, message.message_id)
        if pair is None or self.chat_id is None:
            return
        await self._mirror_edit(bot, message, self.chat_id, pair.staff_message_id, pair.merged)

    async def staff_edited(self, bot: Bot, repos: Repos, message: Message) -> None:
        """Mirror a staff edit onto the customer's copy, guarded like any staff text."""
        pair = await repos.staff.pair_by_staff_message(message.chat.id, message.message_id)
        if pair is None:
            return
        blocked = await self.services.staff.edit_allowed(message.text or message.caption)
        if blocked is not None:
            await self.reply_in_topic(bot, message, blocked)
            return
        await self._mirror_edit(bot, message, pair.customer_chat_id, pair.customer_message_id)

    async def _mirror_edit(
        self, bot: Bot, message: Message, chat_id: int, message_id: int, merged: bool = False
    ) -> None:
        try:
            if message.text is not None and not merged:
                await bot.edit_message_text(
                    text=message.text, chat_id=chat_id, message_id=message_id, parse_mode=None
                )
            elif message.text is not None:
                # One text inside a merged message: post the corrected text under it.
                await bot.send_message(
                    chat_id,
                    message.text,
                    parse_mode=None,
                    reply_parameters=ReplyParameters(
                        message_id=message_id, allow_sending_without_reply=True
                    ),
                )
            elif message.caption is not None:
                await bot.edit_message_caption(
                    caption=message.caption, chat_id=chat_id, message_id=message_id,
                    parse_mode=None,
                )  # fmt: skip
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("edit not mirrored: %s", exc.message)

    # -- closing and reopening topics ----------------------------------------------------

    def reopen_topic(
        self, bot: Bot, ticket: Ticket, after_commit: list[Callable[[], None]]
    ) -> None:
        """Open a reopened ticket's topic again, before anything else is posted into it."""
        if (job := self._topic_job(bot, ticket, closed=False)) is not None:
            after_commit.append(functools.partial(self.outbox.put, job))

    def _topic_job(
        self,
        bot: Bot,
        ticket: Ticket,
        *,
        closed: bool,
        note: Reply | None = None,
        card: Reply | None = None,
    ) -> OutboxJob | None:
        """Close (after refreshing `card` and posting `note`) or reopen the ticket's topic;
        None without a topic or a staff group. An outbox job, since Telegram posts a service
        message for each and they count against the group's budget - a first pass over a
        backlog of old tickets is paced, not a burst."""
        thread, chat, number = ticket.topic_id, self.chat_id, ticket.number
        if thread is None or chat is None:
            return None

        async def run(_group: Sequence[OutboxJob]) -> None:
            await self.refresh_card(bot, ticket, card)
            try:
                if note is not None:
                    self.outbox.bucket.spend()  # the note is a second message in one job
                    await _retrying(
                        lambda: bot.send_message(chat, note.text, message_thread_id=thread)
                    )
                if closed:
                    await _retrying(lambda: bot.close_forum_topic(chat, thread))
                else:
                    await _retrying(lambda: bot.reopen_forum_topic(chat, thread))
            except TelegramBadRequest as exc:
                # Already in that state (TOPIC_NOT_MODIFIED), deleted by someone, or the bot
                # lacks "manage topics": the ticket's status is what counts; never reopen a
                # deleted topic just to close it.
                action = "closed" if closed else "reopened"
                log.info("topic %s of %s not %s: %s", thread, number, action, exc.message)

        return OutboxJob(run=run, ticket_id=ticket.id)

    async def run_ticket_closer(self, bot: Bot) -> list[Closure]:
        """One pass of `care.desk.closer` (leader only): close in one transaction, then
        queue each topic's card refresh, note and close once it has committed."""
        async with self.services.unit_of_work() as repos:
            closures = await close_resolved(self.services.staff, repos, self.services.clock())
        for closure in closures:
            job = self._topic_job(
                bot, closure.ticket, closed=True, note=closure.topic, card=closure.card
            )
            if job is not None:
                self.outbox.put(job)
        if closures:
            log.info("closed %d resolved tickets", len(closures))
        return closures

    # -- SLA watcher --------------------------------------------------------------------

    async def run_sla_check(self, bot: Bot) -> list[SlaAlert]:
        """One watcher pass: alerts decided in one transaction, posted after it commits.

        Runs only in the leader process (`bot.runners.runtime.start_leader_duties`): the audit
        trail says each alert once, but two processes checking at the same moment would both
        read "not said yet" and both alert.
        """
        async with self.services.unit_of_work() as repos:
            alerts = await self.services.staff.check_sla(repos)
        for alert in alerts:
            if alert.kind is TicketEventKind.SLA_BREACH:
                # Counted after the commit: a rolled-back pass will be decided (and counted) again.
                self.services.metrics.sla_breaches.labels(alert.deadline).inc()
            if alert.ticket.topic_id is not None and self.chat_id is not None:
                self.post(bot, alert.ticket, [alert.topic], _Immediate())
            for user_id, reply in alert.supervisors:
                try:
                    await _retrying(functools.partial(bot.send_message, user_id, reply.text))
                except (TelegramBadRequest, TelegramForbiddenError) as exc:
                    log.warning("supervisor %s not alerted: %s", user_id, exc.message)
        return alerts


class _Immediate(list[Callable[[], None]]):
    """An ``after_commit`` list whose callbacks run at once (the caller already committed)."""

    def append(self, callback: Callable[[], None]) -> None:
        callback()
