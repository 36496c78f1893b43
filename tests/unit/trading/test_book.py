"""The position book: one realised PnL, net positions through adds, partial closes and flips."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from backend.trading.book import (
    NetPosition,
    account_balance,
    apply_fill,
    breakdown,
    gross_pnl,
    realized_pnl,
    total,
    weighted_entry,
)
from backend.trading.types import Side


def test_realised_pnl_is_the_move_times_size_less_both_venue_fees() -> None:
    assert realized_pnl(Side.LONG, D(100), D(110), D(2), D("0.1"), D("0.11")) == D("19.79")
    assert realized_pnl(Side.SHORT, D(100), D(110), D(2), D("0.1"), D("0.11")) == D("-20.21")
    with pytest.raises(ValueError):
        gross_pnl(Side.LONG, D(1), D(2), D(-1))


def test_adding_averages_the_entry_by_size() -> None:
    held = apply_fill(None, is_buy=True, size=D(1), price=D(100), leverage=D(3)).position
    added = apply_fill(held, is_buy=True, size=D(3), price=D(200), leverage=D(3))
    assert added.position == NetPosition(D(4), D(175), D(3)) and added.realized == 0
    assert weighted_entry(D(1), D(100), D(3), D(200)) == D(175)


def test_a_partial_close_books_its_part_and_keeps_entry_and_leverage() -> None:
    held = NetPosition(D(4), D(100), D(5))
    effect = apply_fill(held, is_buy=False, size=D(1), price=D(120), leverage=D(1))
    assert effect.position == NetPosition(D(3), D(100), D(5))
    assert effect.realized == D(20)


def test_closing_flat_leaves_no_position() -> None:
    effect = apply_fill(NetPosition(D(-2), D(100)), is_buy=True, size=D(2), price=D(90), leverage=D(1))
    assert effect.position is None and effect.realized == D(20)  # a short that won 10 on 2


def test_a_flip_closes_the_old_side_and_opens_the_rest_at_the_fill() -> None:
    effect = apply_fill(NetPosition(D(2), D(100), D(2)), is_buy=False, size=D(5), price=D(90), leverage=D(4))
    assert effect.realized == D(-20)
    assert effect.position == NetPosition(D(-3), D(90), D(4))
    assert effect.position.side == Side.SHORT


def test_account_balance_counts_unrealised_pnl_and_holds_margin() -> None:
    positions = [("ETH", NetPosition(D(2), D(100), D(4))), ("BTC", NetPosition(D(-1), D(50), D(1)))]
    balance = account_balance(D(1000), positions, {"ETH": D(110), "BTC": D(40)})
    assert balance.equity == D(1000) + D(20) + D(10)
    assert balance.available == balance.equity - D(50) - D(50)
    assert account_balance(D(10), [("ETH", NetPosition(D(10), D(100)))], {"ETH": D(100)}).available == 0


def test_breakdowns_sum_part_by_part() -> None:
    one = breakdown(
        Side.LONG, D(100), D(110), D(1), entry_fee=D("0.1"), exit_fee=D("0.1"), platform_fee=D("0.2")
    )
    two = breakdown(Side.SHORT, D(100), D(110), D(1), entry_fee=D("0.1"), profit_share=D(0))
    both = total([one, two])
    assert both.gross_pnl == D(0) and both.net_pnl == one.net_pnl + two.net_pnl
    assert both.total_fees == D("0.5")
    assert total([]).net_pnl == 0


def test_venue_fees_are_the_entry_and_exit_fees_and_only_the_entry_while_open() -> None:
    from backend.trading.book import venue_fees

    assert venue_fees(D("0.45"), D("0.46")) == D("0.91")
    assert venue_fees(D("0.45"), D("0")) == D("0.45")
