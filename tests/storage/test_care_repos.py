"""Care repositories on every backend: profiles upsert, audiences, the ledger's life cycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage import (
    Campaign,
    CampaignRepo,
    CareTaskRepo,
    DeliveryRepo,
    DeliveryResult,
    DeliveryStatus,
    ProfileRepo,
    Tier,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def test_ledger_life_cycle(make_database) -> None:
    db = await make_database()
    async with db.transaction() as session:
        profiles = ProfileRepo(session)
        await profiles.bulk_upsert(
            [
                {"telegram_id": 1, "first_name": "A", "birthday": date(1992, 2, 29)},
                {"telegram_id": 2, "first_name": "B", "tier_override": Tier.GOLD},
                {"telegram_id": 3, "first_name": "C", "birthday": date(1990, 11, 23)},
            ]
        )
        await profiles.bulk_upsert([{"telegram_id": 1, "surname": "梁"}])  # partial update
        campaign = await CampaignRepo(session).add(
            Campaign(
                name="t",
                occasion="spring_festival",
                window_start=NOW,
                window_end=NOW + timedelta(hours=12),
            )
        )
    assert campaign.id is not None
    async with db.transaction() as session:
        profiles = ProfileRepo(session)
        members = sorted(await profiles.audience(), key=lambda m: m.telegram_id)
        assert [(m.telegram_id, m.tier) for m in members] == [
            (1, Tier.REGULAR),
            (2, Tier.GOLD),
            (3, Tier.REGULAR),
        ]
        assert [m.telegram_id for m in await profiles.audience(tiers=[Tier.GOLD])] == [2]
        assert [m.telegram_id for m in await profiles.audience(birthday=date(2027, 2, 28))] == [1]
        assert [m.telegram_id for m in await profiles.audience(birthday=date(2026, 11, 23))] == [3]
        rows = [
            {
                "campaign_id": campaign.id,
                "customer_id": m.customer_id,
                "chat_id": m.telegram_id,
                "tier": m.tier,
            }
            for m in members
        ]
        ledger = DeliveryRepo(session)
        await ledger.materialize(rows)
        await ledger.materialize(rows)  # idempotent: unique (campaign, customer)
        assert await ledger.count_rows(campaign.id) == 3
        await CareTaskRepo(session).ensure(
            [{"campaign_id": campaign.id, "customer_id": 2, "occasion": "spring_festival"}] * 2
        )
    async with db.transaction() as session:
        ledger = DeliveryRepo(session)
        claimed = await ledger.claim(campaign.id, NOW, 2)
        assert [c.chat_id for c in claimed] == [1, 2] and claimed[0].surname == "梁"
        await ledger.record(
            [
                DeliveryResult(
                    claimed[0].id, DeliveryStatus.SENT, telegram_message_id=7, sent_at=NOW
                )
            ],
            NOW,
        )
    async with db.transaction() as session:
        ledger = DeliveryRepo(session)
        assert await ledger.recover_sending(campaign.id, "unknown", NOW) == 1  # row 2
        counts = await ledger.counts(campaign.id)
        assert counts[(Tier.REGULAR, DeliveryStatus.SENT)] == 1
        assert counts[(Tier.GOLD, DeliveryStatus.FAILED)] == 1
        later = NOW + timedelta(hours=7)
        third = (await ledger.claim(campaign.id, NOW, 5))[0]
        await ledger.record(
            [DeliveryResult(third.id, DeliveryStatus.PENDING, not_before=later, attempts=0)], NOW
        )
        assert await ledger.claim(campaign.id, NOW, 5) == []
        assert await ledger.next_due(campaign.id) == later
        assert len(await CareTaskRepo(session).for_campaign(campaign.id)) == 1
