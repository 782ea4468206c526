"""The access request: everything carebot holds about one customer, as one document."""

from __future__ import annotations

import json
from typing import Any

from storage import Database, PrivacyRepo

__all__ = ["collect", "render_json", "render_text"]

#: Format version of the document, so a reader can tell what it is looking at.
DOCUMENT_VERSION = 1


async def collect(
    database: Database, telegram_id: int, *, generated_at: str
) -> dict[str, Any] | None:
    """The customer's data (None when nobody with ``telegram_id`` is known)."""
    async with database.session() as session:
        repo = PrivacyRepo(session)
        customer = await repo.by_telegram_id(telegram_id)
        if customer is None:
            return None
        data = await repo.snapshot(customer)
    return {
        "document": "carebot personal data",
        "version": DOCUMENT_VERSION,
        "generated_at": generated_at,
        "telegram_id": telegram_id,
        "held_elsewhere": (
            "Telegram itself keeps the chat with the bot and the copies in the staff group's "
            "forum topics; carebot keeps no files or photos, only the kind of each message."
        ),
        **data,
    }


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _line(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def render_text(document: dict[str, Any]) -> str:
    """A readable version of the document (every field, sections per table)."""
    out = [
        f"# {document['document']} - telegram id {document['telegram_id']}",
        f"generated at {document['generated_at']}",
        "",
    ]
    out.append("## profile")
    out += [f"{key}: {_line(value)}" for key, value in document["profile"].items()]
    out += ["", f"## tickets ({len(document['tickets'])})"]
    for ticket in document["tickets"]:
        out.append("")
        out.append(f"### {ticket['number']}")
        for key, value in ticket.items():
            if key not in ("transcript", "events", "staff_topic_copies", "number"):
                out.append(f"{key}: {_line(value)}")
        out.append("transcript:")
        for m in ticket["transcript"]:
            arrow = "<-" if m["direction"] == "in" else "->"
            out.append(f"  {m['created_at']} {arrow} [{m['content_type']}] {_line(m['text'])}")
        out.append("events:")
        for e in ticket["events"]:
            out.append(
                f"  {e['created_at']} {e['kind']} {_line(e['actor_name'])} {_line(e['text'])}"
            )
        out.append(f"staff topic copies: {len(ticket['staff_topic_copies'])} message(s)")
    other = document["messages_outside_tickets"]
    out += ["", f"## other messages ({len(other)})"]
    for m in other:
        arrow = "<-" if m["direction"] == "in" else "->"
        out.append(f"  {m['created_at']} {arrow} [{m['content_type']}] {_line(m['text'])}")
    out += ["", f"## greetings sent or planned ({len(document['deliveries'])})"]
    for d in document["deliveries"]:
        out.append(
            f"  {d['created_at']} {_line(d['campaign_name'])} ({d['occasion']}): {d['status']}"
            f" {_line(d['sent_at'])}"
        )
    out += ["", f"## care tasks ({len(document['care_tasks'])})"]
    for t in document["care_tasks"]:
        out.append(
            f"  {t['created_at']} {t['kind']} {t['occasion']}: {t['status']} {_line(t['note'])}"
        )
    out += ["", "## held elsewhere", document["held_elsewhere"], ""]
    return "\n".join(out)
