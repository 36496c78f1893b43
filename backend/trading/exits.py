"""Exit rules as pure functions: given a position, its settings and a price, should it close, and why?

Settings carry Freqtrade's names so traders recognise them, with one difference: `stoploss` is a positive
fraction here (0.10 = 10% against the position), where Freqtrade writes -0.10.

Thresholds are price moves from entry as fractions, never returns on margin: the stop sits where the trader
put it on the chart (10% below entry is 10% below entry at 1x or 20x); leverage changes what that move does
to the margin (`pnl_ratio`), not where the line is. Defaults are the old platform's: hard stop 10%, trailing
stop arms at +3% and trails 1% from the best price.

Replays see candles, not ticks: `evaluate_candle` walks each candle conservatively (open, then the adverse
extreme, then the favourable one, then the close), so when one candle crosses both the stop and the target,
the stop is taken. A trader would rather see a backtest that is too pessimistic than one that is too kind.

Long and short share one code path: every line is entry or best price times a per-side factor (1 - x for a
long's losing side, 1 + x for a short's), and `beyond` orders prices in the side's profit direction.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

from backend.trading.types import CloseReason, Side

T = TypeVar("T")
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class _Factors:
    """One side's multipliers, computed once per rule set so `evaluate` only multiplies and compares."""

    hard: Decimal  # entry * hard = the hard stop
    take: Decimal | None  # entry * take = the take-profit line
    arm: Decimal  # entry * arm = where the best price reaches the offset
    near: Decimal  # best * near = the trailing stop once the offset is reached
    far: Decimal  # best * far = the trailing stop before it (trailing_only_offset_is_reached=False)
    beyond: Callable[[Decimal, Decimal], bool]  # a is strictly further in profit than b


