"""A replay: signals and candles in, trades and a daily equity curve out, through the calls live trading
makes.

Live, a signal reaches the executor, which sizes it (`sizing.size_trade` on the venue's balance), the venue
fills it, and every monitor cycle asks `exits.evaluate` whether it closes. Here the same functions answer,
with the fill model standing in for the venue and candles for the monitor's price checks:

- A signal enters at the open of the first candle that opens at or after it (a signal at 10:07 on
  15-minute candles fills at the 10:15 open; one at exactly 10:15, at that open). That open is the mid the
  trade is sized at; the fill model adds slippage and the taker fee, as the paper venue does.
- Before an entry, every open position is walked through the candles that opened before it
  (`exits.evaluate_candle`, conservative: the stop before the target within one candle). An exit fills at the
  line it crossed (the open on a gap or for the time limit) through the fill model. It is timed at the
  candle's open when it fills there, else at the candle's end (`interval` after its open).
- An opposite-side signal in a market with an open position is skipped, as the executor skips it (venues net
  per market); a same-side one adds a position, each with its own exits, on one net venue position.
- The venue's book is kept with `book.apply_fill`: cash pays fees and receives realised PnL, open positions
  hold margin. Sizing sees `book.account_balance` at the entry's marks, so the 20% reserve holds.
- Billing lines come from `fees` (none unless the book is billable: paper and reference books are free).
- The equity curve has one point per calendar day: cash plus unrealised PnL at the day's close (midnight
  UTC), or at `end` for its last, partial day.

Pure: no database, settings or clock; the caller passes the window and every input.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from backend.trading.book import NetPosition, account_balance, apply_fill, realized_pnl, venue_fees
from backend.trading.exits import Candle, ExitRules, OpenPosition, evaluate_candle, quiet_band
from backend.trading.fees import BillingLine, FeePolicy, close_lines, open_lines
from backend.trading.fills import FillModel
from backend.trading.market import MarketRules
from backend.trading.money import ZERO, money
from backend.trading.sizing import INSUFFICIENT_BALANCE, RiskLimits, SizingSkip, size_trade
from backend.trading.types import CloseReason, Side, SizingProfile

# Why a replayed signal was not traded, besides sizing's categories; the executor's words where it has any.
OPPOSITE_POSITION = "opposite position open"
MARKET_NOT_LISTED = "market not listed"
NO_PRICE = "no price"


@dataclass(frozen=True)
class ReplaySignal:
    """One signal of the agent, as stored: when, what, how sure, and which version made it."""

    at: datetime
    token: str
    side: Side
    score: Decimal
    signal_id: int | None = None
    version: int | None = None  # the agent version's id (or number): every trade names it


@dataclass(frozen=True)
class BookSpec:
    """One book: its capital, how it sizes (profile, leverage, cap), exits, markets, fills and fees.

    The time limit is `exits.time_limit`, as the monitor builds it (`exits.rules_for`).
    """

    capital: Decimal
    exits: ExitRules
    markets: Mapping[str, MarketRules]
    sizing_profile: SizingProfile = SizingProfile.MODERATE
    leverage: Decimal = Decimal(1)
    max_trade_usd: Decimal | None = None
    fills: FillModel = field(default_factory=FillModel)
    fees: FeePolicy = field(default_factory=FeePolicy)
    billable: bool = False

    def __post_init__(self) -> None:
        if not self.capital > 0:
            raise ValueError("capital must be positive")
        if not self.leverage >= 1:
            raise ValueError("leverage must be at least 1")

    @property
    def limits(self) -> RiskLimits:
        return RiskLimits(self.sizing_profile, self.leverage, self.max_trade_usd)


@dataclass(frozen=True)
class ReplayTrade:
    """One position the book opened: entry, exit (None while open), venue fees, PnL and billing lines."""

    signal_id: int | None
    version: int | None
    market: str
    side: Side
    size: Decimal
    leverage: Decimal
    entry_at: datetime
    entry_price: Decimal
    entry_fee: Decimal
    best_price: Decimal  # best since entry: the monitor's trailing high
    exit_at: datetime | None = None
    exit_price: Decimal | None = None
    exit_fee: Decimal = ZERO
    reason: CloseReason | None = None
    realized_pnl: Decimal | None = None  # after venue fees, before billing lines (`book.realized_pnl`)
    billing: tuple[BillingLine, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.exit_at is None

    @property
    def venue_fees(self) -> Decimal:
        """The venue's fees in and out (only the entry's while open), as `book.Breakdown.venue_fees`."""
        return venue_fees(self.entry_fee, self.exit_fee)


@dataclass(frozen=True)
class ReplaySkip:
    signal_id: int | None
    at: datetime
    category: str
    detail: str


@dataclass(frozen=True)
class EquityPoint:
    """The book at a day's close: cash, unrealised PnL at the close, and PnL realised since the last point."""

    day: date
    at: datetime
    cash: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal

    @property
    def equity(self) -> Decimal:
        return self.cash + self.unrealized_pnl


