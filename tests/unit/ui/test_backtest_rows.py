"""The Backtest panel's form and rows: what a trader types becomes a period and a capital or a message
beside the field; a result becomes display strings, percent only on screen; two results compare."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from maxxit_ui.state import backtest_rows as rows
from tests.fixtures.backtest import result, summary


def _form(period: str = "30", start: str = "", end: str = "", capital: str = "10000") -> rows.FormInput:
    return rows.FormInput(period=period, start=start, end=end, capital=capital)


@pytest.mark.parametrize(
    ("text", "value"),
    [("10000", D(10000)), ("$2,500.50", D("2500.50")), (" 100 ", D(100)), ("250.000", D(250))],
)
def test_capital_reads_dollars(text, value):
    assert rows.parse_capital(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a starting capital between $100 and $10,000,000."),
        ("ten", "Starting capital must be a number of dollars between $100 and $10,000,000."),
        ("NaN", "Starting capital must be a number of dollars between $100 and $10,000,000."),
        ("99.99", "Starting capital must be between $100 and $10,000,000."),
        ("10000001", "Starting capital must be between $100 and $10,000,000."),
        ("100.001", "Starting capital takes at most 2 decimal places (cents)."),
    ],
)
def test_capital_refusals_say_why(text, message):
    with pytest.raises(ValueError) as refused:
        rows.parse_capital(text)
    assert str(refused.value) == message


def test_period_days_or_dates():
    assert rows.parse_period("7", "", "").days == 7
    assert rows.parse_period("90", "2026-01-01", "").days == 90  # dates typed earlier are ignored
    period = rows.parse_period("dates", "2026-10-01", "2026-10-31")
    assert (period.start, period.end, period.days) == (date(2026, 10, 1), date(2026, 10, 31), None)


@pytest.mark.parametrize(
    ("choice", "start", "end", "message"),
    [
        ("14", "", "", "Choose 7, 30 or 90 days, or dates."),
        ("dates", "", "2026-10-31", "Pick a start date."),
        ("dates", "2026-10-01", "31/10/2026", "Pick a end date."),
        ("dates", "2026-10-31", "2026-10-01", "The end date must not be before the start date."),
        ("dates", "2025-01-01", "2026-01-01", "A backtest covers at most 365 days."),
    ],
)
def test_period_refusals_say_why(choice, start, end, message):
    with pytest.raises(ValueError) as refused:
        rows.parse_period(choice, start, end)
    assert str(refused.value) == message


def test_parse_form_keys_each_message_by_its_field():
    period, capital, errors = rows.parse_form(_form())
    assert period is not None and period.days == 30 and capital == D(10000) and errors == {}
    period, capital, errors = rows.parse_form(_form(period="dates", capital="5"))
    assert period is None and capital is None
    assert set(errors) == {"period", "capital"}


def test_tiles_put_the_key_figures_first_in_percent():
    tiles = rows.tiles(result().summary)
    assert [t["id"] for t in tiles] == [
        "bt-profit",
        "bt-profit-pct",
        "bt-drawdown",
        "bt-sharpe",
        "bt-winrate",
        "bt-trade-count",
    ]
    shown = {t["id"]: (t["value"], t["tone"]) for t in tiles}
    assert shown["bt-profit"] == ("+$250.00", "positive")
    assert shown["bt-profit-pct"] == ("+2.5%", "positive")  # the fraction 0.025, as a percent
    assert shown["bt-drawdown"] == ("-2.0%", "negative")
    assert shown["bt-sharpe"] == ("1.85", "positive")
    assert shown["bt-winrate"][0] == "50.0%"
    assert shown["bt-trade-count"][0] == "2"


def test_summary_rows_use_freqtrade_figures_and_say_when_one_is_missing():
    table = {r["id"].removeprefix("bt-summary-"): r["value"] for r in rows.summary_rows(summary(sharpe=None))}
    assert table["profit-total-abs"] == "+$250.00"
    assert table["max-drawdown-abs"] == "-$202.00"
    assert table["drawdown-span"] == "2026-11-02 → 2026-11-03"
    assert table["sharpe"] == "—"
    assert table["cagr"] == "+35.0%"
    assert table["winrate"] == "50.0%"
    assert table["profit-factor"] == "1.63"
    assert table["expectancy"] == "+$28.60"
    assert table["trades"] == "2 (+1 open)"
    assert table["holding-avg"] == "5h 45m"
    assert (table["best-trade"], table["worst-trade"]) == ("+$148.20", "-$91.00")
    assert table["fees-paid"] == "$3.55"
    assert table["signals"] == "5 (2)"


def test_trade_rows_carry_units_and_the_post():
    eth, btc, sol = (rows.trade_row(i, t) for i, t in enumerate(result().trades))
    assert eth["size"] == "0.5 ETH" and eth["leverage"] == "3x" and eth["side"] == "LONG"
    assert (eth["entry_price"], eth["exit_price"]) == ("3,000", "3,300")
    assert (eth["pnl"], eth["pnl_pct"], eth["pnl_tone"]) == ("+$148.20", "+29.6%", "positive")
    assert eth["exit_reason"] == "Take profit"
    assert eth["has_post"] and eth["author"] == "@eth_caller"
    assert eth["post_text"] == "$ETH breaking out, longing here"
    assert eth["entry_at"] == "2026-11-01 02:00 UTC"
    assert btc["side_tone"] == "negative" and not btc["has_post"] and btc["author"] == rows.DASH
    assert (sol["exit_at"], sol["pnl"], sol["exit_reason"], sol["pnl_tone"]) == (
        "open",
        "open",
        "open at the end",
        "muted",
    )


def test_a_trade_names_the_author_of_its_post():
    eth, btc, sol = result().trades
    assert [rows.trade_row(i, t)["author"] for i, t in enumerate((eth, btc, sol))] == [
        "@eth_caller",
        rows.DASH,  # no post behind the signal
        "@sol_caller",
    ]
    anonymous = eth.model_copy(update={"post_author": ""})  # a post stored without its account's handle
    assert rows.trade_row(0, anonymous)["author"] == rows.UNKNOWN_AUTHOR


def test_breakdowns_and_skips():
    r = result()
    reasons = [rows.group_row(g, words=True) for g in r.by_reason]
    assert [g["key"] for g in reasons] == ["Take profit", "Stop loss"]
    token = rows.group_row(r.by_token[0])
    assert (token["key"], token["wins"], token["win_rate"], token["profit"]) == (
        "ETH",
        "1 / 0",
        "100.0%",
        "+$148.20",
    )
    assert rows.skip_rows(r.skips) == [
        {"reason": "Max open positions", "count": "3"},
        {"reason": "No price", "count": "1"},
        {"reason": "Below threshold", "count": "1"},
    ]


def test_window_line():
    assert rows.window(result()) == "2026-11-01 → 2026-11-04 · $10,000 starting capital"


@pytest.mark.parametrize(
    ("a", "b", "direction", "better"),
    [
        (D(2), D(1), "higher", "a"),
        (D(1), D(2), "higher", "b"),
        (D("0.1"), D("0.2"), "lower", "a"),
        (D(1), D(1), "higher", ""),
        (None, D(1), "higher", ""),
        (3, 5, "none", ""),
    ],
)
def test_better_of(a, b, direction, better):
    assert rows.better_of(a, b, direction) == better


def test_compare_marks_higher_profit_and_sharpe_and_lower_drawdown():
    a = summary(profit="250.00", sharpe="1.85", drawdown="0.02")
    b = summary(profit="-40.00", sharpe="2.10", drawdown="0.05")
    compared = {r["id"].removeprefix("bt-compare-"): r for r in rows.compare_rows(a, b)}
    assert compared["profit-total-abs"]["better"] == "a"
    assert (compared["profit-total"]["a"], compared["profit-total"]["b"]) == ("+2.5%", "-0.4%")
    assert compared["sharpe"]["better"] == "b"
    assert compared["max-drawdown"]["better"] == "a"
    assert compared["trades"]["better"] == ""  # more trades is neither better nor worse
    assert compared["fees-paid"]["better"] == ""  # equal fees: a tie
