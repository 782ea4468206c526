"""Router composition: chat-scope filters and order live here, catch-alls last."""

from __future__ import annotations

from aiogram import Router

from bot.filters import InPrivateChat
from bot.middlewares.flood import FloodMiddleware
from bot.routers import admin, csat, customer, macros, optout, privacy, reports, staff
from bot.staff.auth import InStaffChat

__all__ = ["build_root_router"]


def build_root_router() -> Router:
    """Customers talk to the bot in private chats; staff routers join in their group."""
    root = Router(name="carebot")
    # Managers' campaign console (/campaigns, adm:* buttons) and reports (/report, rpt:*)
    # in private chats, before the
    # customer catch-all; ADMIN_IDS is checked by care.outreach.admin on every action.
    console = Router(name="admin-console")
    console.message.filter(InPrivateChat())
    console.callback_query.filter(InPrivateChat())
    console.include_router(admin.create_router())
    console.include_router(reports.create_router())  # /report, ADMIN_IDS checked in care
    root.include_router(console)
    customers = Router(name="customers")
    customers.message.filter(InPrivateChat())
    customers.callback_query.filter(InPrivateChat())
    customers.edited_message.filter(InPrivateChat())
    customers.message.middleware(FloodMiddleware())
    customers.include_router(csat.create_router())  # a pending CSAT comment comes first
    customers.include_router(optout.create_router())  # before the catch-all customer router
    customers.include_router(privacy.create_customer_router())  # /forget
    customers.include_router(customer.create_router())
    root.include_router(customers)
    # The staff forum group (STAFF_CHAT_ID): topic commands, card buttons, relayed replies.
    staff_group = Router(name="staff-group")
    staff_group.message.filter(InStaffChat())
    staff_group.edited_message.filter(InStaffChat())
    staff_group.callback_query.filter(InStaffChat())
    staff_group.include_router(privacy.create_staff_router())  # erasure approvals
    staff_group.include_router(macros.create_router())  # /s, mac:* buttons, value prompts
    staff_group.include_router(staff.create_router())
    root.include_router(staff_group)
    return root
