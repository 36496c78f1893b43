"""What a backtest is asked and what it answers: the contract of the service, the API, the CLI and the pages.

A request names an agent (its newest version is tested) or carries a full configuration (what the builder
is editing, saved or not), a period and a starting capital. The answer holds the Freqtrade-named summary,
the daily equity curve with its drawdown, the trades with the posts that made them, and breakdowns by exit
reason and by token. Money is USD Decimal, every ratio a fraction (0.12 = 12%); percent is for screens.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from backend.agents.drafts import MAX_ID, CtAccountIds, RiskDraft, Weights, check_leverage
from backend.backtest.candles import BAR, floor_to
from backend.models.common import utcnow
from backend.models.enums import Venue

PERIOD_DAYS = (7, 30, 90)
MAX_DAYS = 365
# No post or candle the platform could hold is older; it also keeps every date sum far from datetime's limits.
EARLIEST = date(2000, 1, 1)
# Validation context of a request read back from its stored row: it was judged when it was asked, and a
# rule added since must not make an old row unreadable.
STORED = {"stored": True}  # model_validate(..., context=STORED)
DEFAULT_CAPITAL = Decimal(10000)
MIN_CAPITAL = Decimal(100)
MAX_CAPITAL = Decimal(10_000_000)

NOTICE = (
    "Past results do not predict future ones. A backtest replays the posts Maxxit ingested and the prices it "
    "recorded through the same engine that trades live; it cannot know slippage beyond the fill model, how "
    "much liquidity there really was, or posts the platform did not ingest."
)

Capital = Annotated[Decimal, Field(ge=MIN_CAPITAL, le=MAX_CAPITAL, max_digits=12, decimal_places=2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyConfig(_Strict):
    """A full agent configuration, as the builder holds it: venue, eight weights, followed accounts, risk."""

    venue: Venue
    weights: Weights
    ct_account_ids: CtAccountIds
    risk: RiskDraft = Field(default_factory=RiskDraft)

    @model_validator(mode="after")
    def _tradable(self) -> StrategyConfig:
        if not self.ct_account_ids:
            raise PydanticCustomError("no_accounts", "follow at least one CT account to backtest")
        check_leverage(self.venue, self.risk.leverage)
        return self


class Period(_Strict):
    """The window: the last `days` days up to now, or `start` to `end` (whole UTC days, end included).

    Dates run from `EARLIEST` to today (UTC): nothing after now is known.
    """

    days: Literal[7, 30, 90] | None = None
    start: date | None = None
    end: date | None = None

    @field_validator("start", "end")
    @classmethod
    def _known_day(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None or (info.context or {}).get("stored") is True:
            return value
        if value < EARLIEST:
            raise PydanticCustomError(
                "date_too_early",
                "{field} must be on or after {earliest}",
                {"field": info.field_name, "earliest": EARLIEST.isoformat()},
            )
        today = utcnow().date()
        if value > today:
            raise PydanticCustomError(
                "date_in_future",
                "{field} must not be after today ({today}, UTC): nothing after now is known",
                {"field": info.field_name, "today": today.isoformat()},
            )
        return value

    @model_validator(mode="after")
    def _one_way(self) -> Period:
        if self.days is not None and (self.start or self.end):
            raise PydanticCustomError("period", "give either days or start and end, not both")
        if self.days is None and (self.start is None or self.end is None):
            raise PydanticCustomError("period", "give days (7, 30 or 90) or both start and end")
        if self.start and self.end:
            if self.end < self.start:
                raise PydanticCustomError("period", "end must not be before start")
            if (self.end - self.start).days + 1 > MAX_DAYS:
                raise PydanticCustomError("period", f"a backtest covers at most {MAX_DAYS} days")
        return self

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """[start, end) in UTC, ending at the close of the last bar closed by `now` (`BAR`, the replay's
        candles), so every question asked within one bar has one window and one cached answer. `days` counts
        back from there; dates end at the end's midnight or there, whichever is earlier (never before
        `start`)."""
        closed = floor_to(now, BAR)
        if self.days is not None:
            return closed - timedelta(days=self.days), closed
        assert self.start is not None and self.end is not None
        start = datetime.combine(self.start, datetime.min.time(), tzinfo=UTC)
        end = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        return start, max(start, min(end, closed))


class BacktestRequest(_Strict):
    """An agent (its newest version) or a full configuration; a period; a starting capital."""

    agent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    config: StrategyConfig | None = None
    period: Period = Field(default_factory=lambda: Period(days=30))
    capital: Capital = DEFAULT_CAPITAL
    # True: classify every post again with the classifier configured now, instead of its stored reading.
    reclassify: bool = False

    @model_validator(mode="after")
    def _one_subject(self) -> BacktestRequest:
        if (self.agent_id is None) == (self.config is None):
            raise PydanticCustomError("subject", "give either agent_id or config")
        return self


# -- the answer -------------------------------------------------------------------------------------------


class TradeOut(BaseModel):
    """One trade of the backtest and why it happened: the post (and its author) that made the signal."""

    market: str
    side: str
    size: Decimal
    leverage: Decimal
    entry_at: datetime
    entry_price: Decimal
    exit_at: datetime | None
    exit_price: Decimal | None
    exit_reason: str | None  # STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, TIME_LIMIT; None while open at the end
    profit_abs: Decimal | None  # realised, after venue fees (None while open)
    profit_ratio: Decimal | None  # profit_abs over the margin put up
    fees: Decimal  # venue fees in and out
    duration_seconds: int | None
    score: Decimal
    post_id: int | None
    post_text: str | None
    post_author: str | None  # the CT handle
    posted_at: datetime | None


class EquityOut(BaseModel):
    """The book at one day's close (UTC): equity, and how far below its peak so far it stood."""

    day: date
    at: datetime
    equity: Decimal
    drawdown_abs: Decimal  # USD below the running peak (>= 0)
    drawdown: Decimal  # fraction below the running peak


