"""Turn domain figures (Decimal or None) into display strings and a tone for their colour.

States format once on the server so rows reach the browser as plain strings; None always means the
agent has not closed a trade yet, never zero.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from backend.config import get_settings
from backend.venues import catalog

NO_TRADES = "no trades yet"

Tone = Literal["positive", "negative", "neutral", "muted"]


def tone(value: Decimal | None) -> Tone:
    """Green for gains, red for losses, grey for flat or unknown."""
    if value is None:
        return "muted"
    if value > 0:
        return "positive"
    if value < 0:
        return "negative"
    return "neutral"


def percent(value: Decimal | None, *, fraction: bool = False, signed: bool = False, places: int = 1) -> str:
    """A percentage; `fraction=True` for ratios stored as 0.55 = 55%."""
    if value is None:
        return NO_TRADES
    number = value * 100 if fraction else value
    sign = "+" if signed and number > 0 else ""
    return f"{sign}{number:,.{places}f}%"


def apr(value: Decimal | None) -> str:
    """An APR held as a fraction (0.245) as a signed percent ("+24.5%")."""
    return percent(value, fraction=True, signed=True)


def profit_factor(value: Decimal | None, trades: int) -> str:
    """Gross profit over gross loss ("2.15"); with trades but no loss it is undefined, and says why."""
    if value is None:
        return "no losses" if trades else NO_TRADES
    return f"{value:,.2f}"


def impact(value: Decimal, calls: int) -> str:
    """An impact factor with the calls it rests on ("0.42 · 12 calls"); none yet without calls."""
    if calls == 0:
        return "no calls yet"
    return f"{value:+.2f} · {calls:,} call{'' if calls == 1 else 's'}"


def money(value: Decimal | None, *, signed: bool = True, places: int = 2) -> str:
    """Dollars with a leading sign for PnL ("+$12.50", "-$3.00"); unsigned for volume."""
    if value is None:
        return NO_TRADES
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return f"{sign}${abs(value):,.{places}f}"


def fee_detail(venue_fees: Decimal, platform_fee: Decimal, profit_share: Decimal) -> str:
    """What a position's fees are made of, as the tooltip under a fees figure shows it."""
    parts = [f"{money(venue_fees, signed=False)} venue", f"{money(platform_fee, signed=False)} Maxxit"]
    if profit_share:
        parts.append(f"{money(profit_share, signed=False)} profit share")
    return " + ".join(parts)


def fee_breakdown(entry_fee: Decimal, exit_fee: Decimal, platform_fee: Decimal, profit_share: Decimal) -> str:
    """Every fee a closed position paid, by name: the venue's to open and to close, Maxxit's, the profit
    share. (Funding is not recorded per position yet, so it is not listed.)"""
    parts = [
        f"{money(entry_fee, signed=False)} open",
        f"{money(exit_fee, signed=False)} close",
        f"{money(platform_fee, signed=False)} Maxxit",
    ]
    if profit_share:
        parts.append(f"{money(profit_share, signed=False)} profit share")
    return " + ".join(parts)


def ratio(value: Decimal | None, places: int = 2) -> str:
    """A plain number such as a Sharpe ratio or a signal score."""
    if value is None:
        return NO_TRADES
    return f"{value:,.{places}f}"


def drawdown(value: Decimal | None) -> str:
    """Max drawdown as a loss: a fraction 0.12 reads "-12.0%" whatever sign the metric is stored with."""
    if value is None:
        return NO_TRADES
    return percent(-abs(value), fraction=True)


def quantity(value: Decimal | None) -> str:
    """Sizes and prices without trailing zeros, never in scientific notation."""
    if value is None:
        return "—"
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def count(value: int) -> str:
    return f"{value:,}"


def short_address(address: str) -> str:
    """0x1234…abcd: enough to recognise a wallet without a 42-character column."""
    if len(address) <= 12:
        return address
    return f"{address[:6]}…{address[-4:]}"


def creator(display_name: str | None, address: str) -> str:
    return display_name or short_address(address)


def timestamp(value: datetime | None) -> str:
    """UTC, minute precision: traders compare times across venues, so no local-time guessing."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def label(value: str | None) -> str:
    """Enum values such as TAKE_PROFIT or moving_average as words."""
    if not value:
        return "—"
    return value.replace("_", " ").capitalize()


def venue_color(venue: str) -> str:
    """The venue's badge colour, from the one venue table."""
    return catalog.venue_colour(venue)


def venue_label(venue: str) -> str:
    """The venue's name on screen, from the one venue table; Hyperliquid is the sandbox when `maxxit up`
    runs one (the demo)."""
    return catalog.venue_label(venue, sandbox=bool(get_settings().hyperliquid_sandbox_url))


def close_refused(reason: str | None) -> str:
    """What a trader reads while a venue refuses to close a position it still holds ("" when none)."""
    return f"Close refused by the venue: {reason}; retrying" if reason else ""


def leverage(value: Decimal) -> str:
    """A multiple as traders write it: Decimal("3.00") -> "3x"."""
    return f"{value.normalize():f}x"


def size(value: Decimal | None, unit: str) -> str:
    """A position size in its token ("0.5 ETH"), so nobody reads it as dollars."""
    return "—" if value is None else f"{quantity(value)} {unit}"


def duration(seconds: int | None) -> str:
    """A holding time in the two largest units that matter ("2d 4h", "3h 20m", "45m")."""
    if seconds is None:
        return "—"
    minutes = max(0, seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def day(value: datetime | None) -> str:
    """A UTC date, for spans such as a drawdown's peak and trough."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d")


def drawdown_usd(value: Decimal | None) -> str:
    """A drawdown in dollars read as a loss ("-$120.00") whatever sign it is stored with; "$0.00" for none."""
    if value is None:
        return NO_TRADES
    return money(-abs(value)) if value else money(value)


def price(value: Decimal | None, tick: Decimal | None) -> str:
    """A price at its market's tick ("1,442.6", never "1,442.584"); five significant figures, as
    Hyperliquid writes prices, where the market's tick is not known."""
    if value is None:
        return "—"
    if tick is None or tick <= 0:
        tick = Decimal(1).scaleb(value.adjusted() - 4) if value else Decimal(1)
    return quantity((value / tick).to_integral_value() * tick)
