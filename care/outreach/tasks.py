"""Staff care tasks: the personal call a gold customer gets on an occasion (电话关怀).

`pending_posts` renders each not-yet-posted task of a campaign with the approved
`care_task.call` script; `post_care_tasks` sends them to the staff group (STAFF_CHAT_ID)
through the same framework-free `send` callable the campaign sender uses, and records each
posted message id so a rerun (a job firing twice, a resume) never posts a task twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from care.outreach.sender import OutgoingMessage, SendError, SendFn
from care.outreach.wiring import CareContext
from care.salutation import salutation
from scripts import Rendered
from storage import CareTaskRepo

__all__ = ["TaskPost", "mark_posted", "pending_posts", "post_care_tasks"]

log = logging.getLogger("carebot.care_tasks")

TASK_SCRIPT = "care_task.call"


@dataclass(frozen=True, slots=True)
class TaskPost:
    task_id: int
    rendered: Rendered


async def pending_posts(services: CareContext, campaign_id: int) -> list[TaskPost]:
    language = services.settings.default_language
    async with services.database.session() as session:
        rows = await CareTaskRepo(session).unposted(campaign_id)
    posts: list[TaskPost] = []
    for task, customer in rows:
        form = salutation(
            language, surname=customer.surname, title=customer.title, first_name=customer.first_name
        )
        rendered = services.renderer.render(
            TASK_SCRIPT,
            language,
            {"salutation": form, "first_name": customer.first_name or str(customer.telegram_id)},
        )
        assert task.id is not None
        posts.append(TaskPost(task.id, rendered))
    return posts


async def mark_posted(services: CareContext, task_id: int, message_id: int) -> None:
    async with services.database.transaction() as session:
        await CareTaskRepo(session).set_posted(task_id, message_id)


async def post_care_tasks(services: CareContext, campaign_id: int, send: SendFn) -> int:
    """Post the campaign's unposted gold call tasks to the staff group; how many were posted.

    Nothing happens without STAFF_CHAT_ID. A Telegram refusal stops the posting (the rest
    stays unposted and is tried again before the next run) but never the campaign itself.
    """
    chat = services.settings.staff_chat_id
    if chat is None:
        return 0
    posted = 0
    for post in await pending_posts(services, campaign_id):
        try:
            message_id = await send(OutgoingMessage(chat, post.rendered.text))
        except SendError as exc:
            log.warning("could not post care task %s to staff: %s", post.task_id, exc)
            break
        await mark_posted(services, post.task_id, message_id)
        posted += 1
    return posted
