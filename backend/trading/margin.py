"""Notional, margin and liquidation of one isolated-margin perp position. Pure, Decimal, unrounded.

The maintenance margin rule is Hyperliquid's: a position must keep at least half the initial margin it
would need at the market's maximum leverage, i.e. a fraction `1 / (2 * max_leverage)` of its notional at
the mark (25x max: 2% of notional). Isolated margin means the position's own margin alone backs it, so it
is liquidated when that margin plus the unrealised PnL falls to the maintenance margin:

    long:  size*entry/L + (p - entry)*size = m*p*size   ->  p = entry * (1 - 1/L) / (1 - m)
    short: size*entry/L + (entry - p)*size = m*p*size   ->  p = entry * (1 + 1/L) / (1 + m)

with L the position's leverage and m the maintenance fraction. Fees and funding paid since entry move the
real line a little closer; the venue's own figure is the one that counts, this one is for the chart.
"""

from __future__ import annotations

from decimal import Decimal

from backend.trading.types import Side

ONE = Decimal(1)


def notional(size: Decimal, price: Decimal) -> Decimal:
    """The position's value in USD at `price`: what the trader is exposed to."""
    return abs(size) * price


def initial_margin(size: Decimal, entry: Decimal, leverage: Decimal) -> Decimal:
    """The USD the position holds out of the account: its entry notional over its leverage."""
    if not leverage > 0:
        raise ValueError("leverage must be positive")
    return notional(size, entry) / leverage


def maintenance_fraction(max_leverage: Decimal) -> Decimal:
    """Of the notional, what must stay as margin: half the initial margin at the maximum leverage."""
    if not max_leverage > 0:
        raise ValueError("max_leverage must be positive")
    return ONE / (2 * max_leverage)


def liquidation_price(side: Side, entry: Decimal, leverage: Decimal, max_leverage: Decimal) -> Decimal | None:
    """Where an isolated position at `leverage` is liquidated; None for a long at 1x or less, which
    cannot lose more than its margin before the price reaches zero."""
    if not entry > 0 or not leverage > 0:
        raise ValueError("entry and leverage must be positive")
    m = maintenance_fraction(max_leverage)
    if side == Side.LONG:
        if leverage <= ONE:
            return None
        return entry * (ONE - ONE / leverage) / (ONE - m)
    return entry * (ONE + ONE / leverage) / (ONE + m)