class GroupOut(BaseModel):
    """Closed trades grouped by exit reason or by token."""

    key: str
    trades: int
    wins: int
    losses: int
    profit_abs: Decimal
    profit_mean: Decimal
    win_rate: Decimal | None


class SummaryOut(BaseModel):
    """Freqtrade's names where the concept is the same (`profit_total_abs`, `cagr`, `max_drawdown_abs`…)."""

    starting_balance: Decimal
    final_balance: Decimal  # cash plus the open positions at the end's marks
    profit_total_abs: Decimal
    profit_total: Decimal  # fraction of the starting balance
    cagr: Decimal | None
    sharpe: Decimal | None
    sortino: Decimal | None
    calmar: Decimal | None
    max_drawdown_abs: Decimal
    max_drawdown: Decimal  # fraction
    drawdown_start: datetime | None  # the peak before the deepest fall
    drawdown_end: datetime | None  # the trough
    trades: int  # closed trades
    open_trades: int  # still open at the end
    wins: int
    losses: int
    draws: int
    winrate: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None  # mean profit per closed trade, USD
    expectancy_ratio: Decimal | None  # Freqtrade's: (1 + avg win / avg loss) * win rate - 1
    holding_avg_seconds: int | None
    best_trade: Decimal | None  # profit_abs of the best closed trade
    worst_trade: Decimal | None
    fees_paid: Decimal  # venue fees of every trade, open ones' entries included
    signals: int  # signals the configuration made in the period
    signals_skipped: int  # of those, not traded (reasons in `skips`)


class BacktestResult(BaseModel):
    id: int | None = None  # the stored run (GET /api/v1/backtests/{id})
    key: str  # hash of configuration, period, capital, data and code version: equal keys, equal results
    agent_id: int | None
    agent_name: str | None
    config: StrategyConfig
    start: datetime
    end: datetime
    capital: Decimal
    summary: SummaryOut
    equity: list[EquityOut]
    trades: list[TradeOut]
    by_reason: list[GroupOut]
    by_token: list[GroupOut]
    skips: dict[str, int]  # why signals were not traded, by category
    notice: str = NOTICE
    code_version: str
    computed_at: datetime
    cached: bool = False
