"""What every page state does the same way, written once and mixed in: the load/error envelope, polling,
paging and asking before a destructive action.

A page state subclasses `rx.State` and the mixins it needs (`class DeploymentsState(PollingMixin,
ConfirmMixin, rx.State)`). Each mixin keeps its own names (`status`, `error`, `page`, `confirm_id`, ...),
so a page component can rely on them, and five pagers behave the same.

Reflex makes every public method of a state an event a browser may send, so the helpers page states call
(`_fetch`, `_attempt`, `_set_total`, ...) start with an underscore; only `poll`, `next_page`, `prev_page`,
`ask` and `confirm_open_change` are events.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.models.common import utcnow
from maxxit_ui.state.auth import current_user, require_admin, to_signin
from maxxit_ui.state.db import DB_ERROR, read

logger = logging.getLogger(__name__)

T = TypeVar("T")
Query = Callable[[Session], T]


class Unavailable(Enum):
    """A read that failed: the envelope has already said so (page error, or a log line while polling)."""

    TOKEN = 0


UNAVAILABLE = Unavailable.TOKEN


def sentence(error: Exception) -> str:
    """A refusal's message as a sentence: first letter up, one full stop."""
    text = str(error).strip() or "That was refused"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What an action did: its value, or the toast that tells the user why it did nothing (and its words,
    `message`, for a page that also shows them beside the form)."""

    value: T | None = None
    toast: EventSpec | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.toast is None


class LoadMixin(rx.State, mixin=True):
    """The load/error envelope: `status` is loading, ready or error, and `error` says why in words."""

    status: str = "loading"
    error: str = ""

    async def _fetch(
        self, query: Query[T], what: str, statuses: Mapping[type[Exception], str] | None = None
    ) -> T | Unavailable:
        """Run a backend read for the page; a database failure shows DB_ERROR in place of the page.
        `statuses` names the page status a refusal shows instead ({AgentNotFound: "not_found"})."""
        try:
            return await read(query)
        except SQLAlchemyError:
            logger.exception("%s could not be read", what)
            self.error, self.status = DB_ERROR, "error"
            return UNAVAILABLE
        except Exception as error:
            status = next((s for kind, s in (statuses or {}).items() if isinstance(error, kind)), None)
            if status is None:
                raise
            self.status = status
            return UNAVAILABLE

    def _show_ready(self) -> None:
        self.error, self.status = "", "ready"

    async def _viewer(self) -> tuple[CurrentUser | None, EventSpec | None]:
        """Who this page acts for, re-checked now: (the user, None), or (None, where to send the visitor:
        sign-in here). Underscored: Reflex makes each public method of a state an event a browser can send."""
        user = await current_user(self)
        return (user, None) if user is not None else (None, to_signin(self))

    async def _attempt(
        self,
        query: Query[T],
        what: str,
        refusals: Mapping[type[Exception], str | None] | None = None,
    ) -> Attempt[T]:
        """Run a backend write; a refusal the user can act on becomes an error toast, as does a database
        failure (logged). `refusals` maps exception types to a message, or None for the exception's own."""
        try:
            return Attempt(value=await read(query))
        except SQLAlchemyError:
            logger.exception("%s failed", what)
            return Attempt(toast=rx.toast.error(DB_ERROR), message=DB_ERROR)
        except Exception as error:
            for kind, message in (refusals or {}).items():
                if isinstance(error, kind):
                    words = message or sentence(error)
                    return Attempt(toast=rx.toast.error(words), message=words)
            raise


class PollingMixin(LoadMixin, mixin=True):
    """A page's timer calls `poll`; one refresh at a time, off the state lock, never while loading.

    A page implements `_poll_query(user)` (under the lock: the read to run, or None to skip this tick)
    and `_poll_apply(result)` (under the lock again: show the rows). A failed read keeps the last rows.
    """

    refreshed_at: str = ""
    _polling: bool = False

    def _poll_query(self, user: CurrentUser) -> Query[Any] | None:
        raise NotImplementedError

    def _poll_apply(self, result: Any) -> None:
        raise NotImplementedError

    def _can_poll(self) -> bool:
        """Whether this tick should run; pages add their own conditions (an action in flight)."""
        return self.status == "ready"

    def _mark_refreshed(self) -> None:
        self.refreshed_at = utcnow().strftime("%H:%M:%S UTC")

    @rx.event(background=True)
    async def poll(self, _now: str = "") -> AsyncIterator[EventSpec | None]:
        async with self:
            if self._polling or not self._can_poll():
                return
            user, redirect = await self._viewer()
            query = None if user is None else self._poll_query(user)
            if query is not None:
                self._polling = True
        if user is None:
            if redirect is not None:
                yield redirect
            return
        if query is None:
            return
        result: Any = UNAVAILABLE
        try:
            result = await read(query)
        except SQLAlchemyError:
            logger.exception("%s: refresh failed", type(self).__name__)  # the next tick tries again
        finally:
            async with self:
                self._polling = False
                if result is not UNAVAILABLE:
                    self._poll_apply(result)
                    self._mark_refreshed()


