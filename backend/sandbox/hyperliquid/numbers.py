"""Hyperliquid's number rules and string formats, written apart from the adapter's rounding helpers so the
server catches an adapter that gets them wrong."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
USD_STEP = Decimal("0.000001")  # USDC has 6 decimals on Hyperliquid
MAX_PERP_PRICE_DECIMALS = 6
MAX_SIGNIFICANT_FIGURES = 5


def fmt(value: Decimal) -> str:
    """The API's number strings: no exponent, always a decimal point ("0.0", "64000.0", "0.0335")."""
    if value == 0:
        return "0.0"
    text = f"{value.normalize():f}"
    return text if "." in text else text + ".0"


def fmt_usd(value: Decimal) -> str:
    return fmt(value.quantize(USD_STEP, rounding=ROUND_HALF_UP))


def parse(text: object) -> Decimal | None:
    """A wire number, or None when it is not a finite number."""
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(-int(exponent), 0)


def valid_size(size: Decimal, sz_decimals: int) -> bool:
    return size > 0 and decimals(size) <= sz_decimals


def valid_price(price: Decimal, sz_decimals: int) -> bool:
    """At most 5 significant figures and at most 6 - szDecimals decimals; integers are always allowed."""
    if price <= 0 or decimals(price) > MAX_PERP_PRICE_DECIMALS - sz_decimals:
        return False
    if decimals(price) == 0:
        return True
    return len(price.normalize().as_tuple().digits) <= MAX_SIGNIFICANT_FIGURES


def price_levels(
    mid: Decimal, sz_decimals: int, count: int, step: Decimal
) -> tuple[list[Decimal], list[Decimal]]:
    """Bid and ask prices around a mid, each a valid price, spreading out by `step` (a fraction) per level."""
    bids, asks = [], []
    for i in range(1, count + 1):
        bids.append(_valid(mid * (1 - step * i), sz_decimals))
        asks.append(_valid(mid * (1 + step * i), sz_decimals))
    return bids, asks


def _valid(price: Decimal, sz_decimals: int) -> Decimal:
    places = min(MAX_PERP_PRICE_DECIMALS - sz_decimals, MAX_SIGNIFICANT_FIGURES - 1 - price.adjusted())
    return price.quantize(Decimal(1).scaleb(-max(places, 0)), rounding=ROUND_HALF_UP)
