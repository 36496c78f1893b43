"""Hyperliquid's price and size rules for perps, as pure functions.

Prices: at most 5 significant figures and at most 6 - szDecimals decimals; integer prices are always valid.
Sizes: at most szDecimals decimals. Orders (other than reduce-only ones) must be worth at least $10.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from backend.trading.market import MarketRules

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


# -- the app's units at the boundary ------------------------------------------------------------------
# Hyperliquid lists some tokens 1,000 at a time under a "k" prefix (kPEPE, kBONK, kSHIB): one kPEPE
# contract is 1,000 PEPE and its price is the price of 1,000 PEPE. The app speaks per token (PEPE), so the
# adapter and the price feed convert here: sizes x1000 and prices /1000 coming in, the reverse going out.
K_PREFIX_UNITS = 1000
_K_PREFIXED = re.compile(r"^k[A-Z0-9]*[A-Z][A-Z0-9]*$")


def app_symbol(coin: str) -> tuple[str, int]:
    """The symbol people write and the tokens per contract: ("PEPE", 1000) for kPEPE, ("ETH", 1) for ETH."""
    if _K_PREFIXED.match(coin):
        return coin[1:], K_PREFIX_UNITS
    return coin, 1


def unit_digits(units: int) -> int:
    """log10 of a power of ten: 3 for 1000."""
    digits = len(str(units)) - 1
    if units < 1 or 10**digits != units:
        raise ValueError(f"units must be a power of ten, not {units}")
    return digits


def app_rules(
    symbol: str, sz_decimals: int, max_leverage: Decimal, units: int, mid: Decimal | None
) -> MarketRules:
    """A perp's rules in the app's units from the venue's szDecimals and a mid of the venue's contract.

    kPEPE at szDecimals 0 trades whole contracts, so PEPE sizes step by 1000: size_decimals -3. The tick is
    the venue's tick at today's price, per token; orders use the exact rule (`round_price`) on the venue's
    price, so this tick only describes.
    """
    digits = unit_digits(units)
    tick = price_tick(mid, sz_decimals) if mid else Decimal(1).scaleb(-price_decimals(sz_decimals))
    return MarketRules(
        market=symbol,
        size_decimals=sz_decimals - digits,
        tick_size=tick.scaleb(-digits),
        min_notional=MIN_NOTIONAL,
        max_leverage=Decimal(max_leverage),
        min_size=Decimal(1).scaleb(digits - sz_decimals),
    )


def venue_size_decimals(rules: MarketRules, units: int) -> int:
    """The venue's szDecimals back from app rules: -3 and 1000 give 0."""
    return rules.size_decimals + unit_digits(units)


def venue_size(size: Decimal, units: int, sz_decimals: int) -> Decimal:
    """A per-token size as venue contracts, down to the venue's step: 12000 PEPE is 12 kPEPE."""
    return round_size(size.scaleb(-unit_digits(units)), sz_decimals)
