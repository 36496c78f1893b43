"""The page-state mixins: the load envelope, paging, confirming and polling behave the same on every page."""

from __future__ import annotations

from typing import Any

import pytest
import reflex as rx
from reflex.event import EventSpec
from reflex.state import State
from sqlalchemy.exc import OperationalError

from maxxit_ui.state import mixins
from maxxit_ui.state.db import DB_ERROR
from maxxit_ui.state.mixins import UNAVAILABLE, ConfirmMixin, LoadMixin, PagerMixin, PollingMixin
from tests.coroutines import run_coroutine


class Refused(ValueError):
    pass


class MixedState(LoadMixin, PagerMixin, ConfirmMixin, rx.State):
    rows: list[str] = []
    reloads: int = 0

    async def reload_page(self) -> EventSpec | None:
        self.reloads += 1
        return None


class PolledState(PollingMixin, rx.State):
    rows: list[str] = []

    def poll_query(self, user: Any) -> Any:
        return lambda session: ["fresh"]

    def poll_apply(self, result: Any) -> None:
        self.rows = result


def _state(cls: type[State]) -> Any:
    return State(_reflex_internal_init=True).get_substate(cls.get_full_name().split("."))


def _failing(session: Any) -> None:
    raise OperationalError("SELECT 1", {}, Exception("down"))


def _refusing(session: Any) -> None:
    raise Refused("balance too low")


@pytest.fixture
def sessionless(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries here take no session: `read` calls them with None."""

    async def read(query: Any) -> Any:
        return query(None)

    monkeypatch.setattr(mixins, "read", read)


def test_fetch_returns_the_value_or_shows_the_database_error(sessionless: None):
    state = _state(MixedState)
    assert run_coroutine(state.fetch(lambda s: [1, 2], "rows")) == [1, 2]
    assert state.status == "loading"
    state.show_ready()
    assert (state.status, state.error) == ("ready", "")
    assert run_coroutine(state.fetch(_failing, "rows")) is UNAVAILABLE
    assert (state.status, state.error) == ("error", DB_ERROR)


def test_fetch_shows_the_page_status_a_refusal_names(sessionless: None):
    state = _state(MixedState)
    assert run_coroutine(state.fetch(_refusing, "rows", {Refused: "not_found"})) is UNAVAILABLE
    assert (state.status, state.error) == ("not_found", "")
    with pytest.raises(Refused):  # a refusal nobody named is a bug, not a page
        run_coroutine(state.fetch(_refusing, "rows", {KeyError: "gone"}))


def test_attempt_turns_refusals_and_database_failures_into_toasts(sessionless: None):
    state = _state(MixedState)
    done = run_coroutine(state.attempt(lambda s: 7, "write"))
    assert done.ok and done.value == 7
    refused = run_coroutine(state.attempt(_refusing, "write", {Refused: None}))
    assert not refused.ok and "Balance too low." in str(refused.toast)
    named = run_coroutine(state.attempt(_refusing, "write", {Refused: "Not now."}))
    assert "Not now." in str(named.toast)
    failed = run_coroutine(state.attempt(_failing, "write"))
    assert DB_ERROR in str(failed.toast)
    assert state.status == "loading"  # an action's failure leaves the page as it was
    with pytest.raises(Refused):  # an exception nobody named is a bug, not a toast
        run_coroutine(state.attempt(_refusing, "write"))


def test_sentence_capitalises_and_ends_once():
    assert mixins.sentence(ValueError("too big")) == "Too big."
    assert mixins.sentence(ValueError("Done!")) == "Done!"
    assert mixins.sentence(ValueError("")) == "That was refused."


def test_pager_moves_within_its_pages_and_follows_a_shrinking_total():
    state = _state(MixedState)
    state.page_size = 10
    assert state.set_total(25) is False
    assert (state.page_count, state.has_prev, state.has_next) == (3, False, True)
    run_coroutine(MixedState.next_page.fn(state))
    run_coroutine(MixedState.next_page.fn(state))
    run_coroutine(MixedState.next_page.fn(state))  # already on the last page: nothing read
    assert (state.page, state.reloads, state.page_label) == (3, 2, "Page 3 of 3")
    assert state.set_total(11) is True and state.page == 2  # rows disappeared: the last page that exists
    run_coroutine(MixedState.prev_page.fn(state))
    run_coroutine(MixedState.prev_page.fn(state))
    assert (state.page, state.reloads) == (1, 3)
    assert state.set_total(0) is False and state.page_count == 1


def test_confirm_hands_over_the_item_once_and_only_for_the_action_asked():
    state = _state(MixedState)
    MixedState.ask.fn(state, "cancel", "12", "Momentum #12")
    assert (state.confirm_action, state.confirm_id, state.confirm_label) == ("cancel", "12", "Momentum #12")
    assert state.take_confirmed("delete") == ""  # another dialog's button does not act on this item
    assert state.confirm_id == ""
    MixedState.ask.fn(state, "cancel", "12", "Momentum #12")
    assert state.take_confirmed("cancel") == "12"
    assert state.take_confirmed("cancel") == ""
    MixedState.ask.fn(state, "x" * 100, "9" * 100, "y" * 1000)
    assert (len(state.confirm_action), len(state.confirm_id), len(state.confirm_label)) == (32, 64, 200)
    MixedState.confirm_open_change.fn(state, False)
    assert state.confirm_id == ""


def test_confirming_is_a_var_a_page_can_bind():
    assert "confirm_action" in str(MixedState.confirming("cancel"))