@dataclass(frozen=True)
class ReplayResult:
    trades: tuple[ReplayTrade, ...]
    skips: tuple[ReplaySkip, ...]
    equity: tuple[EquityPoint, ...]
    cash: Decimal  # the venue book's cash at `end`
    positions: Mapping[str, NetPosition]  # the venue book's net positions at `end`

    @property
    def billing(self) -> list[BillingLine]:
        return [line for trade in self.trades for line in trade.billing]


@dataclass
class _Open:
    """A position while it is open: the trade so far and the next candle to walk it through."""

    trade: ReplayTrade
    best: Decimal
    next_candle: int


class _Prices:
    """One market's candles, with their opening times for bisecting."""

    def __init__(self, candles: Sequence[Candle]) -> None:
        self.candles = candles
        self.times = [c.at for c in candles]

    def first_from(self, at: datetime) -> int:
        """The index of the first candle opening at or after `at` (len when there is none)."""
        return bisect_left(self.times, at)

    def mark(self, at: datetime) -> Decimal | None:
        """The price at `at`: the open of a candle opening then, else the close of the last one before."""
        i = bisect_left(self.times, at)
        if i < len(self.times) and self.times[i] == at:
            return self.candles[i].open
        return self.candles[i - 1].close if i > 0 else None


class _Replay:
    def __init__(self, spec: BookSpec, candles: Mapping[str, Sequence[Candle]], interval: timedelta) -> None:
        self.spec = spec
        self.prices = {market: _Prices(c) for market, c in candles.items()}
        self.interval = interval
        self.cash = spec.capital
        self.book: dict[str, NetPosition] = {}
        self.open: list[_Open] = []
        self.done: list[ReplayTrade] = []
        self.skips: list[ReplaySkip] = []
        self.realized_since_point = ZERO

    # -- positions ------------------------------------------------------------------------------------

    def advance(self, until: datetime) -> None:
        """Walk every open position through the candles that open before `until`."""
        still_open = []
        for position in self.open:
            if not self._walk(position, until):
                still_open.append(position)
        self.open = still_open

    def _walk(self, position: _Open, until: datetime) -> bool:
        """True when the position closed on the way."""
        trade = position.trade
        prices = self.prices[trade.market]
        rules, i = self.spec.exits, position.next_candle
        state = OpenPosition(trade.side, trade.entry_price, trade.entry_at, position.best)
        band = quiet_band(state, rules)
        while i < len(prices.candles) and prices.times[i] < until:
            candle = prices.candles[i]
            i += 1
            if band.holds(candle):  # most are quiet (`candle_is_quiet`): evaluate_candle would pass them over
                continue
            verdict = evaluate_candle(state, rules, candle)
            if verdict.best_price != position.best:
                position.best = verdict.best_price
                state = OpenPosition(trade.side, trade.entry_price, trade.entry_at, position.best)
                band = quiet_band(state, rules)
            if verdict.reason is not None and verdict.price is not None:
                at_open = verdict.reason == CloseReason.TIME_LIMIT or verdict.price == candle.open
                at = candle.at if at_open else candle.at + self.interval
                self._close(position, verdict.reason, verdict.price, at)
                return True
        position.next_candle = i
        return False

    def _close(self, position: _Open, reason: CloseReason, mid: Decimal, at: datetime) -> None:
        trade, spec = position.trade, self.spec
        rules = spec.markets[trade.market]
        is_buy = trade.side == Side.SHORT
        price = spec.fills.price(mid, is_buy=is_buy, rules=rules)
        fee = spec.fills.fee(trade.size, price)
        held = self.book[trade.market]
        effect = apply_fill(held, is_buy=is_buy, size=trade.size, price=price, leverage=held.leverage)
        self._set_book(trade.market, effect.position)
        self.cash += effect.realized - fee
        pnl = realized_pnl(trade.side, trade.entry_price, price, trade.size, trade.entry_fee, fee)
        self.realized_since_point += pnl
        lines = close_lines(spec.fees, billable=spec.billable, realized_pnl=pnl, reason=reason)
        self.done.append(
            replace(
                trade,
                best_price=position.best,
                exit_at=at,
                exit_price=price,
                exit_fee=fee,
                reason=reason,
                realized_pnl=pnl,
                billing=trade.billing + tuple(lines),
            )
        )

    def _set_book(self, market: str, position: NetPosition | None) -> None:
        if position is None:
            self.book.pop(market, None)
        else:
            self.book[market] = position

    # -- signals --------------------------------------------------------------------------------------

    def enter(self, signal: ReplaySignal, end: datetime) -> None:
        spec = self.spec
        rules = spec.markets.get(signal.token)
        prices = self.prices.get(signal.token)
        if rules is None:
            return self._skip(signal, MARKET_NOT_LISTED, f"{signal.token} is not listed")
        index = prices.first_from(signal.at) if prices is not None else 0
        if prices is None or index >= len(prices.candles) or prices.times[index] >= end:
            return self._skip(signal, NO_PRICE, f"no {signal.token} candle after the signal")
        candle = prices.candles[index]
        self.advance(candle.at)
        held = self.book.get(signal.token)
        if held is not None and held.side != signal.side:
            detail = f"a {held.side.value} {signal.token} position is open; its exits close it first"
            return self._skip(signal, OPPOSITE_POSITION, detail)
        mid = candle.open
        marks = {market: self._mark(market, candle.at) for market in self.book}
        balance = account_balance(self.cash, self.book.items(), marks)
        sized = size_trade(signal.score, balance, mid, rules, spec.limits)
        if isinstance(sized, SizingSkip):
            return self._skip(signal, sized.category, sized.detail)
        is_buy = signal.side == Side.LONG
        price = spec.fills.price(mid, is_buy=is_buy, rules=rules)
        fee = spec.fills.fee(sized.size, price)
        needed = sized.size * price / sized.leverage + fee
        if needed > balance.available:  # the paper venue's margin check (sizing normally leaves room)
            detail = f"${needed:.2f} margin needed, ${balance.available:.2f} available"
            return self._skip(signal, INSUFFICIENT_BALANCE, detail)
        effect = apply_fill(held, is_buy=is_buy, size=sized.size, price=price, leverage=sized.leverage)
        self._set_book(signal.token, effect.position)
        self.cash += effect.realized - fee
        trade = ReplayTrade(
            signal_id=signal.signal_id,
            version=signal.version,
            market=signal.token,
            side=signal.side,
            size=sized.size,
            leverage=sized.leverage,
            entry_at=candle.at,
            entry_price=price,
            entry_fee=fee,
            best_price=price,
            billing=tuple(open_lines(spec.fees, billable=spec.billable, market=signal.token)),
        )
        self.open.append(_Open(trade, price, index))
        return None

    def _skip(self, signal: ReplaySignal, category: str, detail: str) -> None:
        self.skips.append(ReplaySkip(signal.signal_id, signal.at, category, detail))

    def _mark(self, market: str, at: datetime) -> Decimal:
        mark = self.prices[market].mark(at)
        return self.book[market].entry_price if mark is None else mark

    # -- the curve ------------------------------------------------------------------------------------

    def point(self, day: date, at: datetime) -> EquityPoint:
        self.advance(at)
        unrealized = sum((p.unrealized(self._mark(m, at)) for m, p in self.book.items()), ZERO)
        point = EquityPoint(day, at, self.cash, money(unrealized), self.realized_since_point)
        self.realized_since_point = ZERO
        return point

    def result(self) -> ReplayResult:
        still_open = [replace(p.trade, best_price=p.best) for p in self.open]
        trades = sorted(self.done + still_open, key=lambda t: (t.entry_at, t.signal_id or 0))
        return ReplayResult(tuple(trades), tuple(self.skips), (), self.cash, dict(self.book))


