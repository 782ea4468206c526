"""Campaign validation: missing or failing scripts refuse scheduling; preview and tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from care.outreach.campaigns import Audience, CampaignError
from care.outreach.wiring import campaign_desk
from care.runtime.services import build_services
from scripts import approve_script
from storage import CampaignStatus, CareTaskRepo, Tier
from tests.care.care_helpers import add_customers, customer

LONG = """
- id: greeting.shop_day.regular
  purpose: shop_day
  channel: greeting
  tier: regular
  variables: [salutation]
  text:
    zh-Hans: "{{ salutation }}，店庆快乐！这是一条非常非常长的问候，长到超过了七十个字符的限制，所以检查一定不能通过，我们还要再写很多很多很多很多很多字才够，再加上一句同样很长很长很长的话来保证超出限制。"
    en: "Happy shop day, {{ salutation }}!"
  status: draft
"""  # noqa: E501


async def test_tier_without_script_cannot_be_scheduled(services) -> None:
    await add_customers(services.database, [customer(1, tier_override="gold"), customer(2)])
    desk = campaign_desk(services)
    campaign = await desk.create(
        "spring_festival",
        scripts={
            Tier.GOLD: None,
            Tier.SILVER: "greeting.spring_festival.silver",
            Tier.REGULAR: "greeting.spring_festival.regular",
        },
    )
    assert campaign.id is not None
    with pytest.raises(CampaignError, match="gold: no greeting script"):
        await desk.schedule(campaign.id)
    assert (await desk.get(campaign.id)).status is CampaignStatus.DRAFT


async def test_tier_without_recipients_needs_no_script(services) -> None:
    await add_customers(services.database, [customer(2)])
    desk = campaign_desk(services)
    campaign = await desk.create(
        "spring_festival",
        scripts={
            Tier.GOLD: None,
            Tier.SILVER: None,
            Tier.REGULAR: "greeting.spring_festival.regular",
        },
    )
    assert campaign.id is not None
    preview = await desk.schedule(campaign.id)
    assert preview.recipients[Tier.REGULAR] == 1


async def test_chat_script_or_unknown_script_refused(services) -> None:
    await add_customers(services.database, [customer(2), customer(3, tier_override="silver")])
    desk = campaign_desk(services)
    campaign = await desk.create(
        "x", scripts={Tier.GOLD: "welcome", Tier.SILVER: "nope", Tier.REGULAR: "welcome"}
    )
    assert campaign.id is not None
    with pytest.raises(CampaignError) as err:
        await desk.schedule(campaign.id)
    text = "\n".join(err.value.problems)
    assert "not a greeting" in text and "nope does not exist" in text


async def test_script_failing_lint_refused(settings, clock, tmp_path: Path) -> None:
    operator = tmp_path / "operator-scripts"
    operator.mkdir()
    (operator / "shop.yaml").write_text(LONG, encoding="utf-8")
    settings.scripts_dir = operator
    services = build_services(settings, clock=clock)
    await services.database.upgrade()
    try:
        desk = campaign_desk(services)
        campaign = await desk.create(
            "shop_day",
            scripts={
                Tier.GOLD: "greeting.shop_day.regular",
                Tier.SILVER: "greeting.shop_day.regular",
                Tier.REGULAR: "greeting.shop_day.regular",
            },
        )
        assert campaign.id is not None
        await add_customers(services.database, [customer(5)])
        with pytest.raises(CampaignError, match="is a draft"):
            await desk.schedule(campaign.id)
        # Approved without lint (a careless edit): still refused, by lint.
        approve_script(services.library, "greeting.shop_day.regular", "someone")
        with pytest.raises(CampaignError, match="characters with long values"):
            await desk.schedule(campaign.id)
    finally:
        await services.aclose()


async def test_preview_counts_and_samples_and_gold_call_tasks(services) -> None:
    await add_customers(
        services.database,
        [
            customer(1, tier_override="gold"),
            customer(2, tier_override="silver"),
            customer(3),
            customer(4, language="en", surname="Liang", title="Ms."),
        ],
    )
    desk = campaign_desk(services)
    campaign = await desk.create("mid_autumn", audience=Audience(tiers=("gold", "regular")))
    assert campaign.id is not None
    preview = await desk.preview(campaign.id)
    assert preview.recipients == {Tier.GOLD: 1, Tier.REGULAR: 2}
    for tier in Tier:
        sample = preview.samples[tier]
        assert not isinstance(sample, str) and "梁小姐" in sample.plain
    scheduled = await desk.schedule(campaign.id)
    assert scheduled.campaign.status is CampaignStatus.SCHEDULED
    async with services.database.session() as session:
        tasks = await CareTaskRepo(session).for_campaign(campaign.id)
    assert [t.customer_id for t in tasks] == [1]
