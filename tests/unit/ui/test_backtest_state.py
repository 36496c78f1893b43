"""The Backtest panel's state on the builder and the agent page: what each input does, which request a
page makes (the edited configuration, saved or not; the agent), Compare's A, and how an answer or a
refusal is shown. The service itself is the backtest package's; here a result is written by hand."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import plotly.graph_objects as go
import pytest
from reflex.event import EventSpec

from backend.agents.editing import UnknownCtAccounts
from backend.agents.service import AgentNotFound
from backend.backtest.service import NotSignedIn
from maxxit_ui.state.agent import AgentState
from maxxit_ui.state.backtest import FAILED, SIGN_IN, failure_message
from maxxit_ui.state.builder import BuilderState
from tests.fixtures.backtest import config, result
from tests.unit.ui.test_input_bounds import _handle, _state


def _builder(**fields: Any) -> Any:
    builder = _state(BuilderState)
    builder.accounts = [{"id": "7", "handle": "@a", "display_name": "", "impact": "", "impact_tone": ""}]
    builder.stoploss, builder.trailing_stop_positive_offset = "10", "3"
    builder.trailing_stop_positive, builder.signal_threshold, builder.take_profit = "1", "55", ""
    for name, value in fields.items():
        setattr(builder, name, value)
    return builder


def test_inputs_wait_until_the_panel_is_open_then_schedule_a_debounced_run():
    builder = _builder()
    assert _handle(BuilderState, "set_weight", builder, "tweet", [80.0]) is None  # panel not opened yet
    opened = _handle(BuilderState, "bt_open", builder)
    assert isinstance(opened, EventSpec) and builder.bt_status == "open" and builder.bt_running
    seq = builder._bt_seq
    spec = _handle(BuilderState, "set_weight", builder, "rsi", [10.0])
    assert isinstance(spec, EventSpec) and spec.handler.fn.__name__ == "bt_debounced"
    assert builder._bt_seq == seq + 1  # the earlier pending run is now stale and will not show
    assert _handle(BuilderState, "set_field", builder, "name", "renamed") is None  # not part of a backtest
    assert isinstance(_handle(BuilderState, "set_field", builder, "leverage", "2"), EventSpec)


def test_panel_fields_are_clipped_and_unknown_ones_ignored():
    builder = _builder(bt_status="open")
    builder.bt_errors = {"period": "old", "capital": "old", "form": ""}
    _handle(BuilderState, "bt_set", builder, "bt_capital", "9" * 1000)
    _handle(BuilderState, "bt_set", builder, "bt_start", "2026-01-01-and-more")
    _handle(BuilderState, "bt_set", builder, "status", "ready!")  # not a panel field
    assert len(builder.bt_capital) == 24 and builder.bt_start == "2026-01-01"
    assert builder.bt_errors == {"period": "", "capital": "", "form": ""}
    assert builder.status == "ready"


def test_the_builder_tests_the_form_as_it_stands():
    builder = _builder(selected=["7"], venue="GMX", leverage="3")
    builder.weights = {**builder.weights, "tweet": 90}
    request, base, why = builder._bt_requests()
    assert why == "" and base is None
    assert request.agent_id is None and request.config.venue == "GMX"
    assert request.config.weights.tweet == 90 and request.config.ct_account_ids == [7]
    assert request.config.risk.leverage == D(3) and request.config.risk.stoploss == D("0.10")
    assert request.period.days == 30 and request.capital == D(10000)


def test_an_untestable_form_says_what_to_fix():
    request, _, why = _builder(selected=[])._bt_requests()
    assert request is None and why == "Follow at least one CT account to backtest."
    request, _, why = _builder(selected=["7"], stoploss="lots")._bt_requests()
    assert (
        request is None
        and why
        == "To backtest, fix the form (stoploss): Stop loss must be a number of percent, like 10 or 2.5."
    )


def test_bad_period_or_capital_is_shown_beside_the_field():
    builder = _builder(
        selected=["7"], bt_period="dates", bt_start="2026-10-05", bt_end="2026-10-01", bt_capital="5"
    )
    request, _, why = builder._bt_requests()
    assert request is None and why == ""
    assert builder.bt_errors["period"] == "The end date must not be before the start date."
    assert builder.bt_errors["capital"] == "Starting capital must be between $100 and $10,000,000."


def test_compare_holds_the_saved_agent_as_a_when_editing_and_the_result_on_screen_otherwise():
    editing = _builder(selected=["7"], mode="edit", editing_id=42, bt_compare=True)
    _, base, _ = editing._bt_requests()
    assert base is not None and base.agent_id == 42 and editing.bt_label_a == "A · saved"

    creating = _builder(selected=["7"], bt_status="open")
    _handle(BuilderState, "bt_toggle_compare", creating, True)
    assert creating._bt_requests()[1] is None  # no result yet: nothing to compare with
    first = result()
    creating._bt_show(first, None)  # the first result after switching on becomes A
    _, base, _ = creating._bt_requests()
    assert base is not None and base.config == first.config and creating.bt_label_a == "A · kept"

    # Switched off and on again, A is the result on screen then.
    shown = result().model_copy(update={"config": config(tweet=5)})
    creating._bt_show(shown, first)
    _handle(BuilderState, "bt_toggle_compare", creating, False)
    _handle(BuilderState, "bt_toggle_compare", creating, True)
    assert creating._bt_requests()[1].config.weights.tweet == 5


def test_a_result_is_shown_formatted():
    builder = _builder(bt_status="open", bt_running=True)
    builder._bt_show(result(), None)
    assert builder.bt_status == "ready" and not builder.bt_running
    assert builder.bt_tiles[0]["value"] == "+$250.00"
    assert builder.bt_window.startswith("2026-11-01 → 2026-11-04")
    assert [t["market"] for t in builder.bt_trades] == ["ETH", "BTC", "SOL"]
    assert builder.bt_by_reason[0]["key"] == "Take profit"
    assert builder.bt_notice.startswith("Past results do not predict future ones.")
    assert isinstance(builder.bt_figure, go.Figure) and builder.bt_compare_rows == []


def test_two_results_compare_side_by_side():
    builder = _builder(bt_status="open", bt_label_a="A · saved")
    builder._bt_show(result(profit="40.00", sharpe="2.5"), result(profit="250.00", sharpe="1.0"))
    rows = {r["id"]: r for r in builder.bt_compare_rows}
    assert rows["bt-compare-profit-total-abs"]["better"] == "a"
    assert rows["bt-compare-sharpe"]["better"] == "b"
    assert (builder.bt_label_a, builder.bt_label_b) == ("A · saved", "B · edited")
    assert [t.name for t in builder.bt_figure.data][::2] == ["A · saved", "B · edited"]


def test_a_refusal_drops_the_stale_result_and_says_why():
    builder = _builder(bt_status="open")
    builder._bt_show(result(), None)
    builder._bt_fail(SIGN_IN)
    assert builder.bt_status == "open" and builder.bt_tiles == [] and builder.bt_errors["form"] == SIGN_IN


def test_a_trades_post_opens_with_its_author():
    builder = _builder(bt_status="open")
    builder._bt_show(result(), None)
    _handle(BuilderState, "bt_show_post", builder, "1")  # BTC: no post behind it
    assert not builder.bt_post_open
    _handle(BuilderState, "bt_show_post", builder, "0")
    assert builder.bt_post_open and builder.bt_post_author == "@eth_caller"
    assert builder.bt_post_text == "$ETH breaking out, longing here"
    assert builder.bt_post_trade.startswith("LONG ETH · entry 2026-11-01 02:00 UTC")
    _handle(BuilderState, "bt_post_open_change", builder, False)
    assert not builder.bt_post_open


def test_the_agent_page_backtests_the_agent_shown():
    agent = _state(AgentState, status="ready")
    assert _handle(AgentState, "bt_open", agent) is None  # no agent loaded yet
    agent._shown_id = 5
    assert isinstance(_handle(AgentState, "bt_open", agent), EventSpec)
    request, base, why = agent._bt_requests()
    assert request.agent_id == 5 and request.config is None and base is None and why == ""


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (NotSignedIn("sign in to backtest"), SIGN_IN),
        (
            UnknownCtAccounts([9]),
            "Some followed CT accounts can no longer be backtested; untick them and try again.",
        ),
        (
            AgentNotFound("agent 5 not found"),
            "This agent cannot be backtested: it is not yours or no longer exists.",
        ),
        (ValueError("window too short"), "Window too short."),
        (RuntimeError("boom"), "The backtest could not run. Please try again in a moment."),
    ],
)
def test_failure_messages(error, message):
    assert failure_message(error) == message


def test_a_slower_earlier_run_never_overwrites_a_newer_one():
    builder = _builder(selected=["7"])
    _handle(BuilderState, "bt_open", builder)
    first = builder._bt_seq
    _handle(BuilderState, "set_weight", builder, "tweet", [10.0])  # a newer run is asked for
    second = builder._bt_seq

    # The debounced event of the first change, arriving after the second: it does not even run.
    _handle(BuilderState, "bt_debounced", builder, first, 0)
    assert builder.bt_running and builder.bt_errors["form"] == "" and builder.bt_status == "open"

    # The first run's answer comes back while the second is still on its way: not shown, the spinner stays.
    builder._bt_settle(first, (result(profit="40.00"), None))
    assert builder.bt_status == "open" and builder.bt_running and builder.bt_tiles == []

    builder._bt_settle(second, (result(profit="250.00"), None))
    assert builder.bt_tiles[0]["value"] == "+$250.00" and not builder.bt_running

    # ...or after the newer one is shown: neither its result nor its failure replaces it.
    builder._bt_settle(first, (result(profit="40.00"), None))
    builder._bt_settle(first, FAILED)
    assert builder.bt_tiles[0]["value"] == "+$250.00"
    assert builder.bt_status == "ready" and builder.bt_errors["form"] == ""


def test_the_newest_debounced_run_goes_ahead():
    builder = _builder(selected=["7"])
    _handle(BuilderState, "bt_open", builder)
    _handle(BuilderState, "bt_debounced", builder, builder._bt_seq, 0)  # signed out: it gets as far as that
    assert builder.bt_errors["form"] == SIGN_IN and not builder.bt_running
    builder._bt_settle(builder._bt_seq, "Too many backtests just now: try again in 5 s.")
    assert builder.bt_errors["form"] == "Too many backtests just now: try again in 5 s."
