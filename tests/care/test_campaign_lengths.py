"""The 70-character greeting limit, measured at scheduling with the longest real names."""

from __future__ import annotations

import pytest

from care.outreach.campaigns import CampaignError
from care.outreach.wiring import campaign_desk
from care.runtime.services import Services
from scripts import GREETING_MAX_CHARS
from storage import CampaignStatus
from tests.care.care_helpers import add_customers, customer


async def _lantern(services: Services) -> int:
    campaign = await campaign_desk(services).create("lantern", name="元宵")
    assert campaign.id is not None
    return campaign.id


async def test_a_real_long_name_pushes_a_greeting_over_the_limit(services: Services) -> None:
    # greeting.lantern.silver fits 70 characters with the lint's Ms. Montgomery-Smith ...
    await add_customers(
        services.database,
        [
            customer(
                1, tier_override="silver", language="en", surname="Montgomery-Smith", title="Ms."
            ),
            customer(
                2,
                tier_override="silver",
                language="en",
                surname="Featherstonehaugh-Smythe",
                title="Ms.",
            ),
            customer(3),
        ],
    )
    desk = campaign_desk(services)
    campaign_id = await _lantern(services)
    with pytest.raises(CampaignError) as refused:
        await desk.schedule(campaign_id)
    [problem] = refused.value.problems
    assert problem.startswith("silver: greeting.lantern.silver is ")
    assert "in en for Ms. Featherstonehaugh-Smythe" in problem
    length = int(problem.split(" is ")[1].split()[0])
    assert length > GREETING_MAX_CHARS
    assert (await desk.get(campaign_id)).status is CampaignStatus.DRAFT


async def test_names_that_fit_schedule(services: Services) -> None:
    await add_customers(
        services.database,
        [
            customer(
                1, tier_override="silver", language="en", surname="Montgomery-Smith", title="Ms."
            ),
            customer(2, surname="欧阳", title="女士"),
        ],
    )
    desk = campaign_desk(services)
    campaign_id = await _lantern(services)
    assert (await desk.schedule(campaign_id)).campaign.status is CampaignStatus.SCHEDULED


async def test_only_the_campaigns_languages_count(services: Services) -> None:
    await add_customers(
        services.database,
        [
            customer(
                1,
                tier_override="silver",
                language="en",
                surname="Featherstonehaugh-Smythe",
                title="Ms.",
            ),
            customer(2, tier_override="silver"),
        ],
    )
    from care.outreach.campaigns import Audience

    desk = campaign_desk(services)
    campaign = await desk.create("lantern", audience=Audience(languages=("zh-Hans",)))
    assert campaign.id is not None
    assert (await desk.schedule(campaign.id)).campaign.status is CampaignStatus.SCHEDULED
