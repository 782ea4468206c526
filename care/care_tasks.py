"""Staff care tasks: the personal call a gold customer gets on an occasion (电话关怀).

`pending_posts` renders each not-yet-posted task of a campaign with the approved
`care_task.call` script; the edge posts them to the staff group and calls `mark_posted`.
"""

from __future__ import annotations

from dataclasses import dataclass

from care.salutation import salutation
from care.services import Services
from scripts import Rendered
from storage import CareTaskRepo

__all__ = ["TaskPost", "mark_posted", "pending_posts"]

TASK_SCRIPT = "care_task.call"


@dataclass(frozen=True, slots=True)
class TaskPost:
    task_id: int
    rendered: Rendered


async def pending_posts(services: Services, campaign_id: int) -> list[TaskPost]:
    language = services.settings.default_language
    async with services.database.session() as session:
        rows = await CareTaskRepo(session).unposted(campaign_id)
    posts: list[TaskPost] = []
    for task, customer in rows:
        form = salutation(language, surname=customer.surname, title=customer.title,
                          first_name=customer.first_name)
        rendered = services.renderer.render(
            TASK_SCRIPT, language,
            {"salutation": form, "first_name": customer.first_name or str(customer.telegram_id)},
        )
        assert task.id is not None
        posts.append(TaskPost(task.id, rendered))
    return posts


async def mark_posted(services: Services, task_id: int, message_id: int) -> None:
    async with services.database.transaction() as session:
        await CareTaskRepo(session).set_posted(task_id, message_id)
