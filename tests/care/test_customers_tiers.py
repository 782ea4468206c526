"""Tier rules (ABC analysis) and `retier` with manual overrides."""

from __future__ import annotations

from decimal import Decimal

from care.outreach.config import TierRules
from care.outreach.tiers import compute_tiers, retier
from storage import Customer, Tier, TierInput
from tests.care.care_helpers import add_customers, customer


def _inputs(n: int) -> list[TierInput]:
    return [
        TierInput(i, 100 + i, float(i * 100), i, 0, Tier.REGULAR, None) for i in range(1, n + 1)
    ]


def test_top_20_percent_gold_next_30_silver() -> None:
    tiers = compute_tiers(_inputs(10), TierRules())
    assert [tiers[i] for i in range(10, 0, -1)] == (
        [Tier.GOLD] * 2 + [Tier.SILVER] * 3 + [Tier.REGULAR] * 5
    )


def test_weights_decide_the_ranking() -> None:
    big_spender = TierInput(1, 1, 10_000.0, 1, 0, Tier.REGULAR, None)
    loyal_referrer = TierInput(2, 2, 100.0, 50, 20, Tier.REGULAR, None)
    rules_spend = TierRules(
        spend_weight=1, visits_weight=0, referrals_weight=0, gold_share=0.5, silver_share=0
    )
    rules_loyal = TierRules(
        spend_weight=0, visits_weight=1, referrals_weight=1, gold_share=0.5, silver_share=0
    )
    assert compute_tiers([big_spender, loyal_referrer], rules_spend)[1] is Tier.GOLD
    assert compute_tiers([big_spender, loyal_referrer], rules_loyal)[2] is Tier.GOLD


def test_customers_with_no_activity_stay_regular() -> None:
    idle = [TierInput(i, i, 0.0, 0, 0, Tier.REGULAR, None) for i in range(1, 6)]
    assert set(compute_tiers(idle, TierRules()).values()) == {Tier.REGULAR}


async def test_retier_reports_moves_and_keeps_override(services) -> None:
    await add_customers(
        services.database,
        [customer(i, total_spend=Decimal(i * 100), visits=i) for i in range(1, 11)]
        + [customer(99, total_spend=Decimal(0), tier_override=Tier.GOLD)],
    )
    dry = await retier(services.database, TierRules(), dry_run=True)
    moves = await retier(services.database, TierRules())
    assert {m.telegram_id for m in moves} == {m.telegram_id for m in dry}
    assert {m.telegram_id: m.new for m in moves} == {
        # 11 customers: ceil(2.2) = 3 gold, ceil(5.5) - 3 = 3 silver (the pinned one counts)
        10: Tier.GOLD,
        9: Tier.GOLD,
        8: Tier.GOLD,
        7: Tier.SILVER,
        6: Tier.SILVER,
        5: Tier.SILVER,
    }
    assert await retier(services.database, TierRules()) == []  # stable
    async with services.database.session() as session:
        pinned = await session.get(Customer, 11)
        assert pinned is not None
        assert pinned.tier is Tier.REGULAR and pinned.effective_tier is Tier.GOLD
