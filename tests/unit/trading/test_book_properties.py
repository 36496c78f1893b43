"""Property tests of the position book: the books balance, and a breakdown always adds up."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.trading.book import NetPosition, apply_fill, breakdown, gross_pnl, realized_pnl
from backend.trading.money import ZERO, money
from backend.trading.types import Side

prices = st.decimals(min_value="0.01", max_value="100000", places=2)
sizes = st.decimals(min_value="0.001", max_value="1000", places=3)
fees = st.decimals(min_value="0", max_value="50", places=6)
fills = st.lists(st.tuples(st.booleans(), sizes, prices), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(fills=fills, mark=prices)
def test_realised_plus_unrealised_is_the_cash_flow(fills, mark) -> None:
    """Whatever fills happen (adds, partial closes, flips), booked PnL plus the open position at a mark
    equals what the trades did to cash: sells received, buys paid, the holding valued at the mark."""
    held: NetPosition | None = None
    realised = cash = net_size = ZERO
    for is_buy, size, price in fills:
        effect = apply_fill(held, is_buy=is_buy, size=size, price=price, leverage=Decimal(2))
        held, realised = effect.position, realised + effect.realized
        cash += -size * price if is_buy else size * price
        net_size += size if is_buy else -size
    unrealised = held.unrealized(mark) if held is not None else ZERO
    assert (held.size if held else ZERO) == net_size
    # gross_pnl rounds each reduction to the money quantum: at most half a quantum per fill of drift.
    tolerance = Decimal("0.0000005") * len(fills)
    assert abs(realised + unrealised - (cash + net_size * mark)) <= tolerance


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(Side),
    entry=prices,
    price=prices,
    size=sizes,
    entry_fee=fees,
    exit_fee=fees,
    platform_fee=fees,
    share=fees,
)
def test_breakdown_net_is_gross_less_every_fee(
    side, entry, price, size, entry_fee, exit_fee, platform_fee, share
) -> None:
    parts = breakdown(
        side,
        entry,
        price,
        size,
        entry_fee=entry_fee,
        exit_fee=exit_fee,
        platform_fee=platform_fee,
        profit_share=share,
    )
    assert parts.net_pnl == parts.gross_pnl - parts.venue_fees - parts.platform_fee - parts.profit_share
    assert parts.total_fees == entry_fee + exit_fee + platform_fee + share
    assert parts.net_pnl == money(parts.gross_pnl - parts.total_fees)


@settings(max_examples=300, deadline=None)
@given(side=st.sampled_from(Side), entry=prices, exit=prices, size=sizes, entry_fee=fees, exit_fee=fees)
def test_realised_pnl_is_gross_less_venue_fees(side, entry, exit, size, entry_fee, exit_fee) -> None:
    realised = realized_pnl(side, entry, exit, size, entry_fee, exit_fee)
    assert realised == gross_pnl(side, entry, exit, size) - entry_fee - exit_fee
    closed = breakdown(side, entry, exit, size, entry_fee=entry_fee, exit_fee=exit_fee)
    assert closed.net_pnl == realised  # with nothing billed, net is what the venue account saw
