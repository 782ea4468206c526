"""Deleting redacted tickets' staff topics (after `carebot customers forget`, `/forget` or
retention): the Telegram half of `care.privacy.topics`, run by the leader only."""

from __future__ import annotations

import functools
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot.delivery import retrying
from care.privacy import topics
from care.runtime.services import Services
from storage import TopicCleanup

__all__ = ["CLEANUP_SECONDS", "clean_topics"]

log = logging.getLogger("carebot.privacy")

#: How often the leader looks for topics to delete (each pass handles a few, paced).
CLEANUP_SECONDS = 300.0


async def clean_topics(bot: Bot, services: Services) -> int:
    """One pass: delete each pending topic (or what Telegram allows); returns how many."""
    chat_id = services.settings.staff_chat_id
    pending = await topics.pending_topics(services.database)
    for cleanup in pending:
        if chat_id is not None:
            await _clean(bot, services, chat_id, cleanup)
        await topics.mark_cleaned(services.database, cleanup.ticket_id, services.clock())
    if pending:
        log.info("privacy: %d staff topic(s) of redacted tickets cleaned up", len(pending))
    return len(pending)


async def _clean(bot: Bot, services: Services, chat_id: int, cleanup: TopicCleanup) -> None:
    try:
        await retrying(functools.partial(bot.delete_forum_topic, chat_id, cleanup.topic_id), log)
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        log.warning("topic of %s not deleted (%s): deleting recent copies", cleanup.number, exc)
        for message_id in topics.deletable_copies(cleanup, services.clock()):
            try:
                await retrying(functools.partial(bot.delete_message, chat_id, message_id), log)
            except (TelegramBadRequest, TelegramForbiddenError) as gone:
                log.info("copy %d of %s not deleted: %s", message_id, cleanup.number, gone)
        reply = topics.note(services.staff, cleanup, deleted=False)
        thread: int | None = cleanup.topic_id
    else:
        reply = topics.note(services.staff, cleanup, deleted=True)
        thread = None  # the topic is gone: the note goes to the group's General topic
    if reply is None:
        return
    try:
        await retrying(
            functools.partial(bot.send_message, chat_id, reply.text, message_thread_id=thread), log
        )
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        log.warning("privacy note for %s not posted: %s", cleanup.number, exc)
