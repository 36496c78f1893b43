"""The position book: realised PnL (one formula), net positions with partial closes, and one breakdown.

`realized_pnl` is what a close did to the venue account: the price move times the size, less the venue's
fees on the way in and out. The platform's own fee and profit share are billing lines on top of it;
`breakdown` puts all of them side by side, and every page and endpoint shows that breakdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from backend.trading.market import Balance
from backend.trading.money import ZERO, money
from backend.trading.types import Side


def _direction(side: Side) -> int:
    return 1 if side == Side.LONG else -1


def gross_pnl(side: Side, entry: Decimal, price: Decimal, size: Decimal) -> Decimal:
    """The price move times the size, before any fee; positive when the position wins."""
    if size < 0:
        raise ValueError("size must not be negative; the side says the direction")
    return money(_direction(side) * (price - entry) * size)


def unrealized_pnl(side: Side, entry: Decimal, price: Decimal, size: Decimal) -> Decimal:
    """USD PnL of `size` base units at `price`, unrounded (charts and balances sum many of these)."""
    if size < 0:
        raise ValueError("size must not be negative; the side says the direction")
    return _direction(side) * (price - entry) * size


def weighted_entry(size: Decimal, entry: Decimal, added: Decimal, price: Decimal) -> Decimal:
    """The entry of `size` at `entry` after adding `added` at `price`: the size-weighted mean, unrounded."""
    if size < 0 or added < 0 or size + added == 0:
        raise ValueError("sizes must not be negative and must not both be zero")
    return (size * entry + added * price) / (size + added)


def realized_pnl(
    side: Side, entry: Decimal, exit: Decimal, size: Decimal, entry_fee: Decimal, exit_fee: Decimal
) -> Decimal:
    """What the close did to the account: gross PnL less the venue's fees in and out."""
    return money(gross_pnl(side, entry, exit, size) - entry_fee - exit_fee)


@dataclass(frozen=True)
class NetPosition:
    """A venue-style net position in one market: `size` > 0 long, < 0 short."""

    size: Decimal
    entry_price: Decimal
    leverage: Decimal = Decimal(1)

    @property
    def side(self) -> Side:
        return Side.LONG if self.size > 0 else Side.SHORT

    @property
    def margin(self) -> Decimal:
        return abs(self.size) * self.entry_price / self.leverage

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.entry_price) * self.size


@dataclass(frozen=True)
class FillEffect:
    position: NetPosition | None  # None when the fill closed the market flat
    realized: Decimal  # the price move booked by the part of the fill that reduced the position


def apply_fill(
    held: NetPosition | None, *, is_buy: bool, size: Decimal, price: Decimal, leverage: Decimal
) -> FillEffect:
    """A fill against a net position: adding averages the entry, reducing books PnL, crossing zero flips.

    `leverage` applies when the fill opens or adds; a reduction keeps the position's own.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    signed = size if is_buy else -size
    if held is None or held.size == 0:
        return FillEffect(NetPosition(signed, price, leverage), ZERO)
    new_size = held.size + signed
    if (held.size > 0) == is_buy:  # adding: size-weighted entry
        entry = weighted_entry(abs(held.size), held.entry_price, size, price)
        return FillEffect(NetPosition(new_size, entry, leverage), ZERO)
    closed = min(size, abs(held.size))
    realized = gross_pnl(held.side, held.entry_price, price, closed)
    if new_size == 0:
        return FillEffect(None, realized)
    if (new_size > 0) == (held.size > 0):  # partly reduced: the rest keeps its entry and leverage
        return FillEffect(NetPosition(new_size, held.entry_price, held.leverage), realized)
    return FillEffect(NetPosition(new_size, price, leverage), realized)  # flipped: the rest opened here


def account_balance(
    cash: Decimal, positions: Iterable[tuple[str, NetPosition]], mids: Mapping[str, Decimal]
) -> Balance:
    """A perp account: equity is cash plus unrealised PnL; open positions hold their margin out of it."""
    unrealized = margin = ZERO
    for market, position in positions:
        unrealized += position.unrealized(mids[market])
        margin += position.margin
    equity = cash + unrealized
    return Balance(equity=equity, available=max(equity - margin, ZERO))


def venue_fees(entry_fee: Decimal, exit_fee: Decimal) -> Decimal:
    """A position's fees to the venue: the entry's and, once closed, the exit's."""
    return entry_fee + exit_fee


@dataclass(frozen=True)
class Breakdown:
    """One position's money, every part named: net = gross - venue fees - platform fee - profit share."""

    gross_pnl: Decimal
    entry_fee: Decimal  # the venue's
    exit_fee: Decimal  # the venue's; zero while open
    platform_fee: Decimal  # Maxxit's trade fee billed for it
    profit_share: Decimal  # billed on a profitable close; zero while open
    net_pnl: Decimal

    @property
    def venue_fees(self) -> Decimal:
        return venue_fees(self.entry_fee, self.exit_fee)

    @property
    def total_fees(self) -> Decimal:
        return self.venue_fees + self.platform_fee + self.profit_share


def total(parts: Iterable[Breakdown]) -> Breakdown:
    """Several positions' breakdowns summed part by part: a deployment's or an account's figures."""
    sums = [ZERO] * 6
    for part in parts:
        values = (part.gross_pnl, part.entry_fee, part.exit_fee, part.platform_fee, part.profit_share)
        for i, value in enumerate((*values, part.net_pnl)):
            sums[i] += value
    return Breakdown(*sums)


def breakdown(
    side: Side,
    entry: Decimal,
    price: Decimal,
    size: Decimal,
    *,
    entry_fee: Decimal,
    exit_fee: Decimal = ZERO,
    platform_fee: Decimal = ZERO,
    profit_share: Decimal = ZERO,
) -> Breakdown:
    """The breakdown at `price`: the exit price of a closed position, the mark of an open one."""
    gross = gross_pnl(side, entry, price, size)
    net = money(gross - entry_fee - exit_fee - platform_fee - profit_share)
    return Breakdown(gross, entry_fee, exit_fee, platform_fee, profit_share, net)
