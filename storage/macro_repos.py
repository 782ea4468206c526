"""Staff-macro repository: previews, their send-once claim, suggestions and usage counts.

Like every repository it flushes but never commits: the caller's unit of work does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.macro_models import MacroKind, MacroOutcome, MacroUse

__all__ = ["MacroRepo", "MacroUsage"]


@dataclass(frozen=True, slots=True)
class MacroUsage:
    """Counts for `carebot scripts usage` and the reports.

    ``counts`` maps (script id, kind, outcome) to a number of rows; ``lines`` is how many
    suggestion lines were decided (sent, ignored or edited) and ``hits`` how many of them
    ended with one of their scripts sent.
    """

    counts: Mapping[tuple[str, str, str], int]
    lines: int
    hits: int


class MacroRepo:
    """Macro previews and suggestions of tickets."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- previews -----------------------------------------------------------------------

    async def open_preview(
        self,
        *,
        ticket_id: int,
        script_id: str,
        staff_id: int,
        values: Mapping[str, str],
        asking: str | None,
        suggestion_id: int | None,
        now: datetime,
    ) -> MacroUse:
        use = MacroUse(
            ticket_id=ticket_id,
            script_id=script_id,
            kind=MacroKind.PREVIEW,
            outcome=MacroOutcome.ASKING if asking else MacroOutcome.PENDING,
            staff_id=staff_id,
            values_json=json.dumps(dict(values), ensure_ascii=False) if values else None,
            asking=asking,
            suggestion_id=suggestion_id,
            created_at=now,
        )
        self.session.add(use)
        await self.session.flush()
        return use

    async def get(self, use_id: int) -> MacroUse | None:
        return await self.session.get(MacroUse, use_id)

    async def set_topic_message(self, use: MacroUse, message_id: int) -> None:
        use.topic_message_id = message_id
        self.session.add(use)
        await self.session.flush()

    async def asking_by_prompt(self, ticket_id: int, message_id: int) -> MacroUse | None:
        """The preview whose "please give VALUE" prompt is ``message_id`` in the topic."""
        result = await self.session.scalars(
            select(MacroUse)
            .where(col(MacroUse.ticket_id) == ticket_id)
            .where(col(MacroUse.kind) == MacroKind.PREVIEW)
            .where(col(MacroUse.outcome) == MacroOutcome.ASKING)
            .where(col(MacroUse.topic_message_id) == message_id)
        )
        return result.first()

    async def give_value(
        self, use: MacroUse, values: Mapping[str, str], asking: str | None
    ) -> None:
        use.values_json = json.dumps(dict(values), ensure_ascii=False)
        use.asking = asking
        use.outcome = MacroOutcome.ASKING if asking else MacroOutcome.PENDING
        use.topic_message_id = None
        self.session.add(use)
        await self.session.flush()

    async def claim(self, use_id: int, outcome: MacroOutcome, now: datetime) -> bool:
        """Move a pending preview to ``outcome`` (sent / cancelled); True for the one caller
        that did. One conditional UPDATE: two staff pressing Send at once, in two workers,
        are serialised by the database and the second finds the row no longer pending."""
        result = await self.session.execute(
            update(MacroUse)
            .where(col(MacroUse.id) == use_id)
            .where(col(MacroUse.kind) == MacroKind.PREVIEW)
            .where(col(MacroUse.outcome) == MacroOutcome.PENDING)
            .values(outcome=outcome, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        claimed = getattr(result, "rowcount", 0) == 1
        if claimed:
            use = await self.session.get(MacroUse, use_id)
            if use is not None:
                await self.session.refresh(use)
        return claimed

    async def claim_back(self, use_id: int, now: datetime) -> None:
        """A claimed Send that could not go out (guard, retired script): cancelled."""
        await self.session.execute(
            update(MacroUse)
            .where(col(MacroUse.id) == use_id)
            .values(outcome=MacroOutcome.CANCELLED, decided_at=now)
            .execution_options(synchronize_session=False)
        )

    # -- suggestions --------------------------------------------------------------------

    async def suggest(
        self,
        *,
        ticket_id: int,
        source_message_id: int,
        ranked: Sequence[tuple[str, float]],
        now: datetime,
    ) -> list[MacroUse]:
        """Record the scripts suggested for one customer message, best first."""
        rows = [
            MacroUse(
                ticket_id=ticket_id,
                script_id=script_id,
                kind=MacroKind.SUGGESTED,
                outcome=MacroOutcome.PENDING,
                rank=rank,
                score=round(score, 2),
                source_message_id=source_message_id,
                created_at=now,
            )
            for rank, (script_id, score) in enumerate(ranked, start=1)
        ]
        self.session.add_all(rows)
        await self.session.flush()
        return rows

    async def settle_suggestions(
        self, ticket_id: int, sent_script: str | None, now: datetime
    ) -> int:
        """Staff answered the ticket (a macro ``sent_script``, or typed text when None):
        every pending suggestion becomes sent (that script), edited (its preview was opened
        but not sent) or ignored. Returns how many were settled."""
        pending = list(
            (
                await self.session.scalars(
                    select(MacroUse)
                    .where(col(MacroUse.ticket_id) == ticket_id)
                    .where(col(MacroUse.kind) == MacroKind.SUGGESTED)
                    .where(col(MacroUse.outcome) == MacroOutcome.PENDING)
                )
            ).all()
        )
        if not pending:
            return 0
        opened = set(
            (
                await self.session.scalars(
                    select(MacroUse.suggestion_id)
                    .where(col(MacroUse.ticket_id) == ticket_id)
                    .where(col(MacroUse.kind) == MacroKind.PREVIEW)
                    .where(col(MacroUse.suggestion_id).is_not(None))
                )
            ).all()
        )
        for row in pending:
            if sent_script is not None and row.script_id == sent_script:
                row.outcome = MacroOutcome.SENT
            elif row.id in opened:
                row.outcome = MacroOutcome.EDITED
            else:
                row.outcome = MacroOutcome.IGNORED
            row.decided_at = now
            self.session.add(row)
        await self.session.flush()
        return len(pending)

    async def suggestion_for(self, ticket_id: int, script_id: str) -> MacroUse | None:
        """The newest pending suggestion of ``script_id`` in the ticket (a button press)."""
        result = await self.session.scalars(
            select(MacroUse)
            .where(col(MacroUse.ticket_id) == ticket_id)
            .where(col(MacroUse.kind) == MacroKind.SUGGESTED)
            .where(col(MacroUse.outcome) == MacroOutcome.PENDING)
            .where(col(MacroUse.script_id) == script_id)
            .order_by(col(MacroUse.id).desc())
            .limit(1)
        )
        return result.first()

    # -- usage --------------------------------------------------------------------------

    async def usage(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> MacroUsage:
        """Per-script counts by kind and outcome, and the suggestion hit rate."""
        query = select(MacroUse.script_id, MacroUse.kind, MacroUse.outcome, func.count()).group_by(
            col(MacroUse.script_id), col(MacroUse.kind), col(MacroUse.outcome)
        )
        if since is not None:
            query = query.where(col(MacroUse.created_at) >= since)
        if until is not None:
            query = query.where(col(MacroUse.created_at) < until)
        counts = {
            (str(script), str(kind), str(outcome)): int(n)
            for script, kind, outcome, n in (await self.session.execute(query)).all()
        }
        decided = (
            select(MacroUse.ticket_id, MacroUse.source_message_id)
            .where(col(MacroUse.kind) == MacroKind.SUGGESTED)
            .where(col(MacroUse.outcome) != MacroOutcome.PENDING)
        )
        if since is not None:
            decided = decided.where(col(MacroUse.created_at) >= since)
        if until is not None:
            decided = decided.where(col(MacroUse.created_at) < until)
        hit = decided.where(col(MacroUse.outcome) == MacroOutcome.SENT)
        lines = await self._distinct_count(decided)
        hits = await self._distinct_count(hit)
        return MacroUsage(counts=counts, lines=lines, hits=hits)

    async def _distinct_count(self, query: Any) -> int:
        sub = query.distinct().subquery()
        result = await self.session.execute(select(func.count()).select_from(sub))
        return int(result.scalar_one())
