"""Operator pages: users and their roles (`/admin/users`), and the audit log (`/admin/audit`).

Both re-authenticate on every load and action and show "Admins only" to anyone else; the services check
the role again (set_role refuses non-admins), so the page check is for the message, not the protection.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from typing import Any, Literal, TypedDict

import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError

from backend.audit import Action, AuditEntry, AuditQuery, list_entries
from backend.auth.errors import AuthError
from backend.auth.identity import CurrentUser
from backend.auth.users import UserOut, list_users, set_role
from backend.models.enums import Role
from maxxit_ui.components import format as fmt
from maxxit_ui.state.auth import require_admin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.inputs import clip, shown

logger = logging.getLogger(__name__)

USERS_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 25
ALL_ACTIONS = "ALL"
DETAILS_MAX = 140
FILTER_MAX = 64

AdminStatus = Literal["loading", "ready", "forbidden", "error"]


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


def sentence(error: Exception) -> str:
    """A service's lower-case message as UI text: "cannot remove the last admin" -> "Cannot ... admin."."""
    text = str(error).strip() or type(error).__name__
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


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


class AdminUsersState(rx.State):
    status: AdminStatus = "loading"
    error: str = ""
    search: str = ""
    page: int = 1
    total: int = 0
    rows: list[UserRow] = []
    busy_address: str = ""

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / USERS_PAGE_SIZE))

    @rx.var
    def page_label(self) -> str:
        return f"Page {self.page} of {self.page_count} · {self.total} user{'' if self.total == 1 else 's'}"

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        yield
        user, redirect = await require_admin(self)
        if user is None:
            self.status = "forbidden"
            yield redirect
            return
        await self._query(user)

    async def _query(self, me: CurrentUser) -> None:
        q, offset = self.search.strip()[:FILTER_MAX] or None, (self.page - 1) * USERS_PAGE_SIZE
        try:
            result = await read(
                lambda session: list_users(session, q=q, limit=USERS_PAGE_SIZE, offset=offset)
            )
        except SQLAlchemyError:
            logger.exception("admin: users could not be read")
            self.error, self.status = DB_ERROR, "error"
            return
        self.total = result.total
        self.rows = [_user_row(u, me) for u in result.items]
        self.status = "ready"

    async def _requery(self) -> EventSpec | None:
        user, redirect = await require_admin(self)
        if user is None:
            self.status = "forbidden"
            return redirect
        await self._query(user)
        return None

    @rx.event
    async def set_search(self, value: str) -> EventSpec | None:
        if self.status != "ready":  # only once the page has checked this tab's admin
            return None
        self.search, self.page = clip(value, FILTER_MAX), 1
        return await self._requery()

    @rx.event
    async def next_page(self) -> EventSpec | None:
        if self.page < self.page_count:
            self.page += 1
        return await self._requery()

    @rx.event
    async def prev_page(self) -> EventSpec | None:
        self.page = max(1, self.page - 1)
        return await self._requery()

    @rx.event
    async def change_role(self, address: str, role: str) -> AsyncIterator[EventSpec | None]:
        """Grant or revoke admin; the service's refusal (last admin, unknown user) is shown as it says."""
        if self.busy_address or role not in (Role.ADMIN, Role.TRADER):
            return
        self.error = ""
        user, redirect = await require_admin(self)
        if user is None:
            self.status = "forbidden"
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.busy_address = address
        yield
        try:
            changed = await read(lambda session: set_role(session, user, address, Role(role), ip=ip))
        except AuthError as e:  # LastAdmin, UserNotFound, Forbidden, InvalidAddress
            self.error = sentence(e)
            yield rx.toast.error(self.error)
            return
        except SQLAlchemyError:
            logger.exception("admin: role change failed")
            self.error = DB_ERROR
            return
        finally:
            self.busy_address = ""
        yield rx.toast.success(f"{fmt.short_address(changed.address)} is now {changed.role.value}.")
        # Revoking one's own admin ends access to this page: reload shows "Admins only".
        yield AdminUsersState.load


class AuditState(rx.State):
    status: AdminStatus = "loading"
    error: str = ""
    action: str = ALL_ACTIONS
    actor: str = ""
    page: int = 1
    total: int = 0
    rows: list[AuditRow] = []

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / AUDIT_PAGE_SIZE))

    @rx.var
    def page_label(self) -> str:
        return f"Page {self.page} of {self.page_count} · {self.total} entr{'y' if self.total == 1 else 'ies'}"

    @rx.var
    def has_prev(self) -> bool:
        return self.page > 1

    @rx.var
    def has_next(self) -> bool:
        return self.page < self.page_count

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        yield
        yield await self._requery()

    async def _requery(self) -> EventSpec | None:
        user, redirect = await require_admin(self)
        if user is None:
            self.status = "forbidden"
            return redirect
        try:
            query = AuditQuery(
                action=None if self.action == ALL_ACTIONS else self.action,
                actor=self.actor,
                limit=AUDIT_PAGE_SIZE,
                offset=(self.page - 1) * AUDIT_PAGE_SIZE,
            )
        except ValidationError:
            self.error = f"The actor filter is limited to {FILTER_MAX} characters."
            return None
        try:
            result = await read(lambda session: list_entries(session, query))
        except SQLAlchemyError:
            logger.exception("admin: audit log could not be read")
            self.error, self.status = DB_ERROR, "error"
            return None
        if not result.items and result.total and self.page > 1:
            self.page = max(1, math.ceil(result.total / AUDIT_PAGE_SIZE))
            return await self._requery()
        self.error = ""
        self.total = result.total
        self.rows = [_audit_row(e) for e in result.items]
        self.status = "ready"
        return None

    @rx.event
    async def set_action(self, value: str) -> EventSpec | None:
        if value != ALL_ACTIONS and value not in Action.all():
            self.error = f"Unknown action {shown(value)}."
            return None
        self.action, self.page = value, 1
        return await self._requery()

    @rx.event
    async def set_actor(self, value: str) -> EventSpec | None:
        if self.status != "ready":
            return None
        # One over the limit: stored bounded, and the query still answers "limited to … characters".
        self.actor, self.page = clip(value, FILTER_MAX + 1), 1
        return await self._requery()

    @rx.event
    async def clear_filters(self) -> EventSpec | None:
        self.action, self.actor, self.page = ALL_ACTIONS, "", 1
        return await self._requery()

    @rx.event
    async def next_page(self) -> EventSpec | None:
        if self.has_next:
            self.page += 1
        return await self._requery()

    @rx.event
    async def prev_page(self) -> EventSpec | None:
        if self.has_prev:
            self.page -= 1
        return await self._requery()
