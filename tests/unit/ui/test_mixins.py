"""The page-state mixins: the load envelope, paging, confirming and polling behave the same on every page."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import reflex as rx
from reflex.event import EventSpec
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.istate.proxy import StateProxy
from reflex.state import State
from reflex_base.event.context import EventContext
from sqlalchemy.exc import OperationalError

from backend.auth.identity import CurrentUser
from backend.models.enums import Role
from maxxit_ui.state import mixins
from maxxit_ui.state.db import DB_ERROR
from maxxit_ui.state.mixins import (
    UNAVAILABLE,
    AdminMixin,
    ConfirmMixin,
    LoadMixin,
    PagerMixin,
    PollingMixin,
)
from tests.coroutines import run_coroutine

TRADER = CurrentUser(id=1, address="0x" + "1" * 40, role=Role.TRADER, session_id=1)


class Refused(ValueError):
    pass


class MixedState(LoadMixin, PagerMixin, ConfirmMixin, rx.State):
    rows: list[str] = []
    reloads: int = 0

    async def _reload_page(self) -> EventSpec | None:
        self.reloads += 1
        return None


class PolledState(PollingMixin, rx.State):
    rows: list[str] = []

    def _poll_query(self, user: Any) -> Any:
        return lambda session: ["fresh"]

    def _poll_apply(self, result: Any) -> None:
        self.rows = result


class SignedInPolledState(PolledState):
    async def _viewer(self) -> tuple[CurrentUser | None, EventSpec | None]:
        return TRADER, None


class AdminPolledState(AdminMixin, PollingMixin, rx.State):
    def _poll_query(self, user: Any) -> Any:
        raise AssertionError("nobody but an admin gets here")

    def _poll_apply(self, result: Any) -> None:
        raise AssertionError("nobody but an admin gets here")


class BusyConfirmState(ConfirmMixin, rx.State):
    acting: bool = False

    def _confirm_busy(self) -> bool:
        return self.acting


def _state(cls: type[State]) -> Any:
    return State(_reflex_internal_init=True).get_substate(cls.get_full_name().split("."))


def _failing(session: Any) -> None:
    raise OperationalError("SELECT 1", {}, Exception("down"))


def _refusing(session: Any) -> None:
    raise Refused("balance too low")


@pytest.fixture
def sessionless(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Queries here take no session: `read` calls them with None. Returns the queries read, in order."""
    reads: list[Any] = []

    async def read(query: Any) -> Any:
        reads.append(query)
        return query(None)

    monkeypatch.setattr(mixins, "read", read)
    return reads


def test_fetch_returns_the_value_or_shows_the_database_error(sessionless: None):
    state = _state(MixedState)
    assert run_coroutine(state._fetch(lambda s: [1, 2], "rows")) == [1, 2]
    assert state.status == "loading"
    state._show_ready()
    assert (state.status, state.error) == ("ready", "")
    assert run_coroutine(state._fetch(_failing, "rows")) is UNAVAILABLE
    assert (state.status, state.error) == ("error", DB_ERROR)


def test_fetch_shows_the_page_status_a_refusal_names(sessionless: None):
    state = _state(MixedState)
    assert run_coroutine(state._fetch(_refusing, "rows", {Refused: "not_found"})) is UNAVAILABLE
    assert (state.status, state.error) == ("not_found", "")
    with pytest.raises(Refused):  # a refusal nobody named is a bug, not a page
        run_coroutine(state._fetch(_refusing, "rows", {KeyError: "gone"}))


def test_attempt_turns_refusals_and_database_failures_into_toasts(sessionless: None):
    state = _state(MixedState)
    done = run_coroutine(state._attempt(lambda s: 7, "write"))
    assert done.ok and done.value == 7
    refused = run_coroutine(state._attempt(_refusing, "write", {Refused: None}))
    assert not refused.ok and "Balance too low." in str(refused.toast)
    assert refused.message == "Balance too low."  # the same words, for beside the form
    named = run_coroutine(state._attempt(_refusing, "write", {Refused: "Not now."}))
    assert "Not now." in str(named.toast)
    failed = run_coroutine(state._attempt(_failing, "write"))
    assert DB_ERROR in str(failed.toast) and failed.message == DB_ERROR
    assert state.status == "loading"  # an action's failure leaves the page as it was
    with pytest.raises(Refused):  # an exception nobody named is a bug, not a toast
        run_coroutine(state._attempt(_refusing, "write"))


def test_sentence_capitalises_and_ends_once():
    assert mixins.sentence(ValueError("too big")) == "Too big."
    assert mixins.sentence(ValueError("Done!")) == "Done!"
    assert mixins.sentence(ValueError("")) == "That was refused."


def test_pager_moves_within_its_pages_and_follows_a_shrinking_total():
    state = _state(MixedState)
    state.page_size = 10
    assert state._set_total(25) is False
    assert (state.page_count, state.has_prev, state.has_next) == (3, False, True)
    run_coroutine(MixedState.next_page.fn(state))
    run_coroutine(MixedState.next_page.fn(state))
    run_coroutine(MixedState.next_page.fn(state))  # already on the last page: nothing read
    assert (state.page, state.reloads, state.page_label) == (3, 2, "Page 3 of 3")
    assert state._set_total(11) is True and state.page == 2  # rows disappeared: the last page that exists
    run_coroutine(MixedState.prev_page.fn(state))
    run_coroutine(MixedState.prev_page.fn(state))
    assert (state.page, state.reloads) == (1, 3)
    assert state._set_total(0) is False and state.page_count == 1


