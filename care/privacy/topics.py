"""After an erasure (or retention's redaction): what to remove from the staff forum.

A redacted ticket's staff topic still holds the customer's card and the copies of everything
they sent. Telegram lets a bot delete a forum topic with all its messages at any age
(deleteForumTopic, with the *Delete messages* admin right), while single messages can only be
deleted for 48 hours. So the leader deletes each such topic; when Telegram refuses (right
missing), it deletes the copies that are still young enough and leaves a note in the topic
asking staff to delete it. A forgotten customer's topics get a note in the group's General
topic either way. The bot side is `bot.staff.cleanup`; this module decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from care.desk.staff import StaffDesk
from care.replies import Reply
from storage import Database, PrivacyRepo, TopicCleanup

__all__ = ["DELETE_WINDOW", "deletable_copies", "mark_cleaned", "note", "pending_topics"]

#: Telegram deletes single messages up to 48 hours old; keep a margin for clock skew.
DELETE_WINDOW = timedelta(hours=47)


async def pending_topics(database: Database, limit: int = 10) -> list[TopicCleanup]:
    """Redacted tickets whose topic still exists, oldest first."""
    async with database.session() as session:
        return await PrivacyRepo(session).topics_to_clean(limit)


async def mark_cleaned(database: Database, ticket_id: int, now: datetime) -> None:
    """The topic is dealt with: drop the ids that pointed into it."""
    async with database.transaction() as session:
        await PrivacyRepo(session).topic_cleaned(ticket_id, now)


def deletable_copies(cleanup: TopicCleanup, now: datetime) -> list[int]:
    """Message ids in the topic that deleteMessage still accepts (the card included)."""
    ids = [message_id for _, message_id, at in cleanup.copies if now - at < DELETE_WINDOW]
    return sorted(set(ids))


def note(staff: StaffDesk, cleanup: TopicCleanup, *, deleted: bool) -> Reply | None:
    """The staff note: for an erasure only (retention is routine and stays quiet)."""
    if not cleanup.forgotten:
        return None
    script = "staff.event.erased" if deleted else "staff.event.erased_partial"
    return staff.staff_text(script, {"ticket_number": cleanup.number})
