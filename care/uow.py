"""The repositories one update works with, bound to that update's database session."""

from __future__ import annotations

from dataclasses import dataclass

from storage import CustomerRepo, MacroRepo, MessageRepo, Session, StaffRepo, TicketRepo

__all__ = ["Repos"]


@dataclass(frozen=True, slots=True)
class Repos:
    """Every repository over one session; the session's owner commits, never a repository."""

    session: Session
    customers: CustomerRepo
    messages: MessageRepo
    tickets: TicketRepo
    staff: StaffRepo
    macros: MacroRepo

    @classmethod
    def bind(cls, session: Session) -> Repos:
        return cls(
            session=session,
            customers=CustomerRepo(session),
            messages=MessageRepo(session),
            tickets=TicketRepo(session),
            staff=StaffRepo(session),
            macros=MacroRepo(session),
        )