def day_closes(start: datetime, end: datetime) -> list[tuple[date, datetime]]:
    """Each calendar day from `start` to `end` with its close: the next midnight, or `end` on the last day."""
    points = []
    day = start.date()
    while day <= end.date():
        close = datetime.combine(day + timedelta(days=1), time(0), tzinfo=start.tzinfo)
        points.append((day, min(close, end)))
        day += timedelta(days=1)
    return points


def replay(
    spec: BookSpec,
    signals: Iterable[ReplaySignal],
    candles: Mapping[str, Sequence[Candle]],
    *,
    start: datetime,
    end: datetime,
    interval: timedelta,
) -> ReplayResult:
    """Trade `signals` (in time order, from `start`) on `candles` (per market, in time order) until `end`.

    `interval` is the candles' length: an exit inside a candle is timed at its end. Positions still open at
    `end` stay open in the result, with their best price so far.
    """
    if end < start:
        raise ValueError("end must not be before start")
    run = _Replay(spec, candles, interval)
    closes = day_closes(start, end)
    points: list[EquityPoint] = []
    last_at = start
    for signal in signals:
        if signal.at < last_at:
            raise ValueError("signals must be in time order, from start")
        last_at = signal.at
        if signal.at >= end:
            break
        entry_at = _entry_time(run, signal) or signal.at
        while closes and closes[0][1] <= entry_at:  # a day that closed before the entry is drawn first
            points.append(run.point(*closes.pop(0)))
        run.enter(signal, end)
    while closes:
        points.append(run.point(*closes.pop(0)))
    run.advance(end)
    return replace(run.result(), equity=tuple(points))


def _entry_time(run: _Replay, signal: ReplaySignal) -> datetime | None:
    prices = run.prices.get(signal.token)
    if prices is None:
        return None
    index = prices.first_from(signal.at)
    return prices.times[index] if index < len(prices.times) else None
