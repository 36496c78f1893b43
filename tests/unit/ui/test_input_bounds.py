"""Input handlers keep page state bounded: values are clipped to their field's maximum, and a tab whose page
never authorised a signed-in user (status still "loading") stores nothing at all."""

from __future__ import annotations

import asyncio
import copy
import importlib
import sys
from typing import Any

import pytest
from reflex.state import State, reload_state_module

from maxxit_ui.state.admin import AdminUsersState, AuditState
from maxxit_ui.state.builder import BuilderState
from maxxit_ui.state.ct_accounts import DISPLAY_NAME_INPUT_MAX, HANDLE_INPUT_MAX, CtAccountsState
from maxxit_ui.state.deploy import DeployState
from maxxit_ui.state.posts import TEXT_MAX, PostsState
from tests.coroutines import run_coroutine

HUGE = "x" * 100_000


def _registered(cls: type[State]) -> type[State]:
    """The page state class Reflex's root state knows now.

    Browser tests earlier in the session make Reflex forget the app's state modules (each app under test
    imports them afresh), so the class this module imported may no longer be a substate of the root: then
    the app's state modules are imported again, as the next app would.
    """
    substates = State.get_substates()
    current = getattr(sys.modules.get(cls.__module__), cls.__name__, None)
    if current in substates:
        return current
    for name in [m for m in sys.modules if m == "maxxit_ui" or m.startswith("maxxit_ui.")]:
        reload_state_module(module=name)
        del sys.modules[name]
    return getattr(importlib.import_module(cls.__module__), cls.__name__)


def _state(cls: type[State], status: str = "ready") -> Any:
    """A real instance of the page state, as Reflex builds it under the root state."""
    current = _registered(cls)
    state = State(_reflex_internal_init=True).get_substate(current.get_full_name().split("."))
    state.status = status
    return state


def _handle(cls: type[State], name: str, state: Any, *args: Any) -> Any:
    result = getattr(type(state), name).fn(state, *args)
    return run_coroutine(result) if asyncio.iscoroutine(result) else result


@pytest.mark.parametrize(
    ("field", "limit"), [("name", 64), ("description", 2000), ("stoploss", 24), ("venue", 32)]
)
def test_builder_fields_are_clipped_to_their_maximum(field: str, limit: int):
    builder = _state(BuilderState)
    _handle(BuilderState, "set_field", builder, field, HUGE)
    assert getattr(builder, field) == "x" * limit


def test_builder_ignores_unknown_fields_odd_weights_and_accounts_it_does_not_offer():
    builder = _state(BuilderState)
    builder.accounts = [{"id": "7", "handle": "@a", "display_name": "", "impact": "", "impact_tone": ""}]
    weights = dict(builder.weights)
    _handle(BuilderState, "set_field", builder, "weights", HUGE)
    _handle(BuilderState, "set_weight", builder, "tweet", [float("nan")])
    _handle(BuilderState, "set_weight", builder, "tweet", "not a list")
    for account_id in ("8", HUGE, "7"):
        _handle(BuilderState, "toggle_account", builder, account_id, True)
    assert builder.selected == ["7"]
    assert builder.weights == weights


def test_deploy_wizard_fields_are_clipped():
    deploy = _state(DeployState)
    _handle(DeployState, "set_field", deploy, "user_wallet", HUGE)
    _handle(DeployState, "set_field", deploy, "starting_balance", HUGE)
    _handle(DeployState, "set_field", deploy, "step", HUGE)  # not an input at all
    assert len(deploy.user_wallet) == 64
    assert len(deploy.starting_balance) == 24
    assert deploy.step != HUGE


def test_admin_inputs_are_clipped():
    accounts, posts = _state(CtAccountsState), _state(PostsState)
    _handle(CtAccountsState, "set_handle", accounts, HUGE)
    _handle(CtAccountsState, "set_display_name", accounts, HUGE)
    _handle(PostsState, "set_paste_text", posts, HUGE)
    _handle(PostsState, "set_paste_account", posts, HUGE)
    assert (len(accounts.handle), len(accounts.display_name)) == (HANDLE_INPUT_MAX, DISPLAY_NAME_INPUT_MAX)
    assert len(posts.paste_text) == TEXT_MAX
    assert len(posts.paste_account) <= 12


@pytest.mark.parametrize(
    ("cls", "handler", "args", "field"),
    [
        (BuilderState, "set_field", ("name", "typed"), "name"),
        (BuilderState, "set_weight", ("tweet", [3.0]), "weights"),
        (DeployState, "set_field", ("user_wallet", "typed"), "user_wallet"),
        (CtAccountsState, "set_handle", ("typed",), "handle"),
        (CtAccountsState, "set_display_name", ("typed",), "display_name"),
        (PostsState, "set_paste_text", ("typed",), "paste_text"),
        (AdminUsersState, "set_search", ("typed",), "search"),
        (AuditState, "set_actor", ("typed",), "actor"),
    ],
)
def test_a_page_that_authorised_nobody_stores_no_input(cls, handler: str, args: tuple, field: str):
    state = _state(cls, status="loading")
    before = copy.deepcopy(getattr(state, field))
    _handle(cls, handler, state, *args)
    assert getattr(state, field) == before
