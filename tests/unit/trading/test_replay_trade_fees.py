"""A replayed trade's venue fees, in and out, are the core's sum: the backtest's trades table shows them."""

from __future__ import annotations

from decimal import Decimal as D

from backend.trading.types import CloseReason
from tests.unit.trading.test_replay import FILLS, PATHS, run, signal, ticks


def test_a_closed_trade_pays_the_fill_models_fee_in_and_out():
    prices = [D(str(p)) for p in PATHS[CloseReason.TAKE_PROFIT]]
    (trade,) = run([signal()], {"ETH": ticks(prices)}).trades
    assert not trade.is_open and trade.exit_price is not None and trade.exit_fee > 0
    fee_in, fee_out = FILLS.fee(trade.size, trade.entry_price), FILLS.fee(trade.size, trade.exit_price)
    assert trade.venue_fees == fee_in + fee_out


def test_an_open_trade_has_paid_only_its_entry_fee():
    (trade,) = run([signal()], {"ETH": ticks([D(100), D(101), D(102)])}).trades
    assert trade.is_open and trade.venue_fees == trade.entry_fee > 0