class AdminMixin(LoadMixin, mixin=True):
    """Operator pages: every load, action and poll re-checks that the user is an admin, and anyone else sees
    "Admins only" (`status == "forbidden"`). The services check the role again: this is the message."""

    async def _viewer(self) -> tuple[CurrentUser | None, EventSpec | None]:
        """(the admin, None); (None, a redirect to sign in); or (None, None) for a signed-in non-admin."""
        user, redirect = await require_admin(self)
        if user is None:
            self.status = "forbidden"
        return user, redirect


class PagerMixin(rx.State, mixin=True):
    """Numbered pages over a total: `page` counts from 1, `page_size` rows each.

    A page implements `_reload_page()` (an event-returning coroutine that reads the current page) and calls
    `_set_total(n)` with what it read. Every pager behaves the same:
    - `next_page`/`prev_page` stay within 1..page_count (nothing is read at either end);
    - a changed filter or search calls `_first_page()` and reads page 1;
    - a page past the end after rows disappeared moves to the last page that exists (`_set_total` returns
      True and the caller reads that page again), so nobody is left on an empty "Page 4 of 3".
    """

    page: int = 1
    total: int = 0
    page_size: int = 25

    @rx.var
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / max(1, self.page_size)))

    @rx.var
    def has_prev(self) -> bool:
        return self.page > 1

    @rx.var
    def has_next(self) -> bool:
        return self.page < self.page_count

    @rx.var
    def page_label(self) -> str:
        return f"Page {self.page} of {self.page_count}"

    def _set_total(self, total: int) -> bool:
        """Record the total; True when the current page is now past the end (the caller reads again)."""
        self.total = max(0, total)
        if self.page > self.page_count:
            self.page = self.page_count
            return True
        return False

    def _first_page(self) -> None:
        self.page = 1

    async def _reload_page(self) -> EventSpec | None:
        raise NotImplementedError

    @rx.event
    async def next_page(self) -> EventSpec | None:
        if self.page >= self.page_count:
            return None
        self.page += 1
        return await self._reload_page()

    @rx.event
    async def prev_page(self) -> EventSpec | None:
        if self.page <= 1:
            return None
        self.page -= 1
        return await self._reload_page()


class ConfirmMixin(rx.State, mixin=True):
    """One pending confirmation: which action on which item, named for the dialog.

    `ask(action, item_id, label)` opens the dialog; the dialog's open-change handler is `confirm_open_change`;
    the confirm button's handler calls `_take_confirmed(action)`, which returns the item id once (or "").
    """

    confirm_action: str = ""
    confirm_id: str = ""
    confirm_label: str = ""

    @rx.event
    def ask(self, action: str, item_id: str, label: str = "") -> None:
        self.confirm_action, self.confirm_id, self.confirm_label = action[:32], item_id[:64], label[:200]

    @rx.event
    def confirm_open_change(self, is_open: bool) -> None:
        if not is_open and not self._confirm_busy():
            self._clear_confirm()

    def _confirm_busy(self) -> bool:
        """Whether the confirmed action is still running: its dialog stays open (and shows its errors)."""
        return False

    def _clear_confirm(self) -> None:
        self.confirm_action = self.confirm_id = self.confirm_label = ""

    def _take_confirmed(self, action: str) -> str:
        """The item the user confirmed `action` for, once; "" when nothing (or another action) was asked."""
        item = self.confirm_id if self.confirm_action == action else ""
        self._clear_confirm()
        return item

    @classmethod
    def confirming(cls, action: str) -> rx.Var:
        """For the page: whether the dialog for `action` is open (a Var)."""
        return (cls.confirm_action == action) & (cls.confirm_id != "")