def test_confirm_hands_over_the_item_once_and_only_for_the_action_asked():
    state = _state(MixedState)
    MixedState.ask.fn(state, "cancel", "12", "Momentum #12")
    assert (state.confirm_action, state.confirm_id, state.confirm_label) == ("cancel", "12", "Momentum #12")
    assert state._take_confirmed("delete") == ""  # another dialog's button does not act on this item
    assert state.confirm_id == ""
    MixedState.ask.fn(state, "cancel", "12", "Momentum #12")
    assert state._take_confirmed("cancel") == "12"
    assert state._take_confirmed("cancel") == ""
    MixedState.ask.fn(state, "x" * 100, "9" * 100, "y" * 1000)
    assert (len(state.confirm_action), len(state.confirm_id), len(state.confirm_label)) == (32, 64, 200)
    MixedState.confirm_open_change.fn(state, False)
    assert state.confirm_id == ""


def test_confirming_is_a_var_a_page_can_bind():
    assert "confirm_action" in str(MixedState.confirming("cancel"))


def _background(cls: type[State], prepare: Callable[[Any], None], handler: str = "poll") -> tuple[list, Any]:
    """Run a background event as Reflex does: through a StateProxy whose `async with self` takes the state
    from a (memory) state manager. Returns what the event yielded and the state as the manager keeps it."""

    async def noop(*_: Any) -> None:
        return None

    async def run() -> tuple[list, Any]:
        manager = StateManagerMemory()
        EventContext.set(EventContext(token="t", state_manager=manager, enqueue_impl=noop))
        root = await manager.get_state(BaseStateToken(ident="t", cls=State))
        state = root.get_substate(cls.get_full_name().split("."))
        prepare(state)
        proxy = StateProxy(state)
        out = [e async for e in getattr(cls, handler).fn(proxy)]
        root = await manager.get_state(BaseStateToken(ident="t", cls=State))
        return out, root.get_substate(cls.get_full_name().split("."))

    # The root's substates are registered in a context variable: run in a thread that carries the context.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, run()).result()


def _ready(state: Any) -> None:
    state.status = "ready"


def test_poll_reads_once_and_shows_the_rows(sessionless: list[Any]):
    out, state = _background(SignedInPolledState, _ready)
    assert out == [] and len(sessionless) == 1
    assert (state.rows, state._polling) == (["fresh"], False)
    assert state.refreshed_at.endswith(" UTC")


def test_poll_is_skipped_while_loading_or_while_another_refresh_runs(sessionless: list[Any]):
    _, loading = _background(SignedInPolledState, lambda s: None)
    assert loading.rows == []

    def busy(state: Any) -> None:
        state.status, state._polling = "ready", True

    _, overlapping = _background(SignedInPolledState, busy)
    assert overlapping.rows == [] and overlapping._polling  # the running refresh still owns it
    assert sessionless == []


def test_a_failed_refresh_keeps_the_rows_and_the_page(monkeypatch: pytest.MonkeyPatch):
    async def down(query: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("down"))

    monkeypatch.setattr(mixins, "read", down)

    def shown(state: Any) -> None:
        state.status, state.rows = "ready", ["kept"]

    _, state = _background(SignedInPolledState, shown)
    assert (state.rows, state.status, state.error, state._polling) == (["kept"], "ready", "", False)
    assert state.refreshed_at == ""


def test_poll_sends_a_signed_out_visitor_to_sign_in():
    out, state = _background(PolledState, _ready)
    assert len(out) == 1 and "/signin" in str(out[0])
    assert state.rows == []


def test_an_admin_page_polled_by_nobody_shows_admins_only():
    out, state = _background(AdminPolledState, _ready)
    assert len(out) == 1 and "/signin" in str(out[0])  # signed out: to sign in, then back
    assert state.status == "forbidden"


def test_a_confirm_dialog_stays_open_while_its_action_runs():
    state = _state(BusyConfirmState)
    BusyConfirmState.ask.fn(state, "void", "7")
    state.acting = True
    BusyConfirmState.confirm_open_change.fn(state, False)
    assert state.confirm_id == "7"
    state.acting = False
    BusyConfirmState.confirm_open_change.fn(state, False)
    assert state.confirm_id == ""


def test_only_the_mixins_events_can_be_sent_from_a_browser():
    """Reflex turns public methods into events: the helpers must not be among them."""
    sendable = set(MixedState.event_handlers) | set(PolledState.event_handlers)
    assert {"next_page", "prev_page", "ask", "confirm_open_change", "poll"} <= sendable
    helpers = {
        "_fetch",
        "_attempt",
        "_show_ready",
        "_set_total",
        "_take_confirmed",
        "_poll_apply",
        "_reload_page",
    }
    assert not sendable & helpers
    assert not {name for name in sendable if name.lstrip("_") in {h.lstrip("_") for h in helpers}}