def _check(
    name: str, value: object, *, above: Decimal, below: Decimal | None = None, inclusive: bool = False
) -> None:
    """A setting must be a finite Decimal in range; the message names the setting as the caller spelled it."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    too_low = value < above if inclusive else value <= above
    if too_low or (below is not None and value >= below):
        low = f"at least {above}" if inclusive else f"above {above}"
        raise ValueError(
            f"{name} must be {low}" + ("" if below is None else f" and below {below}") + f", got {value}"
        )


@dataclass(frozen=True)
class ExitRules:
    """When a position closes. Fractions are price moves from entry; see the module docstring.

    - `stoploss`: the hard stop, this far against the entry price.
    - `take_profit`: close once the price is this far in profit (None: never).
    - `trailing_stop`: off means only the hard stop, take-profit and time limit apply.
    - `trailing_only_offset_is_reached` (the old platform's way): no trailing stop until the best price is
      `trailing_stop_positive_offset` in profit, then it trails `trailing_stop_positive` behind the best
      price. Off: it trails `stoploss` behind the best price from the start and tightens to
      `trailing_stop_positive` once the offset is reached.
    - `time_limit`: close once the position is this old (None: never).

    A short's take-profit or offset of 1 or more can never be reached (the price would have to reach 0);
    that is allowed, since the same rules serve longs, for which such targets are meaningful.

    The stop is always the tighter of the hard stop and the trailing stop for the best price so far; since
    the best price only improves, the stop never loosens.
    """

    stoploss: Decimal = Decimal("0.10")
    take_profit: Decimal | None = None
    trailing_stop: bool = True
    trailing_stop_positive: Decimal = Decimal("0.01")
    trailing_stop_positive_offset: Decimal = Decimal("0.03")
    trailing_only_offset_is_reached: bool = True
    time_limit: timedelta | None = None
    _long: _Factors = field(init=False, repr=False, compare=False)
    _short: _Factors = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        s, t = self.stoploss, self.take_profit
        d, o = self.trailing_stop_positive, self.trailing_stop_positive_offset
        long = _Factors(ONE - s, None if t is None else ONE + t, ONE + o, ONE - d, ONE - s, operator.gt)
        short = _Factors(ONE + s, None if t is None else ONE - t, ONE - o, ONE + d, ONE + s, operator.lt)
        object.__setattr__(self, "_long", long)
        object.__setattr__(self, "_short", short)

    def _validate(self) -> None:
        _check("stoploss", self.stoploss, above=ZERO, below=ONE)
        if self.take_profit is not None:
            _check("take_profit", self.take_profit, above=ZERO)
        for name in ("trailing_stop", "trailing_only_offset_is_reached"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        _check("trailing_stop_positive", self.trailing_stop_positive, above=ZERO, below=ONE)
        _check(
            "trailing_stop_positive_offset", self.trailing_stop_positive_offset, above=ZERO, inclusive=True
        )
        # Trailing from the start at `stoploss`, a wider `trailing_stop_positive` would loosen the stop the
        # moment the offset is reached.
        trails_from_start = self.trailing_stop and not self.trailing_only_offset_is_reached
        if trails_from_start and self.trailing_stop_positive > self.stoploss:
            raise ValueError(
                "trailing_stop_positive must not exceed stoploss when the stop trails from the start "
                "(trailing_only_offset_is_reached=False): the stop would loosen at the offset"
            )
        if self.time_limit is not None and (
            not isinstance(self.time_limit, timedelta) or self.time_limit <= timedelta(0)
        ):
            raise ValueError(f"time_limit must be a positive timedelta or None, got {self.time_limit!r}")


@dataclass(frozen=True)
class OpenPosition:
    side: Side
    entry_price: Decimal
    opened_at: datetime
    best_price: Decimal  # highest since entry for a long, lowest for a short

    def __post_init__(self) -> None:
        if self.side not in (Side.LONG, Side.SHORT):
            raise ValueError(f"side must be long or short, got {self.side!r}")
        if not self.entry_price > 0 or not self.best_price > 0:
            raise ValueError("entry_price and best_price must be positive")


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One monitor cycle's verdict on one position."""

    best_price: Decimal  # the best price including this one: store it back on the position
    stop_price: Decimal  # the stop line now (hard or trailing, whichever is tighter): draw it on the chart
    reason: CloseReason | None  # why the position closes at this price, or None to keep it open
    # The stop line is the trailing stop (strictly tighter than the hard one). A by-product the monitor uses
    # to skip `stop_milestones` for most moves; not part of the verdict, so not compared.
    trailing: bool = field(default=False, compare=False)


def evaluate(position: OpenPosition, rules: ExitRules, price: Decimal, now: datetime) -> Evaluation:
    """Update the best price with `price`, place the stop line, and decide whether the position closes.

    Priority when several lines are crossed at once: stop loss, take profit, trailing stop, time limit.
    A crossed stop is TRAILING_STOP only when the trailing stop is the tighter line, otherwise STOP_LOSS.
    Called for every open position every cycle, so it only multiplies and compares.
    """
    f = rules._long if position.side == Side.LONG else rules._short
    beyond = f.beyond
    entry, best = position.entry_price, position.best_price
    if beyond(price, best):
        best = price
    stop, trailing = _stop(f, rules, entry, best)
    if not beyond(price, entry * f.hard):
        reason: CloseReason | None = CloseReason.STOP_LOSS
    elif f.take is not None and not beyond(entry * f.take, price):
        reason = CloseReason.TAKE_PROFIT
    elif trailing and not beyond(price, stop):
        reason = CloseReason.TRAILING_STOP
    elif rules.time_limit is not None and now - position.opened_at >= rules.time_limit:
        reason = CloseReason.TIME_LIMIT
    else:
        reason = None
    return Evaluation(best, stop, reason, trailing)


def _stop(f: _Factors, rules: ExitRules, entry: Decimal, best: Decimal) -> tuple[Decimal, bool]:
    """The stop line for this best price, and whether it is the trailing stop (strictly tighter than hard)."""
    hard = entry * f.hard
    if not rules.trailing_stop:
        return hard, False
    if not f.beyond(entry * f.arm, best):  # the best price has reached the offset
        trail = best * f.near
    elif rules.trailing_only_offset_is_reached:
        return hard, False
    else:
        trail = best * f.far
    return (trail, True) if f.beyond(trail, hard) else (hard, False)


def stop_price(position: OpenPosition, rules: ExitRules) -> Decimal:
    """Where the position closes now (its best price already updated): the tighter of hard and trailing."""
    f = rules._long if position.side == Side.LONG else rules._short
    return _stop(f, rules, position.entry_price, position.best_price)[0]


TRAILING_ARMED = "trailing_armed"
BREAK_EVEN = "break_even"


def stop_milestones(
    side: Side,
    entry: Decimal,
    old_best: Decimal,
    new_best: Decimal,
    rules: ExitRules,
    *,
    new_stop: Decimal | None = None,
) -> list[str]:
    """The stop milestones a best-price move from `old_best` to `new_best` crosses, in that order.

    TRAILING_ARMED: the trailing stop became the tighter line; BREAK_EVEN: the stop line reached the entry
    price or better. The stop never loosens as the best price improves, so each is crossed at most once in
    a position's life: a notification keyed by milestone is sent once. Both need the new stop to be the
    trailing line (the hard stop is always on the losing side of the entry), so most moves are answered by
    one comparison; `new_stop`, when the caller has it from `evaluate`, saves working it out again.
    """
    f = rules._long if side == Side.LONG else rules._short
    if new_stop is None:
        new_stop = _stop(f, rules, entry, new_best)[0]
    if not f.beyond(new_stop, entry * f.hard):  # the hard stop: neither armed nor at break-even
        return []
    old_stop, old_trailing = _stop(f, rules, entry, old_best)
    crossed = []
    if not old_trailing:
        crossed.append(TRAILING_ARMED)
    if f.beyond(entry, old_stop) and not f.beyond(entry, new_stop):
        crossed.append(BREAK_EVEN)
    return crossed


def exit_reason(
    position: OpenPosition, rules: ExitRules, price: Decimal, now: datetime
) -> CloseReason | None:
    """Why the position should close at `price`, or None; `evaluate` without the lines."""
    return evaluate(position, rules, price, now).reason


def price_move(side: Side, entry: Decimal, price: Decimal) -> Decimal:
    """Profit of the move as a fraction of entry, positive when the position is winning."""
    change = price / entry - ONE
    return change if side == Side.LONG else -change


def update_best_price(side: Side, best: Decimal, price: Decimal) -> Decimal:
    return max(best, price) if side == Side.LONG else min(best, price)


def pnl_ratio(side: Side, entry: Decimal, price: Decimal, leverage: Decimal) -> Decimal:
    """Return on margin: the price move times leverage (a 2% move at 5x is 10% of the margin)."""
    if not leverage > 0:
        raise ValueError("leverage must be positive")
    return price_move(side, entry, price) * leverage


class AgentRisk(Protocol):
    """The agent's risk settings (`backend.models.Agent` has them)."""

    @property
    def stoploss(self) -> Decimal: ...
    @property
    def take_profit(self) -> Decimal | None: ...
    @property
    def trailing_stop_positive_offset(self) -> Decimal: ...
    @property
    def trailing_stop_positive(self) -> Decimal: ...


class DeploymentRisk(Protocol):
    """A deployment's overrides (`backend.models.AgentDeployment`); None means "use the agent's"."""

    @property
    def stoploss(self) -> Decimal | None: ...
    @property
    def take_profit(self) -> Decimal | None: ...
    @property
    def trailing_stop_positive_offset(self) -> Decimal | None: ...
    @property
    def trailing_stop_positive(self) -> Decimal | None: ...


@dataclass(frozen=True)
class _NoOverrides:
    stoploss: None = None
    take_profit: None = None
    trailing_stop_positive_offset: None = None
    trailing_stop_positive: None = None


def _or(override: T | None, default: T) -> T:
    return default if override is None else override


def rules_for(agent: AgentRisk, deployment: DeploymentRisk | None, time_limit: timedelta | None) -> ExitRules:
    """The rules a deployment's positions run under: its overrides over its agent's settings.

    The trailing stop works the old platform's way (arms at the activation, then trails the distance).
    A deployment cannot remove its agent's take-profit: None there means "use the agent's".
    Raises ValueError, naming the setting, when the stored settings are unusable.
    """
    dep: DeploymentRisk = deployment if deployment is not None else _NoOverrides()
    return ExitRules(
        stoploss=_or(dep.stoploss, agent.stoploss),
        take_profit=_or(dep.take_profit, agent.take_profit),
        trailing_stop=True,
        trailing_stop_positive=_or(dep.trailing_stop_positive, agent.trailing_stop_positive),
        trailing_stop_positive_offset=_or(
            dep.trailing_stop_positive_offset, agent.trailing_stop_positive_offset
        ),
        trailing_only_offset_is_reached=True,
        time_limit=time_limit,
    )


@dataclass(frozen=True, slots=True)
class Candle:
    """One bar of prices; `at` is when it opens. A tick is a candle whose four prices are equal."""

    at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    @classmethod
    def tick(cls, at: datetime, price: Decimal) -> Candle:
        return cls(at, price, price, price, price)


@dataclass(frozen=True, slots=True)
class CandleExit:
    """A candle's verdict: the best price after it, and the exit (reason and price) if one fired."""

    best_price: Decimal
    reason: CloseReason | None
    price: Decimal | None  # where the exit filled before slippage: the crossed line, or the open on a gap


def evaluate_candle(position: OpenPosition, rules: ExitRules, candle: Candle) -> CandleExit:
    """`evaluate` along the candle's path, adverse extreme first: stop before target when both are crossed.

    The exit price is the line that was crossed, except at the open (a gap past the line fills at the open)
    and for the time limit (the open of the first candle at or past it).
    """
    adverse, favourable = (
        (candle.low, candle.high) if position.side == Side.LONG else (candle.high, candle.low)
    )
    best = position.best_price
    for index, price in enumerate((candle.open, adverse, favourable, candle.close)):
        current = OpenPosition(position.side, position.entry_price, position.opened_at, best)
        line = stop_price(current, rules)
        verdict = evaluate(current, rules, price, candle.at)
        best = verdict.best_price
        if verdict.reason is None:
            continue
        if index == 0 or verdict.reason == CloseReason.TIME_LIMIT:
            fill = price if index == 0 else candle.open
        elif verdict.reason == CloseReason.TAKE_PROFIT:
            fill = position.entry_price * _take_factor(position.side, rules)
        else:
            fill = line
        return CandleExit(best, verdict.reason, fill)
    return CandleExit(best, None, None)


def take_profit_price(side: Side, entry: Decimal, rules: ExitRules) -> Decimal | None:
    """Where the take-profit closes the position, or None when the rules set none."""
    factors = rules._long if side == Side.LONG else rules._short
    return None if factors.take is None else entry * factors.take


def _take_factor(side: Side, rules: ExitRules) -> Decimal:
    factors = rules._long if side == Side.LONG else rules._short
    if factors.take is None:
        raise ValueError("no take-profit is set")
    return factors.take


def candle_is_quiet(position: OpenPosition, rules: ExitRules, candle: Candle) -> bool:
    """True when the candle can neither close the position nor better its best price.

    Then `evaluate_candle` would return no exit and the same best price, so a replay may skip it (most
    candles of a long replay are quiet). With no new best the stop line is one line for the whole candle,
    and it is at least as tight as the hard stop: every price strictly inside it and the target, before
    the time limit, leaves the position open.
    """
    if rules.time_limit is not None and candle.at - position.opened_at >= rules.time_limit:
        return False
    f = rules._long if position.side == Side.LONG else rules._short
    prices = (candle.open, candle.high, candle.low, candle.close)
    worst, best = (min(prices), max(prices)) if position.side == Side.LONG else (max(prices), min(prices))
    if f.beyond(best, position.best_price):
        return False
    stop, _ = _stop(f, rules, position.entry_price, position.best_price)
    if not f.beyond(worst, stop):
        return False
    return f.take is None or f.beyond(position.entry_price * f.take, best)


@dataclass(frozen=True, slots=True)
class QuietBand:
    """`candle_is_quiet` for one position state, worked out once: a replay walks thousands of candles per
    position and most of them only need two comparisons. Rebuild it when the best price moves."""

    is_long: bool
    best: Decimal
    stop: Decimal
    take: Decimal | None
    deadline: datetime | None

    def holds(self, candle: Candle) -> bool:
        """True exactly when `candle_is_quiet` is for the state the band was built from."""
        if self.deadline is not None and candle.at >= self.deadline:
            return False
        prices = (candle.open, candle.high, candle.low, candle.close)
        low, high = min(prices), max(prices)
        if self.is_long:
            return high <= self.best and low > self.stop and (self.take is None or self.take > high)
        return low >= self.best and high < self.stop and (self.take is None or self.take < low)


def quiet_band(position: OpenPosition, rules: ExitRules) -> QuietBand:
    f = rules._long if position.side == Side.LONG else rules._short
    stop, _ = _stop(f, rules, position.entry_price, position.best_price)
    take = None if f.take is None else position.entry_price * f.take
    deadline = None if rules.time_limit is None else position.opened_at + rules.time_limit
    return QuietBand(position.side == Side.LONG, position.best_price, stop, take, deadline)
