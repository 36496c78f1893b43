"""The header's bell (unread count) and the inbox page `/notifications`.

The bell re-reads the count on a modest timer while any page is open for a signed-in user, so a new
notification shows up without a reload; the inbox page tells the bell at once when it marks items read.
Both read through backend.notify.inbox with a fresh session per read (maxxit_ui.state.db).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from backend.auth.identity import CurrentUser
from backend.notify import inbox
from maxxit_ui.state import notify_rows as rows
from maxxit_ui.state.auth import current_user
from maxxit_ui.state.inputs import ID_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin, PagerMixin, PollingMixin, Query

BELL_POLL_MS = 10_000  # a new notification shows within seconds; one small count query per tab per tick
BADGE_MAX = 99


class BellState(PollingMixin, rx.State):
    """The unread count in the header; 0 hides the badge. Polled on mount and on a timer, on every page:
    a failed read keeps the last count, and a signed-out visitor sees none (and stays where they are)."""

    unread: int = 0

    @rx.var
    def badge(self) -> str:
        return f"{BADGE_MAX}+" if self.unread > BADGE_MAX else str(self.unread)

    @rx.var
    def bell_label(self) -> str:
        if self.unread == 0:
            return "Notifications: none unread"
        return f"Notifications: {self.unread} unread"

    def _can_poll(self) -> bool:
        return True  # the bell has no page load of its own

    async def _viewer(self) -> tuple[CurrentUser | None, EventSpec | None]:
        user = await current_user(self)
        if user is None:
            self.unread = 0
        return user, None

    def _poll_query(self, user: CurrentUser) -> Query[int]:
        return lambda session: inbox.unread_count(session, user.id)

    def _poll_apply(self, count: int) -> None:
        self.unread = count


class InboxState(LoadMixin, PagerMixin, rx.State):
    """One page of the signed-in user's notifications, newest first."""

    items: list[rows.InboxRow] = []
    page_size: int = rows.PAGE_SIZE
    unread: int = 0
    marking: bool = False

    @rx.var
    def page_label(self) -> str:
        if self.total == 0:
            return ""
        first = (self.page - 1) * self.page_size + 1
        last = min(self.total, first + self.page_size - 1)
        return f"{first}-{last} of {self.total}"

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        self._first_page()
        yield
        yield await self._reload_page()

    async def _reload_page(self) -> EventSpec | None:
        user, redirect = await self._viewer()
        if user is None:
            return redirect
        limit, offset = self.page_size, (self.page - 1) * self.page_size
        result = await self._fetch(
            lambda s: inbox.list_items(s, user.id, limit=limit, offset=offset), "inbox"
        )
        if result is UNAVAILABLE:
            return None
        if self._set_total(result.total):
            return await self._reload_page()
        self.items = [rows.inbox_row(item) for item in result.items]
        self.unread = result.unread
        self._show_ready()
        bell = await self.get_state(BellState)
        bell.unread = result.unread
        return None

    @rx.event
    async def mark_all_read(self) -> AsyncIterator[EventSpec | None]:
        yield await self._mark(None)

    @rx.event
    async def open_item(self, item_id: str) -> AsyncIterator[EventSpec | None]:
        """Click on an item: mark it read, then go where it points. The path is the one the server rendered
        for this item (looked up here, never taken from the browser), a path on this site."""
        item_id = clip(item_id, ID_TEXT_MAX)
        row = next((r for r in self.items if r["id"] == item_id), None)
        if row is None:
            return
        yield await self._mark([int(item_id)])
        target = row["path"]
        if (
            target.startswith("/")
            and not target.startswith(("//", "/\\"))
            and target != rows.NOTIFICATIONS_ROUTE
        ):
            yield rx.redirect(target)

    async def _mark(self, ids: list[int] | None) -> EventSpec | None:
        if self.status != "ready" or self.marking:
            return None
        user, redirect = await self._viewer()
        if user is None:
            return redirect
        self.marking = True
        try:
            done = await self._attempt(lambda s: inbox.mark_read(s, user.id, ids), "inbox: marking read")
        finally:
            self.marking = False
        return done.toast if not done.ok else await self._reload_page()
