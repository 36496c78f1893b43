"""Admin: CT accounts `/admin/ct-accounts`: the accounts the platform follows; add, pause, resume, remove;
and "Rebuild metrics" (every agent's figures and every account's impact factor), with a progress bar.

Every load and action re-authenticates and shows "Admins only" to anyone else; the services check the role
again, so the page check is for the message, not the protection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError

from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.metrics.rebuild import RebuildResult, rebuild_metrics
from backend.signals.accounts import (
    CtAccountAdmin,
    add_account,
    list_accounts_admin,
    remove_account,
    set_account_active,
)
from backend.signals.errors import CtAccountNotFound, InputRejected
from maxxit_ui.components import format as fmt
from maxxit_ui.state.admin import AdminStatus, sentence
from maxxit_ui.state.auth import require_admin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.inputs import clip

logger = logging.getLogger(__name__)

POSTS_ROUTE = "/admin/posts"
HANDLE_INPUT_MAX = 32
DISPLAY_NAME_INPUT_MAX = 64
PROGRESS_POLL_S = 0.2


class CtAccountRow(TypedDict):
    id: str
    handle: str
    display_name: str
    status: str
    status_color: str
    is_active: bool
    followers: str
    impact: str
    posts: str
    signal_posts: str
    last_post: str
    agents: str
    posts_href: str


def posts_href(account_id: int | str) -> str:
    """The posts page filtered to one account."""
    return f"{POSTS_ROUTE}?account={account_id}"


def account_row(account: CtAccountAdmin) -> CtAccountRow:
    active = account.status == "active"
    return CtAccountRow(
        id=str(account.id),
        handle=f"@{account.handle}",
        display_name=account.display_name or "—",
        status="Active" if active else "Paused",
        status_color="green" if active else "amber",
        is_active=active,
        followers=fmt.count(account.followers_count),
        impact=fmt.impact(account.impact_factor, account.impact_calls),
        posts=fmt.count(account.posts_count),
        signal_posts=fmt.count(account.signal_posts_count),
        last_post=fmt.timestamp(account.last_post_at) if account.last_post_at else "no posts yet",
        agents=fmt.count(account.agents_following),
        posts_href=posts_href(account.id),
    )


class CtAccountsState(rx.State):
    status: AdminStatus = "loading"
    error: str = ""
    rows: list[CtAccountRow] = []
    handle: str = ""
    display_name: str = ""
    handle_error: str = ""
    display_name_error: str = ""
    adding: bool = False
    busy_id: str = ""
    confirm_id: str = ""
    confirm_handle: str = ""
    removing: bool = False
    rebuilding: bool = False
    rebuild_pct: int = 0
    rebuild_label: str = ""

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.confirm_id = "loading", "", ""
        yield
        yield await self._requery()

    async def _admin(self) -> tuple[CurrentUser | None, EventSpec | None]:
        user, redirect = await require_admin(self)
        if user is None:
            self.status = "forbidden"
        return user, redirect

    async def _requery(self) -> EventSpec | None:
        user, redirect = await self._admin()
        if user is None:
            return redirect
        try:
            accounts = await read(list_accounts_admin)
        except SQLAlchemyError:
            logger.exception("admin: CT accounts could not be read")
            self.error, self.status = DB_ERROR, "error"
            return None
        self.rows = [account_row(a) for a in accounts]
        self.status = "ready"
        return None

    @rx.event
    def set_handle(self, value: str) -> None:
        if self.status == "ready":  # only once the page has checked this tab's admin
            self.handle, self.handle_error = clip(value, HANDLE_INPUT_MAX), ""

    @rx.event
    def set_display_name(self, value: str) -> None:
        if self.status == "ready":
            self.display_name, self.display_name_error = clip(value, DISPLAY_NAME_INPUT_MAX), ""

    @rx.event
    async def add(self) -> AsyncIterator[EventSpec | None]:
        """Follow the handle; a refusal (bad or followed handle) is shown beside its field."""
        if self.adding:
            return
        self.error = self.handle_error = self.display_name_error = ""
        user, redirect = await self._admin()
        if user is None:
            yield redirect
            return
        handle, name, ip = self.handle, self.display_name, self.router.session.client_ip or None
        self.adding = True
        yield
        try:
            added = await read(
                lambda session: add_account(session, handle=handle, display_name=name, actor=user, ip=ip)
            )
        except InputRejected as e:
            if e.field == "display_name":
                self.display_name_error = sentence(e)
            else:
                self.handle_error = sentence(e)
            return
        except SQLAlchemyError:
            logger.exception("admin: adding CT account %r failed", handle)
            self.error = DB_ERROR
            return
        finally:
            self.adding = False
        self.handle = self.display_name = ""
        yield rx.toast.success(f"Now following @{added.handle}.")
        yield await self._requery()

    @rx.event
    async def set_active(self, account_id: str, active: bool) -> AsyncIterator[EventSpec | None]:
        """Pause or resume; a paused account's new posts are not stored."""
        if self.busy_id or not account_id.isdigit():
            return
        self.error = ""
        user, redirect = await self._admin()
        if user is None:
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.busy_id = account_id
        yield
        try:
            changed = await read(
                lambda session: set_account_active(session, int(account_id), active, actor=user, ip=ip)
            )
        except (CtAccountNotFound, Forbidden) as e:
            self.error = sentence(e)
            return
        except SQLAlchemyError:
            logger.exception("admin: changing CT account %s failed", account_id)
            self.error = DB_ERROR
            return
        finally:
            self.busy_id = ""
        yield rx.toast.success(f"@{changed.handle} {'resumed' if active else 'paused'}.")
        yield await self._requery()

    @rx.event
    def ask_remove(self, account_id: str, handle: str) -> None:
        self.confirm_id, self.confirm_handle = account_id, handle

    @rx.event
    def dialog_open_change(self, is_open: bool) -> None:
        if not is_open:
            self.confirm_id = self.confirm_handle = ""

    @rx.event
    async def remove(self) -> AsyncIterator[EventSpec | None]:
        """Stop following the account the dialog asked about; its posts stay."""
        if self.removing or not self.confirm_id.isdigit():
            return
        account_id, handle = int(self.confirm_id), self.confirm_handle
        user, redirect = await self._admin()
        if user is None:
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.removing = True
        yield
        try:
            await read(lambda session: remove_account(session, account_id, actor=user, ip=ip))
        except (CtAccountNotFound, Forbidden) as e:
            self.error = sentence(e)
            return
        except SQLAlchemyError:
            logger.exception("admin: removing CT account %s failed", account_id)
            self.error = DB_ERROR
            return
        finally:
            self.removing = False
            self.confirm_id = self.confirm_handle = ""
        yield rx.toast.success(f"Stopped following {handle}. Its posts stay.")
        yield await self._requery()

    @rx.event(background=True)
    async def rebuild(self) -> AsyncIterator[EventSpec | None]:
        """Recompute every figure and impact factor from stored trades, the bar following each agent."""
        async with self:
            if self.rebuilding or self.status != "ready":
                return
            user, redirect = await self._admin()
            if user is not None:
                self.rebuilding, self.rebuild_pct, self.rebuild_label = True, 0, "Starting…"
                self.error = ""
            ip = self.router.session.client_ip or None
        if user is None:
            if redirect is not None:
                yield redirect
            return
        heard = {"done": 0, "total": 0, "stage": "agents"}  # written by the rebuild's thread, read here

        def hear(done: int, total: int, stage: str) -> None:
            heard.update(done=done, total=total, stage=stage)

        job = asyncio.ensure_future(
            read(lambda session: rebuild_metrics(session, user, ip=ip, progress=hear))
        )
        while not job.done():
            await asyncio.wait({job}, timeout=PROGRESS_POLL_S)
            async with self:
                self.rebuild_pct, self.rebuild_label = _progress(heard)
        try:
            result: RebuildResult = job.result()
        except Forbidden as e:
            async with self:
                self.error, self.rebuilding, self.rebuild_label = sentence(e), False, ""
            return
        except SQLAlchemyError:
            logger.exception("admin: rebuilding metrics failed")
            async with self:
                self.error, self.rebuilding, self.rebuild_label = DB_ERROR, False, "Rebuild failed."
            return
        try:
            accounts = await read(list_accounts_admin)  # the new impact factors, read outside the lock
        except SQLAlchemyError:
            logger.exception("admin: CT accounts could not be read after a rebuild")
            accounts = None
        async with self:
            self.rebuilding, self.rebuild_pct = False, 100
            self.rebuild_label = (
                f"Rebuilt {result.agents:,} agents' figures and {result.ct_accounts:,} impact factors."
            )
            if accounts is not None:
                self.rows = [account_row(a) for a in accounts]
        yield rx.toast.success("Metrics rebuilt.")


def _progress(heard: dict) -> tuple[int, str]:
    """The bar (0-100) and its words; the impact factors are the last step, after every agent."""
    done, total, stage = heard["done"], heard["total"], heard["stage"]
    if stage == "impact factors":
        return 100, "Impact factors written."
    if total == 0:
        return 0, "Starting…"
    return min(99, done * 100 // total), f"Agents: {done:,} of {total:,}"
