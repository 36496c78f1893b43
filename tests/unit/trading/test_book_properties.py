"""Property tests of the position book: the books balance, and a breakdown always adds up."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.trading.book import NetPosition, apply_fill, breakdown, gross_pnl, realized_pnl, total
from backend.trading.fees import FeePolicy, LineKind, close_lines, open_lines
from backend.trading.fills import FillModel
from backend.trading.market import MarketRules
from backend.trading.money import ZERO, money
from backend.trading.types import CloseReason, Side

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


trips = st.lists(
    st.tuples(st.sampled_from(Side), prices, prices, sizes, st.sampled_from(CloseReason)),
    min_size=1,
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(trips=trips, billable=st.booleans())
def test_a_book_of_closed_trades_adds_up_through_the_fill_model_and_the_fee_policy(trips, billable) -> None:
    """Round trips filled by the fill model and billed by the fee policy: the summed breakdown's net is
    what the venue account made (realised PnL) less exactly the lines billed; paper is billed nothing."""
    model, policy = FillModel(), FeePolicy(creator_share=Decimal("0.10"))
    rules = MarketRules(
        "X", size_decimals=3, tick_size=Decimal("0.01"), min_notional=ZERO, max_leverage=Decimal(10)
    )
    parts, realised, billed = [], ZERO, ZERO
    for side, mid_in, mid_out, size, reason in trips:
        entry = model.price(mid_in, is_buy=side == Side.LONG, rules=rules)
        exit = model.price(mid_out, is_buy=side == Side.SHORT, rules=rules)
        fee_in, fee_out = model.fee(size, entry), model.fee(size, exit)
        pnl = realized_pnl(side, entry, exit, size, fee_in, fee_out)
        lines = open_lines(policy, billable=billable, market="X")
        lines += close_lines(policy, billable=billable, realized_pnl=pnl, reason=reason)
        platform = sum((x.amount for x in lines if x.kind == LineKind.TRADE_FEE), ZERO)
        share = sum((x.amount for x in lines if x.kind == LineKind.PROFIT_SHARE), ZERO)
        parts.append(
            breakdown(
                side,
                entry,
                exit,
                size,
                entry_fee=fee_in,
                exit_fee=fee_out,
                platform_fee=platform,
                profit_share=share,
            )
        )
        realised, billed = realised + pnl, billed + platform + share
    book = total(parts)
    assert book.net_pnl == realised - billed
    assert book.net_pnl == book.gross_pnl - book.venue_fees - book.platform_fee - book.profit_share
    assert billable or billed == 0
