"""The header's bell (unread count) and the inbox page `/notifications`.

The bell re-reads the count on a modest timer while any page is open for a signed-in user, so a new
notification shows up without a reload; the inbox page tells the bell at once when it marks items read.
Both read through backend.notify.inbox with a fresh session per read (maxxit_ui.state.db).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Literal

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError

from backend.notify import inbox
from maxxit_ui.state import notify_rows as rows
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.inputs import ID_TEXT_MAX, clip

logger = logging.getLogger(__name__)

Status = Literal["loading", "ready", "error"]
BELL_POLL_MS = 10_000  # a new notification shows within seconds; one small count query per tab per tick
BADGE_MAX = 99


class BellState(rx.State):
    """The unread count in the header; 0 hides the badge."""

    unread: int = 0

    _polling: bool = False

    @rx.var
    def badge(self) -> str:
        return f"{BADGE_MAX}+" if self.unread > BADGE_MAX else str(self.unread)

    @rx.var
    def bell_label(self) -> str:
        if self.unread == 0:
            return "Notifications: none unread"
        return f"Notifications: {self.unread} unread"

    @rx.event(background=True)
    async def refresh(self, _now: str = "") -> None:
        """The bell's mount and timer: count again quietly; a failed read keeps the last count."""
        async with self:
            if self._polling:
                return
            self._polling = True
            user = await current_user(self)
        count: int | None = None
        try:
            if user is not None:
                count = await read(lambda session: inbox.unread_count(session, user.id))
        except SQLAlchemyError:
            logger.exception("bell: unread count could not be read")  # the next tick tries again
        finally:
            async with self:
                self._polling = False
                if user is None:
                    self.unread = 0
                elif count is not None:
                    self.unread = count


class InboxState(rx.State):
    """One page of the signed-in user's notifications, newest first."""

    status: Status = "loading"
    error: str = ""
    items: list[rows.InboxRow] = []
    page: int = 0
    total: int = 0
    unread: int = 0
    marking: bool = False

    @rx.var
    def page_label(self) -> str:
        if self.total == 0:
            return ""
        first = self.page * rows.PAGE_SIZE + 1
        last = min(self.total, first + rows.PAGE_SIZE - 1)
        return f"{first}-{last} of {self.total}"

    @rx.var
    def has_previous(self) -> bool:
        return self.page > 0

    @rx.var
    def has_next(self) -> bool:
        return (self.page + 1) * rows.PAGE_SIZE < self.total

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.page = "loading", "", 0
        yield
        yield await self._refresh()

    async def _refresh(self) -> EventSpec | None:
        user = await current_user(self)
        if user is None:
            return to_signin(self)
        offset = self.page * rows.PAGE_SIZE
        try:
            result = await read(
                lambda session: inbox.list_items(session, user.id, limit=rows.PAGE_SIZE, offset=offset)
            )
        except SQLAlchemyError:
            logger.exception("inbox could not be read")
            self.error, self.status = DB_ERROR, "error"
            return None
        self.items = [rows.inbox_row(item) for item in result.items]
        self.total, self.unread = result.total, result.unread
        self.error, self.status = "", "ready"
        bell = await self.get_state(BellState)
        bell.unread = result.unread
        return None

    @rx.event
    async def next_page(self) -> AsyncIterator[EventSpec | None]:
        if self.status == "ready" and (self.page + 1) * rows.PAGE_SIZE < self.total:
            self.page += 1
            yield await self._refresh()

    @rx.event
    async def previous_page(self) -> AsyncIterator[EventSpec | None]:
        if self.status == "ready" and self.page > 0:
            self.page -= 1
            yield await self._refresh()

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
        user = await current_user(self)
        if user is None:
            return to_signin(self)
        self.marking = True
        try:
            await read(lambda session: inbox.mark_read(session, user.id, ids))
        except SQLAlchemyError:
            logger.exception("inbox: items could not be marked read")
            return rx.toast.error(DB_ERROR)
        finally:
            self.marking = False
        return await self._refresh()
