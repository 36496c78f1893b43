"""Hyperliquid's price and size rules for perps, as pure functions.

Prices: at most 5 significant figures and at most 6 - szDecimals decimals; integer prices are always valid.
Sizes: at most szDecimals decimals. Orders (other than reduce-only ones) must be worth at least $10.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

MAX_PERP_PRICE_DECIMALS = 6
SIGNIFICANT_FIGURES = 5
MIN_NOTIONAL = Decimal(10)


def price_decimals(sz_decimals: int) -> int:
    """The most decimals a perp price may have."""
    return max(MAX_PERP_PRICE_DECIMALS - sz_decimals, 0)


def price_tick(price: Decimal, sz_decimals: int) -> Decimal:
    """The step between valid prices around `price`: the 5th significant figure, capped by the decimals
    rule, and never coarser than 1 (integers are always valid)."""
    if price <= 0:
        raise ValueError("prices are positive")
    exponent = min(price.adjusted() - (SIGNIFICANT_FIGURES - 1), 0)
    return Decimal(1).scaleb(max(exponent, -price_decimals(sz_decimals)))


def round_price(price: Decimal, sz_decimals: int, rounding: str = ROUND_HALF_UP) -> Decimal:
    """The valid price nearest `price` in the given rounding direction."""
    rounded = price.quantize(price_tick(price, sz_decimals), rounding=rounding)
    if rounded <= 0:
        raise ValueError(f"{price} is below the smallest valid price")
    return rounded


def round_size(size: Decimal, sz_decimals: int) -> Decimal:
    """Down to the size step: never more than was asked for."""
    return size.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN)


def slippage_price(mid: Decimal, is_buy: bool, slippage: Decimal, sz_decimals: int) -> Decimal:
    """The limit of an aggressive IOC order: `slippage` beyond the mid, rounded back toward the mid so the
    order never pays more than the guard allows (a buy rounds down, a sell up)."""
    if is_buy:
        return round_price(mid * (1 + slippage), sz_decimals, ROUND_DOWN)
    return round_price(mid * (1 - slippage), sz_decimals, ROUND_UP)
