"""Admin: CT accounts `/admin/ct-accounts`: the accounts the platform follows; add, pause, resume, remove;
and "Rebuild metrics" (every agent's figures and every account's impact factor), with a progress bar.

Every load and action re-authenticates and shows "Admins only" to anyone else; the services check the role
again, so the page check is for the message, not the protection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypedDict

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from backend.auth.errors import Forbidden
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
from maxxit_ui.state.inputs import clip
from maxxit_ui.state.mixins import UNAVAILABLE, AdminMixin, ConfirmMixin, sentence

POSTS_ROUTE = "/admin/posts"
HANDLE_INPUT_MAX = 32
DISPLAY_NAME_INPUT_MAX = 64
PROGRESS_POLL_S = 0.2
REFUSALS: dict[type[Exception], str | None] = {CtAccountNotFound: None, Forbidden: None}


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


class CtAccountsState(AdminMixin, ConfirmMixin, rx.State):
    rows: list[CtAccountRow] = []
    handle: str = ""
    display_name: str = ""
    handle_error: str = ""
    display_name_error: str = ""
    adding: bool = False
    busy_id: str = ""
    removing: bool = False
    rebuilding: bool = False
    rebuild_pct: int = 0
    rebuild_label: str = ""

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        self._clear_confirm()
        yield
        yield await self._requery()

    async def _requery(self) -> EventSpec | None:
        user, redirect = await self._viewer()
        if user is None:
            return redirect
        accounts = await self._fetch(list_accounts_admin, "admin: CT accounts")
        if accounts is not UNAVAILABLE:
            self.rows = [account_row(a) for a in accounts]
            self._show_ready()
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
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        handle, name, ip = self.handle, self.display_name, self.router.session.client_ip or None
        self.adding = True
        yield
        try:
            done = await self._attempt(
                lambda session: add_account(session, handle=handle, display_name=name, actor=user, ip=ip),
                "admin: adding a CT account",
            )
        except InputRejected as e:
            if e.field == "display_name":
                self.display_name_error = sentence(e)
            else:
                self.handle_error = sentence(e)
            return
        finally:
            self.adding = False
        if not done.ok:
            self.error = done.message  # beside the table, as every refusal here
            return
        self.handle = self.display_name = ""
        yield rx.toast.success(f"Now following @{done.value.handle}.")
        yield await self._requery()

    @rx.event
    async def set_active(self, account_id: str, active: bool) -> AsyncIterator[EventSpec | None]:
        """Pause or resume; a paused account's new posts are not stored."""
        if self.busy_id or not account_id.isdigit():
            return
        self.error = ""
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.busy_id = account_id
        yield
        try:
            done = await self._attempt(
                lambda session: set_account_active(session, int(account_id), active, actor=user, ip=ip),
                "admin: changing a CT account",
                REFUSALS,
            )
        finally:
            self.busy_id = ""
        if not done.ok:
            self.error = done.message  # beside the table, as every refusal here
            return
        yield rx.toast.success(f"@{done.value.handle} {'resumed' if active else 'paused'}.")
        yield await self._requery()

    @rx.event
    async def remove(self) -> AsyncIterator[EventSpec | None]:
        """Stop following the account the dialog asked about; its posts stay."""
        handle = self.confirm_label
        account_id = self._take_confirmed("remove")
        if self.removing or not account_id.isdigit():
            return
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.removing = True
        yield
        try:
            done = await self._attempt(
                lambda session: remove_account(session, int(account_id), actor=user, ip=ip),
                "admin: removing a CT account",
                REFUSALS,
            )
        finally:
            self.removing = False
        if not done.ok:
            self.error = done.message  # beside the table, as every refusal here
            return
        yield rx.toast.success(f"Stopped following {handle}. Its posts stay.")
        yield await self._requery()

    @rx.event(background=True)
    async def rebuild(self) -> AsyncIterator[EventSpec | None]:
        """Recompute every figure and impact factor from stored trades, the bar following each agent."""
        async with self:
            if self.rebuilding or self.status != "ready":
                return
            user, redirect = await self._viewer()
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

        def rebuilt(session: Session) -> tuple[RebuildResult, list[CtAccountAdmin]]:
            result = rebuild_metrics(session, user, ip=ip, progress=hear)
            return result, list_accounts_admin(session)  # the new impact factors

        job = asyncio.ensure_future(self._attempt(rebuilt, "admin: rebuilding metrics", {Forbidden: None}))
        while not job.done():
            await asyncio.wait({job}, timeout=PROGRESS_POLL_S)
            async with self:
                self.rebuild_pct, self.rebuild_label = _progress(heard)
        done = job.result()
        async with self:
            self.rebuilding = False
            if done.ok:
                result, accounts = done.value
                self.rebuild_pct, self.rows = 100, [account_row(a) for a in accounts]
                self.rebuild_label = (
                    f"Rebuilt {result.agents:,} agents' figures and {result.ct_accounts:,} impact factors."
                )
            else:
                self.error, self.rebuild_label = done.message, "Rebuild failed."
        if done.ok:
            yield rx.toast.success("Metrics rebuilt.")


def _progress(heard: dict) -> tuple[int, str]:
    """The bar (0-100) and its words; the impact factors are the last step, after every agent."""
    done, total, stage = heard["done"], heard["total"], heard["stage"]
    if stage == "impact factors":
        return 100, "Impact factors written."
    if total == 0:
        return 0, "Starting…"
    return min(99, done * 100 // total), f"Agents: {done:,} of {total:,}"
