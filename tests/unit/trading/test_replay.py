"""The replay: next-open entries, each exit reason both ways, leverage, skips, reserve, curve, billing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from backend.trading.book import realized_pnl
from backend.trading.exits import Candle, ExitRules
from backend.trading.fees import FeePolicy, LineKind
from backend.trading.fills import FillModel
from backend.trading.market import MarketRules
from backend.trading.replay import (
    OPPOSITE_POSITION,
    BookSpec,
    ReplaySignal,
    day_closes,
    replay,
)
from backend.trading.sizing import BELOW_MINIMUM, INSUFFICIENT_BALANCE
from backend.trading.types import CloseReason, Side, SizingProfile

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
L, S = Side.LONG, Side.SHORT
ETH = MarketRules("ETH", size_decimals=4, tick_size=D("0.01"), min_notional=D(10), max_leverage=D(25))
SOL = MarketRules("SOL", size_decimals=2, tick_size=D("0.001"), min_notional=D(10), max_leverage=D(10))
MARKETS = {"ETH": ETH, "SOL": SOL}
FILLS = FillModel(slippage=D("0.0005"), taker_fee=D("0.00045"))
RULES = ExitRules(stoploss=D("0.10"), take_profit=D("0.20"), time_limit=timedelta(hours=2))


def spec(**changes) -> BookSpec:
    values = {"capital": D(10000), "exits": RULES, "markets": MARKETS, "fills": FILLS} | changes
    return BookSpec(**values)


def ticks(prices, start: datetime = T0) -> list[Candle]:
    return [Candle.tick(start + i * STEP, D(str(p))) for i, p in enumerate(prices)]


def mirrored(prices) -> list[D]:
    """The short's version of a long's path: each move turned around (100 -> 100, 110 -> 90.9...)."""
    return [(D(10000) / D(str(p))).quantize(D("0.01")) for p in prices]


def run(signals, candles, book=None, end=None, start=T0):
    end = end or max(c.at for cs in candles.values() for c in cs) + STEP
    return replay(book or spec(), signals, candles, start=start, end=end, interval=STEP)


def signal(at=T0, side=L, token="ETH", score="0.8", signal_id=1) -> ReplaySignal:
    return ReplaySignal(at=at, token=token, side=side, score=D(score), signal_id=signal_id, version=7)


# Long paths by reason; a short runs the mirrored path. Prices are ticks 15 minutes apart.
PATHS = {
    CloseReason.STOP_LOSS: [100, 97, 92, 89, 88],
    CloseReason.TAKE_PROFIT: [100, 108, 115, 126, 128],
    CloseReason.TRAILING_STOP: [100, 102, 105, 104.5, 103.5, 103],
    CloseReason.TIME_LIMIT: [100, 100.5, 101, 100.7, 100.9, 101.2, 100.8, 101.1, 100.9, 101],
}


@pytest.mark.parametrize("side", [L, S])
@pytest.mark.parametrize("reason", list(PATHS))
def test_every_exit_reason_both_ways_fills_and_books_like_the_venue(side, reason):
    prices = [D(str(p)) for p in PATHS[reason]] if side == L else mirrored(PATHS[reason])
    result = run([signal(side=side)], {"ETH": ticks(prices)})
    (trade,) = result.trades
    assert trade.reason == reason and trade.side == side and trade.version == 7 and trade.signal_id == 1

    # Entry: the first open at or after the signal, through the fill model; sized on $10,000 at the mid.
    entry = FILLS.price(prices[0], is_buy=side == L, rules=ETH)
    assert (trade.entry_at, trade.entry_price) == (T0, entry)
    assert trade.size == ETH.round_size(D(800) / prices[0])  # high confidence: 8% of available, 1x
    assert trade.entry_fee == FILLS.fee(trade.size, entry)

    # Exit: the tick where the rule fired, through the fill model the other way.
    fired = next(i for i, c in enumerate(ticks(prices)) if c.at == trade.exit_at)
    assert trade.exit_price == FILLS.price(prices[fired], is_buy=side == S, rules=ETH)
    assert trade.exit_fee == FILLS.fee(trade.size, trade.exit_price)
    pnl = realized_pnl(side, entry, trade.exit_price, trade.size, trade.entry_fee, trade.exit_fee)
    assert trade.realized_pnl == pnl
    assert (pnl > 0) == (reason != CloseReason.STOP_LOSS)
    if reason == CloseReason.TIME_LIMIT:
        assert trade.exit_at == T0 + timedelta(hours=2)

    # The venue book: flat again, cash moved by exactly the trade's PnL, the curve ends there.
    assert result.positions == {} and result.cash == D(10000) + pnl
    assert result.equity[-1].equity == result.cash
    assert sum(p.realized_pnl for p in result.equity) == pnl
    assert result.billing == []  # paper: free


def test_the_entry_is_the_next_open_after_the_signal_and_a_gap_fills_at_the_open():
    candles = [
        Candle(T0, D(100), D(101), D(99), D(100)),
        Candle(T0 + STEP, D(100), D("100.5"), D("99.5"), D(100)),
        Candle(T0 + 2 * STEP, D(80), D(81), D(79), D(80)),  # gaps through the stop
    ]
    result = run([signal(at=T0 + timedelta(minutes=7))], {"ETH": candles})
    (trade,) = result.trades
    assert trade.entry_at == T0 + STEP
    assert trade.reason == CloseReason.STOP_LOSS and trade.exit_at == T0 + 2 * STEP
    assert trade.exit_price == FILLS.price(D(80), is_buy=False, rules=ETH)


def test_within_one_candle_the_stop_is_taken_before_the_target_at_the_line_and_the_candle_end():
    candles = [Candle(T0, D(100), D(100), D(100), D(100)), Candle(T0 + STEP, D(100), D(125), D(85), D(100))]
    (trade,) = run([signal()], {"ETH": candles}).trades
    line = FILLS.price(D(100), is_buy=True, rules=ETH) * D("0.90")
    assert trade.reason == CloseReason.STOP_LOSS
    assert trade.exit_price == FILLS.price(line, is_buy=False, rules=ETH)
    assert trade.exit_at == T0 + 2 * STEP  # inside the candle: timed at its end


@pytest.mark.parametrize(("leverage", "used"), [(D(3), D(3)), (D(40), D(25))])
def test_leverage_multiplies_the_size_and_the_pnl_never_above_the_market_maximum(leverage, used):
    prices = [D(str(p)) for p in PATHS[CloseReason.TAKE_PROFIT]]
    (plain,) = run([signal()], {"ETH": ticks(prices)}).trades
    result = run([signal()], {"ETH": ticks(prices)}, book=spec(leverage=leverage))
    (levered,) = result.trades
    assert levered.leverage == used
    assert levered.size == ETH.round_size(D(800) * used / prices[0])
    assert levered.exit_price == plain.exit_price
    assert levered.realized_pnl == realized_pnl(
        L, levered.entry_price, levered.exit_price, levered.size, levered.entry_fee, levered.exit_fee
    )
    assert levered.realized_pnl > plain.realized_pnl * (used - 1)


def test_an_opposite_signal_waits_for_the_exit_and_a_same_side_one_adds():
    prices = [100, 101, 100.5, 101, 100.8, 89, 90, 90, 90]
    signals = [
        signal(signal_id=1),
        signal(at=T0 + STEP, side=S, signal_id=2),  # the long is open: skipped
        signal(at=T0 + 2 * STEP, signal_id=3),  # adds to the long
        signal(at=T0 + 7 * STEP, side=S, signal_id=4),  # both longs stopped out at the 89 tick: trades
    ]
    result = run(signals, {"ETH": ticks(prices)})
    assert [(s.signal_id, s.category) for s in result.skips] == [(2, OPPOSITE_POSITION)]
    first, added, short = result.trades
    assert (first.signal_id, added.signal_id, short.signal_id) == (1, 3, 4)
    assert first.reason == added.reason == CloseReason.STOP_LOSS
    assert first.exit_at == added.exit_at == T0 + 5 * STEP
    assert short.is_open and result.positions["ETH"].size == -short.size
    # Cash: capital, plus both closes, less the open short's entry fee.
    assert result.cash == D(10000) + first.realized_pnl + added.realized_pnl - short.entry_fee


def test_a_trade_below_the_minimum_is_skipped():
    result = run([signal(score="0.56")], {"ETH": ticks([100] * 4)}, book=spec(capital=D(400)))
    assert result.trades == () and [s.category for s in result.skips] == [BELOW_MINIMUM]


def test_the_reserve_is_never_spent():
    """Every entry sizes on the book's balance: open margin never reaches 80% of equity."""
    free = FillModel(slippage=D(0), taker_fee=D(0))  # so margin at the mid is margin at the fill
    book = spec(sizing_profile=SizingProfile.AGGRESSIVE, exits=ExitRules(stoploss=D("0.5")), fills=free)
    flat = {"ETH": ticks([100] * 80), "SOL": ticks([20] * 80)}
    signals = [signal(at=T0 + i * STEP, token=("ETH", "SOL")[i % 2], signal_id=i) for i in range(60)]
    result = run(signals, flat, book=book)
    margin = sum((t.size * t.entry_price / t.leverage for t in result.trades), D(0))
    assert result.equity[-1].equity == D(10000)
    assert D(7000) < margin <= D("0.8") * D(10000)
    assert len(result.trades) > 10
    assert {s.category for s in result.skips} <= {BELOW_MINIMUM, INSUFFICIENT_BALANCE}
    assert result.skips  # the reserve stopped it before the signals ran out


