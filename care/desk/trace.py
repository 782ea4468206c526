"""What `carebot demo --trace` prints after each customer turn: why the bot answered so.

One line from the customer's `Dialogue` (care.desk.dialogue): the matched intent and its
score, the conversational act, the flow that answered, what the bot now waits for, the
complaint count and the open ticket. Operator-facing, English, not a customer text.

>>> from care.desk.dialogue import Dialogue
>>> d = Dialogue(asked="details", ticket="C-1", complaints=2)
>>> d.last = {"intent": "complaint", "score": 93.04, "flow": "repeat", "ticket": "C-1"}
>>> print(trace_line(d))
  [trace] intent=complaint score=93.0 act=- flow=repeat state=asked:details complaints:2 ticket=C-1
"""

from __future__ import annotations

from care.desk.dialogue import Dialogue

__all__ = ["trace_line"]


def trace_line(dialogue: Dialogue) -> str:
    last = dialogue.last
    score = last.get("score")
    shown = f"{score:.1f}" if isinstance(score, int | float) else "-"
    state = f"asked:{dialogue.asked or '-'} complaints:{dialogue.complaints}"
    if dialogue.raised:
        state += " raised"
    return (
        f"  [trace] intent={last.get('intent') or '-'} score={shown} act={last.get('act') or '-'}"
        f" flow={last.get('flow') or '-'} state={state} ticket={last.get('ticket') or '-'}"
    )
