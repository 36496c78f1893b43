"""Exits inside a bar: the backtest resolves them as the core documents (`trading.exits.evaluate_candle`).

A bar is walked open, adverse extreme, favourable extreme, close: one that touches both the stop and the
target takes the stop, which fills at its line; a target fills at its line; a bar that opens past a line (a
gap) fills at the open. An exit at the open is timed at the bar's open, one inside it at the bar's end.
Long and short alike (a short's stop is above the entry, its target below).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backend.backtest.candles import BAR, HOUR
from backend.backtest.engine import Sources, run
from backend.backtest.inputs import FeatureCache, PostCall
from backend.backtest.replay_source import Costs
from backend.models.enums import CloseReason, Side
from backend.prices.simulated import Candle as Hourly
from backend.trading.exits import Candle as Bar
from backend.trading.fees import FeePolicy
from backend.trading.fills import FillModel
from backend.trading.market import MarketRules
from tests.backtest_data import tweet_only_strategy

T0 = datetime(2026, 10, 1, tzinfo=UTC)
POST_AT = T0 + timedelta(hours=70, minutes=5)
WIDE = T0 + timedelta(hours=71)  # the first bar after the entry's


class Path:
    """Flat at 100, but for one bar at `WIDE` (open, high, low, close); by default through stop and target."""

    def __init__(self, wide: tuple[int, int, int, int] = (100, 130, 85, 100)) -> None:
        self.wide = Bar(WIDE, *(Decimal(p) for p in wide))
        self.name = f"intrabar:{wide}"

    def hourly(self, market, start, end):
        out, at = [], start
        while at < end:
            out.append(Hourly(at, Decimal(100), Decimal(100), Decimal(100), Decimal(100), Decimal(1000)))
            at += HOUR
        return out

    def bars(self, market, start, end):
        out, at = [], start
        while at < end:
            flat = Decimal(100)
            out.append(self.wide if at == WIDE else Bar(at, flat, flat, flat, flat))
            at += BAR
        return out

    def data_version(self, markets, start, end):
        return self.name


def _backtest(side: Side, path: Path):
    """One call on `path` (no slippage or fees, so fills are the lines themselves); its outcome."""
    rules = MarketRules(
        "BTC", size_decimals=4, tick_size=Decimal("0.1"), min_notional=Decimal(10), max_leverage=Decimal(10)
    )
    costs = Costs(
        fills=FillModel(Decimal(0), Decimal(0)),
        fees=FeePolicy(),
        time_limit=None,
        reference_capital=Decimal(10000),
    )
    sources = Sources(path, {"BTC": rules}, costs, features=FeatureCache())
    call = PostCall(1, 1, "someone", f"{side} $BTC", POST_AT, POST_AT, "BTC", side, Decimal("0.9"))
    return run(
        [call],
        tweet_only_strategy(),
        start=T0,
        end=T0 + timedelta(days=4),
        capital=Decimal(10000),
        sources=sources,
    )


def test_a_bar_through_stop_and_target_exits_at_the_stop():
    outcome = _backtest(Side.LONG, Path())
    (trade,) = outcome.result.trades
    assert trade.entry_at == T0 + timedelta(hours=70, minutes=15)
    assert trade.reason == CloseReason.STOP_LOSS
    assert trade.entry_price == Decimal(100)
    assert trade.exit_price == Decimal(90)  # the stop line (10% under the entry), not the target, not the low
    assert trade.exit_at == WIDE + BAR  # inside a bar: timed at its end
    assert outcome.report.summary.losses == 1


# Entry at 100; stop 10% against it, target 20% for it: a long's stop 90 and target 120, a short's 110 and 80.
@pytest.mark.parametrize(
    ("side", "wide", "reason", "exit_price", "at_open"),
    [
        # A short's bar through both lines: the adverse extreme (the high) first, so the stop, at its line.
        (Side.SHORT, (100, 115, 75, 100), CloseReason.STOP_LOSS, 110, False),
        # Only a target touched: it fills at its line, not at the bar's extreme.
        (Side.SHORT, (100, 100, 75, 90), CloseReason.TAKE_PROFIT, 80, False),
        (Side.LONG, (100, 125, 100, 110), CloseReason.TAKE_PROFIT, 120, False),
        # Gaps: the bar opens past a line, so the exit fills at the open, worse (or better) than the line.
        (Side.LONG, (80, 82, 78, 81), CloseReason.STOP_LOSS, 80, True),
        (Side.SHORT, (117, 118, 116, 117), CloseReason.STOP_LOSS, 117, True),
        (Side.LONG, (125, 126, 85, 100), CloseReason.TAKE_PROFIT, 125, True),  # the open decides first
        (Side.SHORT, (70, 112, 69, 100), CloseReason.TAKE_PROFIT, 70, True),
    ],
)
def test_exits_inside_a_bar_and_at_a_gap(side, wide, reason, exit_price, at_open):
    outcome = _backtest(side, Path(wide))
    (trade,) = outcome.result.trades
    assert (trade.side, trade.entry_price, trade.reason) == (side, Decimal(100), reason)
    assert trade.exit_price == Decimal(exit_price)
    assert trade.exit_at == (WIDE if at_open else WIDE + BAR)
    move = (Decimal(exit_price) - 100) * (1 if side == Side.LONG else -1)
    assert trade.realized_pnl == move * trade.size  # no fees here: the PnL is the move times the size
