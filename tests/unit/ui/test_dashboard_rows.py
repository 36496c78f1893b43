"""Dashboard cards and figures from the monitor's read models: what the trader reads, what the chart draws."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from backend.models.enums import CloseReason, PositionStatus, Side
from backend.monitor.charts import ChartPoint, PositionChart
from backend.monitor.equity import EquityCurve, EquityPoint
from backend.trading.book import breakdown
from maxxit_ui.components.charts import equity_figure, position_figure, price_window
from maxxit_ui.state.admin_monitor import _age
from maxxit_ui.state.dashboard import equity_card, position_card

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(seconds=5)


def _chart(**kw) -> PositionChart:
    points = (
        ChartPoint(T0 + STEP, Decimal("101"), Decimal("90"), Decimal("101")),
        ChartPoint(T0 + STEP * 2, Decimal("104"), Decimal("102.96"), Decimal("104")),
        ChartPoint(T0 + STEP * 3, Decimal("103.5"), Decimal("102.96"), Decimal("104")),
    )
    base = PositionChart(
        position_id=7,
        deployment_id=3,
        agent_name="Swing",
        venue="PAPER",
        market="ETH",
        side=Side.LONG,
        size=Decimal("0.5"),
        leverage=Decimal("2"),
        status=PositionStatus.OPEN,
        entry_price=Decimal("100"),
        opened_at=T0,
        points=points,
        hard_stop=Decimal("90.0"),
        stop_price=Decimal("102.96"),
        best_price=Decimal("104"),
        trailing_armed=True,
        last_price=Decimal("103.5"),
        last_at=T0 + STEP * 3,
        unrealized_pnl=Decimal("1.75"),
        unrealized_return=Decimal("0.07"),
        exit_price=None,
        exit_at=None,
        close_reason=None,
        realized_pnl=None,
        entry_fee=Decimal("0.0225"),
        exit_fee=Decimal("0"),
        figures=breakdown(
            Side.LONG, Decimal("100"), Decimal("103.5"), Decimal("0.5"), entry_fee=Decimal("0.0225")
        ),
        ticks_seen=3,
    )
    return replace(base, **kw)


def test_an_open_card_reads_pnl_stop_and_trailing_high() -> None:
    card = position_card(_chart())
    assert (card["id"], card["market"], card["side"], card["leverage"]) == ("7", "ETH", "LONG", "2\u00d7")
    assert (card["status"], card["status_label"]) == ("open", "Open")
    assert (card["pnl"], card["pnl_tone"], card["pnl_ratio"]) == ("+$1.75", "positive", "+7.00% on margin")
    assert (card["stop"], card["stop_kind"], card["best"], card["last"]) == (
        "102.96",
        "trailing",
        "104",
        "103.5",
    )
    assert card["agent"] == "#3 · Swing" and card["venue"] == "Paper" and card["points"] == "3"
    assert (card["size"], card["take_profit"], card["liquidation"]) == ("0.5 ETH", "none", "—")


def test_a_card_shows_money_in_dollars_and_prices_at_the_tick() -> None:
    card = position_card(
        _chart(
            entry_price=Decimal("1442.584"),
            stop_price=Decimal("1298.3256"),
            last_price=Decimal("1450.04"),
            take_profit_price=Decimal("1586.8424"),
            liquidation_price=Decimal("735.9816"),
            notional_usd=Decimal("725.02"),
            margin_usd=Decimal("360.646"),
            tick_size=Decimal("0.1"),
        )
    )
    assert (card["entry"], card["stop"], card["last"]) == ("1,442.6", "1,298.3", "1,450")
    assert (card["take_profit"], card["liquidation"]) == ("1,586.8", "736")
    assert (card["notional"], card["margin"]) == ("$725.02", "$360.65")


def test_a_closing_and_a_closed_card() -> None:
    assert position_card(_chart(status=PositionStatus.CLOSING))["status_label"] == "Closing…"
    closed = position_card(
        _chart(
            status=PositionStatus.CLOSED,
            exit_price=Decimal("102.9"),
            exit_at=T0 + STEP * 4,
            close_reason=CloseReason.TRAILING_STOP,
            realized_pnl=Decimal("1.38"),
            exit_fee=Decimal("0.0231"),
            unrealized_pnl=None,
            unrealized_return=None,
            figures=breakdown(
                Side.LONG,
                Decimal("100"),
                Decimal("102.9"),
                Decimal("0.5"),
                entry_fee=Decimal("0.0225"),
                exit_fee=Decimal("0.0231"),
                platform_fee=Decimal("0.20"),
            ),
        )
    )
    assert (closed["status"], closed["status_label"]) == ("closed", "Closed · Trailing stop")
    # Net of every fee: 1.45 gross - 0.0456 venue - 0.20 Maxxit.
    assert (closed["exit"], closed["realized"], closed["fees"]) == ("102.9", "+$1.20", "$0.25")
    assert closed["fee_detail"] == "$0.02 open + $0.02 close + $0.20 Maxxit"
    assert closed["pnl"] == "—" and closed["pnl_ratio"] == ""


def test_the_position_figure_draws_steps_and_the_exit() -> None:
    open_figure = position_figure(_chart())
    traces = {t.name: t for t in open_figure.data}
    assert list(traces) == ["Entry", "Stop", "Trailing high", "Price"]
    assert traces["Stop"].line.shape == "hv" and traces["Trailing high"].line.shape == "hv"
    assert list(traces["Stop"].y) == [
        90.0,
        90.0,
        102.96,
        102.96,
        102.96,
    ]  # entry's hard stop, then each point
    assert list(traces["Price"].y) == [101.0, 104.0, 103.5]
    assert all(isinstance(y, float) for y in traces["Entry"].y)

    closed = position_figure(
        _chart(
            status=PositionStatus.CLOSED,
            exit_price=Decimal("102.9"),
            exit_at=T0 + STEP * 4,
            close_reason=CloseReason.MANUAL,
        )
    )
    exit_trace = closed.data[-1]
    assert exit_trace.name == "Exit · Closed by you" and list(exit_trace.y) == [102.9]
    assert list(closed.data[0].x)[-1] == T0 + STEP * 4  # the entry line runs to the exit

    short = position_figure(_chart(side=Side.SHORT, points=()))
    assert [t.name for t in short.data] == ["Entry", "Stop"]  # no tick yet: the lines alone


def _annotations(figure) -> list[str]:
    return [a.text for a in figure.layout.annotations]


def test_the_chart_frames_the_price_path_and_names_far_lines_at_the_edge() -> None:
    # Entry 100, path 101-104: the hard stop at 90 and liquidation at 51 would flatten it; TP 105 is near.
    chart = _chart(
        stop_price=Decimal("90"),
        trailing_armed=False,
        take_profit_price=Decimal("105"),
        liquidation_price=Decimal("51.02"),
        tick_size=Decimal("0.01"),
    )
    low, high, away = price_window(chart)
    assert 99 < low < 100 and 105 < high < 106
    assert [name for name, _, _ in away] == ["Stop", "Liquidation"]
    figure = position_figure(chart)
    assert tuple(figure.layout.yaxis.range) == (low, high)
    assert _annotations(figure) == ["Take profit 105", "▼ Stop 90", "▼ Liquidation 51.02"]
    assert [shape.y0 for shape in figure.layout.shapes] == [105.0]  # the take-profit line, drawn in place


def test_a_near_stop_and_liquidation_join_the_window() -> None:
    # A trailing stop just under the price and a 20x liquidation 5% away are close enough to draw.
    chart = _chart(liquidation_price=Decimal("96"), take_profit_price=Decimal("150"))
    low, high, away = price_window(chart)
    assert low < 96 and high < 110 and [name for name, _, _ in away] == ["Take profit"]
    assert _annotations(position_figure(chart)) == ["Liquidation 96", "▲ Take profit 150"]


def test_an_empty_equity_chart_says_so_instead_of_drawing_a_date_axis() -> None:
    empty = _curve(points=(), open_positions=0)
    figure = equity_figure(empty)
    assert figure.layout.xaxis.visible is False and _annotations(figure) == ["No equity yet"]
    assert equity_card(empty)["has_points"] is False and equity_card(_curve())["has_points"] is True


def _curve(**kw) -> EquityCurve:
    base = EquityCurve(
        deployment_id=3,
        label="#3 · Swing",
        venue="PAPER",
        capital=Decimal("1000"),
        capital_known=True,
        realized_pnl=Decimal("25"),
        unrealized_pnl=Decimal("-5"),
        open_positions=1,
        points=(
            EquityPoint(T0, Decimal("1000"), "start"),
            EquityPoint(T0 + STEP, Decimal("1025"), "close"),
            EquityPoint(T0 + STEP * 2, Decimal("1020"), "now"),
        ),
    )
    return replace(base, **kw)


def test_equity_cards_say_what_their_figure_is() -> None:
    paper = equity_card(_curve())
    assert (paper["value"], paper["value_label"], paper["pnl"]) == ("$1,020.00", "equity", "+$20.00")
    assert paper["note"] == "1 open · from $1,000.00"
    hyper = equity_card(
        _curve(venue="HYPERLIQUID", capital=Decimal(0), capital_known=False, open_positions=0)
    )
    assert (hyper["value"], hyper["value_label"]) == ("+$20.00", "PnL")
    assert "Hyperliquid balance is not counted" in hyper["note"] and hyper["venue"] == "Hyperliquid"
    account_curve = _curve(
        deployment_id=None,
        label="Account",
        venue=None,
        capital_known=False,
        twr=Decimal("0.02"),
        points=(
            EquityPoint(T0, Decimal("1000"), "start", Decimal(0)),
            EquityPoint(T0 + STEP, Decimal("1025"), "close", Decimal("25")),
            EquityPoint(T0 + STEP * 2, Decimal("1020"), "now", Decimal("20")),
        ),
    )
    account = equity_card(account_curve)
    assert account["id"] == "account" and account["value"] == "$1,020.00"
    assert account["note"] == (
        "1 open · $1,000.00 paper capital + PnL · time-weighted +2.0%"
        " · chart: net PnL, deposits are not growth"
    )
    assert [float(y) for y in equity_figure(_curve()).data[0].y] == [1000.0, 1025.0, 1020.0]
    # The account draws net PnL: its first point, a deployment's capital arriving, is $0, not +$1,000.
    assert [float(y) for y in equity_figure(account_curve).data[0].y] == [0.0, 25.0, 20.0]


def test_the_monitor_age_reads_naturally() -> None:
    assert _age(None) == "never ran"
    assert _age(timedelta(seconds=4)) == "4 s ago"
    assert _age(timedelta(minutes=5)) == "5 min ago"
    assert _age(timedelta(hours=3)) == "3 h ago"
