"""Prices quoted in made-up posts, rendered from the price feed so a post agrees with the market it names.

A post template writes `{BTC}` for BTC's price at the post's time and `{BTC*1.04}` for a level relative to
it (a stop, a target); rendering writes them the way crypto Twitter does: 64.9k, 3,060, 146, 28.8, 2.38,
0.142, 0.00000452.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9]*)(?:\*(\d+(?:\.\d+)?))?\}")
_BRACE = re.compile(r"[{}]")


class QuoteError(ValueError):
    """A template's braces are not a placeholder."""


def placeholders(text: str) -> list[tuple[str, Decimal]]:
    """The (symbol, factor) of every placeholder in `text`; stray braces raise `QuoteError`."""
    if _BRACE.search(PLACEHOLDER.sub("", text)):
        raise QuoteError("braces must hold a placeholder such as {BTC} or {BTC*1.04}")
    return [(m.group(1), Decimal(m.group(2) or "1")) for m in PLACEHOLDER.finditer(text)]


def for_token(template: str, symbol: str) -> str:
    """A catalogue template about "some token" (`${t}`, `{t}`, `{t*1.04}`) written for `symbol`."""
    return (
        template.replace("${t}", f"${symbol}").replace("{t}", f"{{{symbol}}}").replace("{t*", f"{{{symbol}*")
    )


def render_quotes(text: str, price_of: Callable[[str], Decimal]) -> str:
    """`text` with each placeholder replaced by its level, `price_of(symbol)` giving the price then."""
    placeholders(text)  # validates
    return PLACEHOLDER.sub(lambda m: format_price(price_of(m.group(1)) * Decimal(m.group(2) or "1")), text)


def format_price(price: Decimal) -> str:
    """A price as CT writes it: three significant figures, trailing zeros dropped, thousands as k from 10k."""
    if price <= 0:
        raise ValueError("a quoted price is positive")
    rounded = _significant(price, 3)
    if rounded >= 10_000:
        return _plain(rounded / 1000) + "k"
    if rounded >= 1000:
        return f"{int(rounded):,}"
    return _plain(rounded)


def parse_price(text: str) -> Decimal:
    """The inverse of `format_price`: "64.9k" -> 64900, "3,060" -> 3060."""
    text = text.replace(",", "").strip()
    if text.lower().endswith("k"):
        return Decimal(text[:-1]) * 1000
    return Decimal(text)


def _significant(value: Decimal, figures: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(value.adjusted() - figures + 1), rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    """Without trailing zeros or an exponent: 2.40 -> 2.4, 1.5E+2 -> 150, 4.52E-6 -> 0.00000452."""
    return f"{value.normalize():f}"
