"""Signal history page helpers: rows, the score against the threshold, the explanation and its chart."""

from datetime import UTC, datetime
from decimal import Decimal as D

from backend.agents.schemas import SignalOut
from backend.models.agents import WEIGHT_NAMES
from backend.models.enums import ExecutionStatus, Side, SignalStatus
from backend.signals.history import OwnExecution, SignalView
from maxxit_ui.state.agent import _signal as agent_page_signal
from maxxit_ui.state.agent_signals import (
    explanation_chart,
    feature_rows,
    own_lines,
    score_label,
    signal_meta,
    signal_row,
    truncate,
)

WEIGHTS = dict.fromkeys(WEIGHT_NAMES, 0) | {"tweet": 60, "rsi": 20}


def view(**changes) -> SignalView:
    base = {
        "id": 7,
        "agent_id": 3,
        "post_id": 11,
        "post_handle": "TapeOwlTrades",
        "post_text": "$ETH reclaiming the range high,   longing\nhere",
        "post_classifier": "gpt-4o-mini",
        "post_confidence": D("0.88"),
        "token": "ETH",
        "side": Side.LONG,
        "score": D("0.8"),
        "threshold": D("0.55"),
        "features": {"tweet": D("0.9"), "rsi": D("0.5")},
        "weights": WEIGHTS,
        "contributions": {"tweet": D("0.675"), "rsi": D("0.125")},
        "bucket_start": datetime(2026, 3, 1, 12, tzinfo=UTC),
        "created_at": datetime(2026, 3, 1, 13, 5, 30, tzinfo=UTC),
        "status": SignalStatus.EXECUTED,
        "skip_reason": None,
        "positions_opened": 2,
        "skipped": {},
        "outcome": "Traded: 2 positions",
        "outcome_kind": "traded",
        "mine": [],
    }
    return SignalView(**(base | changes))


def test_truncate_keeps_one_short_line():
    assert truncate("short  and\nsweet") == "short and sweet"
    cut = truncate("x" * 200, limit=20)
    assert len(cut) == 20 and cut.endswith("…")
    assert truncate("y" * 20, limit=20) == "y" * 20


def test_score_against_threshold():
    assert score_label(D("0.6535"), D("0.55")) == "0.65 ≥ 0.55"
    assert score_label(D("0.55"), D("0.55")) == "0.55 ≥ 0.55"
    assert score_label(D("0.4"), D("0.55")) == "0.40 < 0.55"


def test_row_is_display_ready():
    row = signal_row(view())
    assert row == {
        "id": "7",
        "time": "2026-03-01 13:05 UTC",
        "token": "ETH",
        "side": "LONG",
        "side_color": "green",
        "score": "0.80 ≥ 0.55",
        "score_tone": "positive",
        "handle": "@TapeOwlTrades",
        "post": "$ETH reclaiming the range high, longing here",
        "post_full": "$ETH reclaiming the range high,   longing\nhere",
        "outcome": "Traded: 2 positions",
        "outcome_kind": "traded",
    }


def test_rows_without_a_post_or_skipped():
    row = signal_row(
        view(
            post_id=None,
            post_handle=None,
            post_text=None,
            side=Side.SHORT,
            status=SignalStatus.SKIPPED,
            skip_reason="deployment paused",
        )
    )
    assert (row["handle"], row["post"], row["post_full"]) == ("—", "No post recorded", "")
    assert (row["side"], row["side_color"]) == ("SHORT", "red")
    assert (row["outcome"], row["outcome_kind"]) == ("Skipped: deployment paused", "skipped")
    assert signal_row(view(status=SignalStatus.PENDING))["outcome_kind"] == "awaiting"


def test_the_row_says_what_the_agent_page_says():
    """Both pages tell a signal's outcome from the same facts with the same words and kind."""
    signal = view(positions_opened=0, skipped={"insufficient balance": 2})
    row = signal_row(signal)
    assert row["outcome"] == "Not traded: 2 deployments skipped (insufficient balance)"
    assert row["outcome_kind"] == "not_traded"
    agent_row = agent_page_signal(SignalOut(**signal.model_dump(include=set(SignalOut.model_fields))))
    assert (agent_row["status"], agent_row["outcome_kind"]) == (row["outcome"], row["outcome_kind"])


def test_feature_rows_cover_all_eight_in_order():
    rows = feature_rows(view())
    assert [r["label"] for r in rows][:3] == ["Tweet", "RSI", "MACD"] and len(rows) == 8
    assert rows[0] == {"label": "Tweet", "value": "0.900", "weight": "60", "contribution": "0.675"}
    assert rows[2] == {"label": "MACD", "value": "—", "weight": "0", "contribution": "—"}


def test_meta_names_the_caller_and_the_classifier():
    assert signal_meta(view()) == "@TapeOwlTrades · classified by gpt-4o-mini, 88% confident"
    assert signal_meta(view(post_confidence=None)) == "@TapeOwlTrades · classified by gpt-4o-mini"
    assert signal_meta(view(post_handle=None, post_classifier=None)) == "No post recorded"


def test_chart_has_values_and_contributions_per_feature():
    figure = explanation_chart(view().features, view().contributions)
    values, shares = figure.data
    assert (values.name, shares.name) == ("Feature value", "Weighted contribution")
    assert list(values.x) == [
        "Tweet",
        "RSI",
        "MACD",
        "Bollinger",
        "Volume",
        "Moving avg",
        "Momentum",
        "Volatility",
    ]
    assert list(values.y) == [0.9, 0.5, None, None, None, None, None, None]
    assert list(shares.y)[:2] == [0.675, 0.125]
    assert figure.layout.barmode == "group"


def test_own_lines_show_the_viewers_deployments_in_full():
    mine = [
        OwnExecution(deployment_id=12, status=ExecutionStatus.FILLED, reason=None, position_id=40),
        OwnExecution(
            deployment_id=13,
            status=ExecutionStatus.SKIPPED,
            reason="insufficient balance: $123.45 available, $2000.00 kept in reserve",
            position_id=None,
        ),
    ]
    assert own_lines(view(mine=mine)) == [
        "Deployment #12: filled",
        "Deployment #13: skipped, insufficient balance: $123.45 available, $2000.00 kept in reserve",
    ]
    assert own_lines(view()) == []