def test_the_equity_curve_has_a_point_per_day_with_unrealised_pnl_at_the_close():
    start = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
    prices = [100, 100, 100, 100, 100, 100, 100, 100, 101, 101, 102, 102]  # midnight (index 8): 101
    end = start + 12 * STEP
    book = spec(exits=ExitRules(take_profit=D("0.20")))
    result = run([signal(at=start)], {"ETH": ticks(prices, start)}, book=book, start=start, end=end)
    (trade,) = result.trades
    first, last = result.equity
    assert (first.day, first.at) == (start.date(), datetime(2026, 6, 2, tzinfo=UTC))
    assert first.cash == last.cash == D(10000) - trade.entry_fee
    assert first.unrealized_pnl == (D(101) - trade.entry_price) * trade.size
    assert (last.day, last.at) == (end.date(), end)
    assert last.unrealized_pnl == (D(102) - trade.entry_price) * trade.size
    assert trade.is_open and trade.best_price == D(102)
    assert result.positions["ETH"].size == trade.size


def test_day_closes_cover_every_calendar_day():
    start, end = datetime(2026, 6, 1, 9, tzinfo=UTC), datetime(2026, 6, 3, 9, tzinfo=UTC)
    assert [d.day for d, _ in day_closes(start, end)] == [1, 2, 3]
    assert day_closes(start, end)[-1][1] == end


def test_a_billable_book_owes_a_trade_fee_per_entry_and_a_profit_share_on_a_win():
    prices = [D(str(p)) for p in PATHS[CloseReason.TAKE_PROFIT]]
    policy = FeePolicy(trade_fee_usd=D("0.20"), creator_share=D("0.10"), sources_share=D(0))
    result = run([signal()], {"ETH": ticks(prices)}, book=spec(fees=policy, billable=True))
    (trade,) = result.trades
    kinds = [(line.kind, line.amount) for line in result.billing]
    assert kinds == [
        (LineKind.TRADE_FEE, D("0.200000")),
        (LineKind.PROFIT_SHARE, (trade.realized_pnl * D("0.10")).quantize(D("0.000001"))),
    ]


def test_signals_out_of_order_or_without_a_market_are_refused_or_skipped():
    candles = {"ETH": ticks([100] * 4)}
    with pytest.raises(ValueError, match="time order"):
        run([signal(at=T0 + STEP), signal(at=T0)], candles)
    result = run([signal(token="DOGE")], candles)
    assert [s.category for s in result.skips] == ["market not listed"]
