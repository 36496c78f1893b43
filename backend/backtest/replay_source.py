"""Replay inputs from the database: posts decided into signals as the live generator decides them, stored
signals, the price feed's candles, and a deployment's book as the executor and monitor would trade it.

Thin on purpose: every decision is the core's (`trading.decision`, `signals.features.score`) or the live
pipeline's own helpers (`signals.market`); this module only reads rows and builds the replay's inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from backend.agents.versions import Strategy
from backend.backtest.candles import floor_to
from backend.backtest.decide import decide
from backend.backtest.inputs import NEUTRAL_CONFIDENCE, PostCall, stored_call
from backend.billing.trade_fee import fee_policy, is_billable
from backend.config import Settings
from backend.models import AgentDeployment, CtPost, Signal
from backend.models.enums import Side, SignalStatus, SizingProfile
from backend.prices.feed import PriceFeed
from backend.prices.simulated import UnknownMarket
from backend.signals.features import feature_values
from backend.signals.market import indicators_at
from backend.trading.exits import Candle, rules_for
from backend.trading.fees import FeePolicy
from backend.trading.fills import FillModel
from backend.trading.market import MarketRules
from backend.trading.replay import BookSpec, ReplaySignal

# Positions are walked through 15-minute candles: fine enough for the demo's stops, cheap enough for 90 days.
CANDLE_INTERVAL = timedelta(minutes=15)


@dataclass(frozen=True)
class Costs:
    """What the live workers read from settings, read once and passed in: fills, fees, time limit, capital."""

    fills: FillModel
    fees: FeePolicy
    time_limit: timedelta | None
    reference_capital: Decimal

    @classmethod
    def from_settings(cls, settings: Settings) -> Costs:
        """The paper venue's fill model, the platform's fees and the monitor's time limit, as live."""
        hours = settings.monitor_time_limit_hours
        return cls(
            fills=FillModel.from_bps(settings.paper_slippage_bps, settings.paper_taker_fee_bps),
            fees=fee_policy(settings),
            time_limit=timedelta(hours=hours) if hours else None,
            reference_capital=settings.reference_capital_usd,
        )


def decide_signals(
    session: Session,
    *,
    agent_id: int,
    version_id: int | None,
    strategy: Strategy,
    feed: PriceFeed,
    since: datetime,
    until: datetime,
    features_by_post: dict[int, dict[str, Decimal] | None] | None = None,
) -> list[Signal]:
    """The signals the live generator would have made from the followed accounts' posts in [since, until).

    Unsaved rows, in time order: scored with the live features (`indicators_at` on the feed's candles up to
    the post, which stores the bucket's figures as the generator does), kept when `takes_signal`, the
    first per token and 6-hour bucket. Each is dated when its post was classified (the generator runs then).
    Posts on a token the feed does not list make no signal, as live. `features_by_post` keeps each post's
    features for the next agent, as the live generator computes them once for all of a post's followers.
    """
    cache = {} if features_by_post is None else features_by_post
    posts = session.exec(
        select(CtPost)
        .where(
            col(CtPost.ct_account_id).in_(strategy.ct_account_ids),
            col(CtPost.is_signal).is_(True),
            col(CtPost.posted_at) >= since,
            col(CtPost.posted_at) < until,
        )
        .order_by(col(CtPost.posted_at), col(CtPost.id))
    ).all()
    by_id = {post.id: post for post in posts}

    def features_of(call: PostCall) -> dict[str, Decimal] | None:
        if call.post_id not in cache:
            cache[call.post_id] = _features(session, feed, by_id[call.post_id])
        return cache[call.post_id]

    return [
        Signal(
            agent_id=agent_id,
            agent_version_id=version_id,
            post_id=d.call.post_id,
            token=d.call.token,
            side=d.call.side,
            score=d.score,
            features={name: str(v) for name, v in d.features.items()},
            weights=dict(strategy.weights),
            threshold=strategy.signal_threshold,
            bucket_start=d.bucket,
            status=SignalStatus.EXECUTED,
            created_at=d.call.decided_at,
        )
        for d in decide(filter(None, (stored_call(post) for post in posts)), features_of, strategy)
    ]


def _features(session: Session, feed: PriceFeed, post: CtPost) -> dict[str, Decimal] | None:
    """The live generator's features for a post: indicators up to it, its side and confidence."""
    try:
        indicators = indicators_at(session, feed, post.token, post.posted_at)
    except UnknownMarket:
        return None
    return feature_values(indicators, Side(post.side), post.confidence or NEUTRAL_CONFIDENCE)


def replay_signals(signals: Iterable[Signal]) -> list[ReplaySignal]:
    """Stored signals as replay inputs, in time order."""
    ordered = sorted(signals, key=lambda s: (s.created_at, s.id or 0))
    return [
        ReplaySignal(
            at=s.created_at,
            token=s.token,
            side=Side(s.side),
            score=Decimal(s.score),
            signal_id=s.id,
            version=s.agent_version_id,
        )
        for s in ordered
    ]


def stored_signals(session: Session, agent_id: int) -> list[ReplaySignal]:
    """An agent's stored signals (every version's) as replay inputs."""
    return replay_signals(session.exec(select(Signal).where(Signal.agent_id == agent_id)).all())


class PriceHistory:
    """The feed's candles over one window, built once per market and shared by every book replayed on it."""

    def __init__(
        self, feed: PriceFeed, start: datetime, end: datetime, interval: timedelta = CANDLE_INTERVAL
    ) -> None:
        self.feed = feed
        self.start = floor_to(start, interval)  # bars open on their interval's grid, as a venue's do
        self.end = end
        self.interval = interval
        self._candles: dict[str, list[Candle]] = {}

    def candles(self, markets: Iterable[str]) -> dict[str, Sequence[Candle]]:
        out: dict[str, Sequence[Candle]] = {}
        for market in dict.fromkeys(markets):
            if market not in self._candles:
                try:
                    self._candles[market] = self._load(market)
                except UnknownMarket:
                    continue
            out[market] = self._candles[market]
        return out

    def _load(self, market: str) -> list[Candle]:
        count = int((floor_to(self.end, self.interval) - self.start) / self.interval)  # closed bars only
        ohlc = getattr(self.feed, "ohlc", None)  # the simulated feed's bulk path: the same prices, faster
        if ohlc is not None:
            return [Candle(*bar) for bar in ohlc(market, self.start, count, self.interval)]
        bars = self.feed.candles(market, self.start, count, self.interval)
        return [Candle(b.start, b.open, b.high, b.low, b.close) for b in bars]


def book_spec(
    strategy: Strategy,
    deployment: AgentDeployment,
    *,
    costs: Costs,
    markets: Mapping[str, MarketRules],
) -> BookSpec:
    """A deployment's book as the executor sizes it and the monitor exits it: its overrides over the
    version's settings. Leverage: the deployment's cap, else the agent's (a reference book has no cap).
    Only live deployments are billed; paper and reference books are free.
    """
    return BookSpec(
        capital=Decimal(deployment.capital_usd),
        exits=rules_for(strategy, deployment, costs.time_limit),
        markets=markets,
        sizing_profile=SizingProfile(deployment.sizing_profile or strategy.sizing_profile),
        leverage=Decimal(deployment.leverage_cap or strategy.leverage),
        max_trade_usd=deployment.max_trade_usd,
        fills=costs.fills,
        fees=costs.fees,
        billable=is_billable(deployment, deployment.venue),
    )
