"""How many SQL statements a customer text costs, pinned so the count cannot silently regress.

Each statement is a database round trip (on SQLite several aiosqlite thread hops), and per
update that cost is what the load benchmark (`carebot bench load`) measures. A plain FAQ
question must stay at: the customer upsert (one INSERT ... ON CONFLICT ... RETURNING), one
open-ticket lookup, and the message log rows written together at the commit as one batched
INSERT (storage.queued) - plus SQLite's explicit BEGIN IMMEDIATE.
"""

from __future__ import annotations

import pytest

from care.runtime.services import Services
from tests.bot.chat import Chat, plain


def _kinds(statements: list[str]) -> list[str]:
    """'INSERT INTO customers ...' -> 'INSERT customers', 'SELECT ... FROM tickets' -> ..."""
    kinds = []
    for statement in statements:
        words = statement.split()
        if words[0] == "INSERT":
            kinds.append(f"INSERT {words[2]}")
        elif words[0] == "SELECT":
            kinds.append(f"SELECT {words[words.index('FROM') + 1]}")
        else:
            kinds.append(" ".join(words[:2]))
    return kinds


def _expected_faq(services: Services) -> list[str]:
    # The question and the answer: one executemany.
    statements = ["INSERT customers", "SELECT tickets", "INSERT message_logs"]
    return ["BEGIN IMMEDIATE", *statements] if services.database.is_sqlite else statements


@pytest.mark.parametrize("returning", [False, True], ids=["new customer", "returning customer"])
async def test_faq_question_statement_budget(
    chat: Chat, services: Services, returning: bool
) -> None:
    if returning:
        await chat.say("hello")
    with services.database.statement_counter() as statements:
        sent = await chat.say("请问你们几点关门")
    assert len(sent) == 1 and "09:00" in plain(sent[0])
    assert _kinds(statements) == _expected_faq(services)


async def test_complaint_statement_budget(chat: Chat, services: Services) -> None:
    """A complaint adds only the ticket itself: its day counter and its row (no extra
    open-ticket lookup, no UPDATE of the log row to attach the ticket)."""
    await chat.say("hello")
    with services.database.statement_counter() as statements:
        await chat.say("我的快递三天还没到,太慢了")
    ticket = ["INSERT ticket_counters", "INSERT tickets"]
    faq = _expected_faq(services)
    logs = faq.count("INSERT message_logs")
    assert _kinds(statements) == [*faq[:-logs], *ticket, *faq[-logs:]]
