"""Router composition: chat-scope filters and order live here, catch-alls last."""

from __future__ import annotations

from aiogram import F, Router

from bot.routers import customer, optout

__all__ = ["build_root_router"]


def build_root_router() -> Router:
    """Customers talk to the bot in private chats; staff routers join in their group."""
    root = Router(name="carebot")
    customers = Router(name="customers")
    customers.message.filter(F.chat.type == "private")
    customers.callback_query.filter(F.message.chat.type == "private")
    customers.include_router(optout.create_router())  # before the catch-all customer router
    customers.include_router(customer.create_router())
    root.include_router(customers)
    return root
