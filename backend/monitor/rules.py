"""Exit rules as pure functions: given a position, its settings and a price, should it close, and why?

Thresholds are price moves from entry as fractions (0.10 = 10%), the way traders set them; leverage
changes the PnL of a move, not where the stop sits. Defaults are the old platform's: hard stop 10%,
trailing stop arms at +3% and trails 1% from the best price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from backend.models.enums import CloseReason, Side

ONE = Decimal(1)


@dataclass(frozen=True)
class ExitRules:
    stoploss: Decimal = Decimal("0.10")
    take_profit: Decimal | None = None
    trailing_stop_positive_offset: Decimal = Decimal("0.03")  # arms once the best price is this far in profit
    trailing_stop_positive: Decimal = Decimal("0.01")  # then trails this far behind the best price
    time_limit: timedelta | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) < self.stoploss < ONE:
            raise ValueError("stoploss must be between 0 and 1")
        if self.take_profit is not None and self.take_profit <= 0:
            raise ValueError("take_profit must be positive")
        if self.trailing_stop_positive <= 0 or self.trailing_stop_positive_offset < 0:
            raise ValueError("trailing stop settings must be positive")


@dataclass(frozen=True)
class OpenPosition:
    side: Side
    entry_price: Decimal
    opened_at: datetime
    best_price: Decimal  # highest since entry for a long, lowest for a short


def price_move(side: Side, entry: Decimal, price: Decimal) -> Decimal:
    """Profit of the move as a fraction of entry, positive when the position is winning."""
    change = price / entry - ONE
    return change if side == Side.LONG else -change


def update_best_price(side: Side, best: Decimal, price: Decimal) -> Decimal:
    return max(best, price) if side == Side.LONG else min(best, price)


def stop_price(position: OpenPosition, rules: ExitRules) -> Decimal:
    """Where the position closes now: the hard stop, or the trailing stop once it has armed."""
    sign = ONE if position.side == Side.LONG else -ONE
    hard = position.entry_price * (ONE - sign * rules.stoploss)
    if (
        price_move(position.side, position.entry_price, position.best_price)
        < rules.trailing_stop_positive_offset
    ):
        return hard
    trailing = position.best_price * (ONE - sign * rules.trailing_stop_positive)
    return max(hard, trailing) if position.side == Side.LONG else min(hard, trailing)


def exit_reason(
    position: OpenPosition, rules: ExitRules, price: Decimal, now: datetime
) -> CloseReason | None:
    """Why the position should close at `price` (best price already updated with it), or None."""
    move = price_move(position.side, position.entry_price, price)
    if move <= -rules.stoploss:
        return CloseReason.STOP_LOSS
    if rules.take_profit is not None and move >= rules.take_profit:
        return CloseReason.TAKE_PROFIT
    armed = (
        price_move(position.side, position.entry_price, position.best_price)
        >= rules.trailing_stop_positive_offset
    )
    crossed = (
        price <= stop_price(position, rules)
        if position.side == Side.LONG
        else price >= stop_price(position, rules)
    )
    if armed and crossed:
        return CloseReason.TRAILING_STOP
    if rules.time_limit is not None and now - position.opened_at >= rules.time_limit:
        return CloseReason.TIME_LIMIT
    return None
