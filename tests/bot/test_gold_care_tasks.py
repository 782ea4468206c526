"""Gold customers' personal-call tasks reach the staff group (STAFF_CHAT_ID) through the
Bot API, once, when the scheduler runs their campaign (the fake Bot API over loopback)."""

from __future__ import annotations

from care.outreach.scheduler import CareScheduler
from care.outreach.tasks import post_care_tasks
from care.outreach.wiring import campaign_desk
from care.runtime.services import Services
from storage import CareTaskRepo, DeliveryStatus
from tests.bot.conftest import Send
from tests.care.care_helpers import TimeMachine, add_customers, customer
from tests.fakes.bot_api import FakeBotAPI, parse_html

STAFF = -1001234500


def _texts_to(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [
        parse_html(c.params["text"])[0]
        for c in api.calls_of("sendMessage")
        if c.ok and c.params["chat_id"] == chat_id
    ]


async def test_gold_task_is_posted_to_the_staff_group_once(
    services: Services, api: FakeBotAPI, send: Send
) -> None:
    services.settings.staff_chat_id = STAFF
    await add_customers(
        services.database,
        [
            customer(7001, tier_override="gold", surname="王", title="先生", first_name="大明"),
            customer(7002, tier_override="silver"),
            customer(7003),
        ],
    )
    desk = campaign_desk(services)
    campaign = await desk.create("spring_festival")
    assert campaign.id is not None
    await desk.send_now(campaign.id)

    async def before(campaign_id: int) -> None:
        await post_care_tasks(services, campaign_id, send)

    scheduler = CareScheduler(
        services,
        send,
        jobstore="sqlite://",
        timer=TimeMachine(services.clock()),
        before_campaign=before,
    )
    report = await scheduler.run_campaign(campaign.id)
    assert report.total(DeliveryStatus.SENT) == 3

    [task] = _texts_to(api, STAFF)
    assert "金牌客户关怀任务" in task and "王先生" in task and "大明" in task
    for chat in (7001, 7002, 7003):
        assert len(_texts_to(api, chat)) == 1  # every tier greeted once
    async with services.database.session() as session:
        [row] = await CareTaskRepo(session).for_campaign(campaign.id)
    posted = [c for c in api.calls_of("sendMessage") if c.params["chat_id"] == STAFF]
    assert row.staff_message_id == posted[0].result["message_id"]

    await scheduler.run_campaign(campaign.id)  # the job fires again: nothing twice
    assert len(_texts_to(api, STAFF)) == 1
    assert all(len(_texts_to(api, chat)) == 1 for chat in (7001, 7002, 7003))


async def test_a_refused_post_is_retried_before_the_next_run(
    services: Services, api: FakeBotAPI, send: Send
) -> None:
    services.settings.staff_chat_id = STAFF
    await add_customers(services.database, [customer(7001, tier_override="gold")])
    desk = campaign_desk(services)
    campaign = await desk.create("mid_autumn")
    assert campaign.id is not None
    await desk.schedule(campaign.id)
    api.inject_error(
        "sendMessage",
        code=400,
        description="Bad Request: chat not found",
        match=lambda p: p.get("chat_id") == STAFF,
    )
    assert await post_care_tasks(services, campaign.id, send) == 0  # logged, not raised
    assert await post_care_tasks(services, campaign.id, send) == 1
    assert await post_care_tasks(services, campaign.id, send) == 0  # already posted


async def test_without_staff_chat_nothing_is_posted(
    services: Services, api: FakeBotAPI, send: Send
) -> None:
    await add_customers(services.database, [customer(7001, tier_override="gold")])
    desk = campaign_desk(services)
    campaign = await desk.create("mid_autumn")
    assert campaign.id is not None
    await desk.schedule(campaign.id)
    assert await post_care_tasks(services, campaign.id, send) == 0
    assert api.calls_of("sendMessage") == []
