"""Customer tiers (客户分级): ABC analysis over spend, visits and referrals, with overrides.

`compute_tiers` is a pure function of the metrics and the configured `TierRules`;
`retier` applies it to the database in one transaction and reports who moved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from care.outreach.config import TierRules
from storage import Database, ProfileRepo, Tier, TierInput

__all__ = ["TierMove", "compute_tiers", "retier", "value_scores"]


@dataclass(frozen=True, slots=True)
class TierMove:
    """A customer whose computed tier changed (their effective tier may be pinned)."""

    customer_id: int
    telegram_id: int
    old: Tier
    new: Tier
    pinned: Tier | None


def value_scores(customers: Sequence[TierInput], rules: TierRules) -> dict[int, float]:
    """Score in [0, 1] per customer id: metrics scaled by their maximum, then weighted."""
    if not customers:
        return {}
    max_spend = max(c.total_spend for c in customers) or 1.0
    max_visits = max(c.visits for c in customers) or 1
    max_refs = max(c.referrals for c in customers) or 1
    total = rules.spend_weight + rules.visits_weight + rules.referrals_weight
    return {
        c.customer_id: (
            rules.spend_weight * max(c.total_spend, 0.0) / max_spend
            + rules.visits_weight * max(c.visits, 0) / max_visits
            + rules.referrals_weight * max(c.referrals, 0) / max_refs
        )
        / total
        for c in customers
    }


def compute_tiers(customers: Sequence[TierInput], rules: TierRules) -> dict[int, Tier]:
    """The computed tier per customer id (overrides are applied at read time, not here).

    Ranking is by score, ties broken by customer id so the result is deterministic; the
    gold and silver counts are rounded up so a small shop still has a gold customer.
    Customers whose score is not above `min_score` stay regular whatever their rank.
    """
    scores = value_scores(customers, rules)
    ranked = sorted(customers, key=lambda c: (-scores[c.customer_id], c.customer_id))
    gold_n = math.ceil(len(ranked) * rules.gold_share)
    silver_n = math.ceil(len(ranked) * (rules.gold_share + rules.silver_share)) - gold_n
    tiers: dict[int, Tier] = {}
    for rank, customer in enumerate(ranked):
        score = scores[customer.customer_id]
        if score <= rules.min_score:
            tiers[customer.customer_id] = Tier.REGULAR
        elif rank < gold_n:
            tiers[customer.customer_id] = Tier.GOLD
        elif rank < gold_n + silver_n:
            tiers[customer.customer_id] = Tier.SILVER
        else:
            tiers[customer.customer_id] = Tier.REGULAR
    return tiers


async def retier(database: Database, rules: TierRules, *, dry_run: bool = False) -> list[TierMove]:
    """Recompute every customer's tier; returns who moved (nothing written when dry)."""
    async with database.transaction() as session:
        repo = ProfileRepo(session)
        customers = await repo.tier_inputs()
        computed = compute_tiers(customers, rules)
        moves = [
            TierMove(c.customer_id, c.telegram_id, c.tier, computed[c.customer_id], c.tier_override)
            for c in customers
            if computed[c.customer_id] != c.tier
        ]
        if not dry_run and moves:
            await repo.set_tiers({m.customer_id: m.new for m in moves})
    return moves
