"""Operator pages: users and their roles (`/admin/users`), and the audit log (`/admin/audit`).

Both re-authenticate on every load and action and show "Admins only" to anyone else; the services check
the role again (set_role refuses non-admins), so the page check is for the message, not the protection.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec

from backend.audit import Action, AuditEntry, AuditQuery, list_entries
from backend.auth.errors import AuthError
from backend.auth.identity import CurrentUser
from backend.auth.users import UserOut, list_users, set_role
from backend.models.enums import Role
from maxxit_ui.components import format as fmt
from maxxit_ui.state.inputs import clip, shown
from maxxit_ui.state.mixins import UNAVAILABLE, AdminMixin, PagerMixin

USERS_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 25
ALL_ACTIONS = "ALL"
DETAILS_MAX = 140
FILTER_MAX = 64


class UserRow(TypedDict):
    id: str
    address: str
    role: str
    is_admin: bool
    is_self: bool
    created: str
    last_login: str


class AuditRow(TypedDict):
    id: str
    time: str
    actor: str
    actor_short: str
    action: str
    entity: str
    details: str
    details_full: str
    ip: str


def compact_details(details: dict[str, Any], limit: int = DETAILS_MAX) -> tuple[str, str]:
    """(shown, full): the details as one line of JSON, cut at `limit` characters with an ellipsis."""
    if not details:
        return "—", ""
    full = json.dumps(details, separators=(", ", ": "), sort_keys=True, default=str, ensure_ascii=False)
    shown = full if len(full) <= limit else full[: limit - 1] + "…"
    return shown, full


def _user_row(user: UserOut, me: CurrentUser) -> UserRow:
    return UserRow(
        id=str(user.id),
        address=user.address,
        role=user.role.value,
        is_admin=user.role == Role.ADMIN,
        is_self=user.id == me.id,
        created=fmt.timestamp(user.created_at),
        last_login=fmt.timestamp(user.last_login_at) if user.last_login_at else "never",
    )


def _audit_row(entry: AuditEntry) -> AuditRow:
    shown, full = compact_details(entry.details)
    actor = entry.actor
    entity = entry.entity_type + (f" #{entry.entity_id}" if entry.entity_id else "")
    return AuditRow(
        id=str(entry.id),
        time=fmt.timestamp(entry.created_at),
        actor=actor,
        actor_short=fmt.short_address(actor) if actor.startswith("0x") else actor,
        action=entry.action,
        entity=entity,
        details=shown,
        details_full=full,
        ip=entry.ip or "—",
    )


class AdminUsersState(AdminMixin, PagerMixin, rx.State):
    search: str = ""
    page_size: int = USERS_PAGE_SIZE
    rows: list[UserRow] = []
    busy_address: str = ""

    @rx.var
    def page_label(self) -> str:
        return f"Page {self.page} of {self.page_count} · {self.total} user{'' if self.total == 1 else 's'}"

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        yield
        yield await self._reload_page()

    async def _reload_page(self) -> EventSpec | None:
        me, redirect = await self._viewer()
        if me is None:
            return redirect
        q, offset = self.search.strip()[:FILTER_MAX] or None, (self.page - 1) * self.page_size
        limit = self.page_size
        result = await self._fetch(lambda s: list_users(s, q=q, limit=limit, offset=offset), "admin: users")
        if result is UNAVAILABLE:
            return None
        if self._set_total(result.total):
            return await self._reload_page()
        self.rows = [_user_row(u, me) for u in result.items]
        self._show_ready()
        return None

    @rx.event
    async def set_search(self, value: str) -> EventSpec | None:
        if self.status != "ready":  # only once the page has checked this tab's admin
            return None
        self.search = clip(value, FILTER_MAX)
        self._first_page()
        return await self._reload_page()

    @rx.event
    async def change_role(self, address: str, role: str) -> AsyncIterator[EventSpec | None]:
        """Grant or revoke admin; the service's refusal (last admin, unknown user) is shown as it says."""
        if self.busy_address or role not in (Role.ADMIN, Role.TRADER):
            return
        self.error = ""
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.busy_address = address
        yield
        try:  # LastAdmin, UserNotFound, Forbidden, InvalidAddress: in the service's words
            done = await self._attempt(
                lambda s: set_role(s, user, address, Role(role), ip=ip),
                "admin: role change",
                {AuthError: None},
            )
        finally:
            self.busy_address = ""
        if not done.ok:
            self.error = done.message  # beside the table too
            yield done.toast
            return
        yield rx.toast.success(f"{fmt.short_address(done.value.address)} is now {done.value.role.value}.")
        # Revoking one's own admin ends access to this page: reload shows "Admins only".
        yield AdminUsersState.load


class AuditState(AdminMixin, PagerMixin, rx.State):
    action: str = ALL_ACTIONS
    actor: str = ""
    page_size: int = AUDIT_PAGE_SIZE
    rows: list[AuditRow] = []

    @rx.var
    def page_label(self) -> str:
        return f"Page {self.page} of {self.page_count} · {self.total} entr{'y' if self.total == 1 else 'ies'}"

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        yield
        yield await self._reload_page()

    async def _reload_page(self) -> EventSpec | None:
        user, redirect = await self._viewer()
        if user is None:
            return redirect
        try:
            query = AuditQuery(
                action=None if self.action == ALL_ACTIONS else self.action,
                actor=self.actor,
                limit=self.page_size,
                offset=(self.page - 1) * self.page_size,
            )
        except ValidationError:
            self.error = f"The actor filter is limited to {FILTER_MAX} characters."
            return None
        result = await self._fetch(lambda session: list_entries(session, query), "admin: audit log")
        if result is UNAVAILABLE:
            return None
        if self._set_total(result.total):
            return await self._reload_page()
        self.rows = [_audit_row(e) for e in result.items]
        self._show_ready()
        return None

    async def _filtered(self) -> EventSpec | None:
        self._first_page()
        return await self._reload_page()

    @rx.event
    async def set_action(self, value: str) -> EventSpec | None:
        if value != ALL_ACTIONS and value not in Action.all():
            self.error = f"Unknown action {shown(value)}."
            return None
        self.action = value
        return await self._filtered()

    @rx.event
    async def set_actor(self, value: str) -> EventSpec | None:
        if self.status != "ready":
            return None
        # One over the limit: stored bounded, and the query still answers "limited to … characters".
        self.actor = clip(value, FILTER_MAX + 1)
        return await self._filtered()

    @rx.event
    async def clear_filters(self) -> EventSpec | None:
        self.action, self.actor = ALL_ACTIONS, ""
        return await self._filtered()
