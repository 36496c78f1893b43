"""Load the demo: creators, CT accounts and their posts, agents, deployments, and trades replayed
through the simulated price feed and the real exit rules, so every figure on the marketplace is computed.

Idempotent: rows are found by their natural keys first, and an agent that exists is left untouched,
so running the seed twice adds nothing. Each agent is written in its own transaction.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlmodel import Session, col, select

from backend import audit
from backend.billing.trade_fee import TRADE_FEE_USD, trade_fee_key
from backend.demo import catalog
from backend.demo.catalog import DemoAgent
from backend.metrics.service import refresh_agent_metrics
from backend.models import (
    Agent,
    AgentAccount,
    AgentDeployment,
    BillingEvent,
    CtAccount,
    CtPost,
    ImpactFactorHistory,
    PaperAccount,
    PaperPosition,
    PnlSnapshot,
    Position,
    Signal,
    TokenRegistry,
    User,
    VenueStatus,
)
from backend.models.common import utcnow
from backend.models.enums import (
    BillingKind,
    BillingStatus,
    ExecutionVenue,
    PositionStatus,
    PostSource,
    Side,
    SignalStatus,
    SizingProfile,
)
from backend.prices.markets import MARKETS
from backend.prices.simulated import SimulatedPriceFeed
from backend.signals.features import feature_values, score
from backend.signals.market import bucket_start, indicators_at
from backend.trading.exits import ExitRules, OpenPosition, exit_reason, update_best_price
from backend.trading.sizing import PROFILE_SCALE, TIER_SHARES, confidence_tier

logger = logging.getLogger(__name__)

HISTORY_DAYS = 90
HOLD_LIMIT = timedelta(hours=72)
PRICE_STEP = timedelta(minutes=15)
TAKER_FEE = Decimal("0.00045")
SLIPPAGE = Decimal("0.0005")
PROFIT_SHARE = Decimal("0.10")
CLASSIFIER = "demo-seed v1"
# Where a deployment of an agent on each venue executes in the demo (no live venue accounts).
DEMO_EXECUTION_VENUE = ExecutionVenue.PAPER

Progress = Callable[[str, int, int], None]


@dataclass
class SeedReport:
    agents_created: int = 0
    agents_skipped: int = 0
    posts_created: int = 0
    positions_created: int = 0


@dataclass(frozen=True)
class _Trade:
    entry_at: datetime
    entry_price: Decimal
    exit_at: datetime | None
    exit_price: Decimal | None
    reason: str | None
    best_price: Decimal


def demo_address(name: str) -> str:
    """A stable, obviously synthetic wallet address for a demo user."""
    return "0x" + hashlib.sha256(f"maxxit-demo:{name}".encode()).hexdigest()[:40]


def seed_demo(
    session: Session,
    now: datetime | None = None,
    feed: SimulatedPriceFeed | None = None,
    progress: Progress | None = None,
) -> SeedReport:
    now = (now or utcnow()).replace(second=0, microsecond=0)
    feed = feed or SimulatedPriceFeed()
    report_progress = progress or (lambda _step, _done, _total: None)
    report = SeedReport()

    _seed_markets(session)
    users = _seed_users(session)
    accounts = _seed_accounts(session, now, feed, report)
    session.commit()

    total = len(catalog.AGENTS)
    for done, spec in enumerate(catalog.AGENTS, start=1):
        report_progress(spec.name, done - 1, total)
        creator = users[spec.creator]
        exists = session.exec(
            select(Agent.id).where(Agent.creator_id == creator.id, Agent.name == spec.name)
        ).first()
        if exists is not None:
            report.agents_skipped += 1
            continue
        report.positions_created += _seed_agent(session, spec, users, accounts, now, feed)
        report.agents_created += 1
        session.commit()
    report_progress("done", total, total)

    if report.agents_created:
        _update_impact_factors(session, accounts, now)
        audit.record(
            session, action=audit.Action.DEMO_SEEDED, entity_type="platform", details=vars(report).copy()
        )
        session.commit()
    logger.info("demo seed: %s", report)
    return report


def _seed_markets(session: Session) -> None:
    for venue in (ExecutionVenue.PAPER, ExecutionVenue.HYPERLIQUID):
        for spec in MARKETS.values():
            key = (VenueStatus.venue == venue, VenueStatus.market == spec.symbol)
            if session.exec(select(VenueStatus.id).where(*key)).first() is None:
                session.add(
                    VenueStatus(
                        venue=venue,
                        market=spec.symbol,
                        min_size=Decimal(1).scaleb(-spec.size_decimals),
                        tick_size=spec.tick_size,
                        size_decimals=spec.size_decimals,
                        max_leverage=Decimal(spec.max_leverage),
                    )
                )
            reg = (TokenRegistry.symbol == spec.symbol, TokenRegistry.venue == venue)
            if session.exec(select(TokenRegistry.id).where(*reg)).first() is None:
                session.add(TokenRegistry(symbol=spec.symbol, name=spec.name, venue=venue))


def _seed_users(session: Session) -> dict[str, User]:
    users = {}
    for name in (*catalog.CREATORS, *catalog.TRADERS):
        address = demo_address(name)
        user = session.exec(select(User).where(User.address == address)).first()
        if user is None:
            user = User(address=address, display_name=name)
            session.add(user)
            session.flush()
        users[name] = user
    return users


def _account_tokens() -> dict[str, list[str]]:
    """The tokens an account talks about: those its followers trade, plus the majors."""
    tokens: dict[str, set[str]] = {handle: {"BTC", "ETH"} for handle, _, _ in catalog.CT_ACCOUNTS}
    for spec in catalog.AGENTS:
        for handle in spec.follows:
            tokens[handle].update(spec.tokens)
    return {handle: sorted(t) for handle, t in tokens.items()}


def _seed_accounts(
    session: Session, now: datetime, feed: SimulatedPriceFeed, report: SeedReport
) -> dict[str, CtAccount]:
    accounts = {}
    tokens = _account_tokens()
    for handle, display, followers in catalog.CT_ACCOUNTS:
        account = session.exec(select(CtAccount).where(CtAccount.handle == handle)).first()
        if account is None:
            account = CtAccount(handle=handle, display_name=display, followers_count=followers, is_demo=True)
            session.add(account)
            session.flush()
            report.posts_created += _seed_posts(session, account, tokens[handle], now)
        elif not account.is_demo:
            # Someone follows a real account of that name: it gets no made-up posts and no demo followers.
            logger.warning("demo seed: @%s is a real account here; the demo leaves it alone", handle)
            continue
        accounts[handle] = account
    return accounts


def _seed_posts(session: Session, account: CtAccount, tokens: list[str], now: datetime) -> int:
    rng = random.Random(f"posts:{account.handle}")
    at = now - timedelta(days=HISTORY_DAYS)
    count = 0
    while True:
        at += timedelta(minutes=rng.randint(6 * 60, 30 * 60))
        if at >= now - timedelta(hours=1):
            return count
        count += 1
        roll = rng.random()
        token = rng.choice(tokens)
        if roll < 0.2:
            text, is_signal, side, token = rng.choice(catalog.NOISE), False, None, None
        else:
            side = Side.LONG if roll < 0.65 else Side.SHORT
            template = rng.choice(catalog.BULLISH if side == Side.LONG else catalog.BEARISH)
            text, is_signal = template.replace("${t}", f"${token}"), True
        confidence = Decimal(str(round(rng.uniform(0.5, 0.95), 2))) if is_signal else Decimal("0.1")
        session.add(
            CtPost(
                ct_account_id=account.id,
                source=PostSource.DEMO,
                external_id=f"demo-{account.handle}-{count}",
                text=text,
                posted_at=at,
                is_signal=is_signal,
                token=token,
                side=side,
                confidence=confidence,
                reasoning=f"{side} call on {token}" if is_signal else "no tradable call",
                classifier=CLASSIFIER,
                classified_at=at + timedelta(seconds=20),
            )
        )


def _seed_agent(
    session: Session,
    spec: DemoAgent,
    users: dict[str, User],
    accounts: dict[str, CtAccount],
    now: datetime,
    feed: SimulatedPriceFeed,
) -> int:
    created = now - timedelta(days=HISTORY_DAYS + 5)
    agent = Agent(
        creator_id=users[spec.creator].id,
        name=spec.name,
        description=spec.description,
        venue=spec.venue,
        stoploss=spec.stop_loss,
        take_profit=spec.take_profit,
        trailing_stop_positive_offset=spec.trailing_activation,
        trailing_stop_positive=spec.trailing_distance,
        sizing_profile=spec.sizing,
        signal_threshold=spec.threshold,
        created_at=created,
        updated_at=created,
        **{f"weight_{k}": v for k, v in spec.weights.items()},
    )
    session.add(agent)
    session.flush()
    followed = [accounts[h] for h in spec.follows if h in accounts]
    session.add_all(AgentAccount(agent_id=agent.id, ct_account_id=a.id) for a in followed)

    rng = random.Random(f"deployments:{spec.name}")
    deployments = []
    for trader in rng.sample(catalog.TRADERS, spec.deployments):
        deployment = AgentDeployment(
            agent_id=agent.id,
            user_id=users[trader].id,
            venue=DEMO_EXECUTION_VENUE,
            capital_usd=Decimal(rng.choice((5000, 10000, 15000, 25000))),
            sizing_profile=spec.sizing,
            leverage_cap=spec.leverage,
            trial_ends_at=created + timedelta(days=30),
            created_at=created,
            updated_at=created,
        )
        session.add(deployment)
        deployments.append(deployment)
    session.flush()

    rules = ExitRules(
        stoploss=spec.stop_loss,
        take_profit=spec.take_profit,
        trailing_stop_positive_offset=spec.trailing_activation,
        trailing_stop_positive=spec.trailing_distance,
        time_limit=HOLD_LIMIT,
    )
    positions = 0
    held: dict[tuple[int, str], tuple[str, datetime | None]] = {}  # (deployment, market) -> side, until
    for signal in _signals_for(session, spec, agent, followed, feed):
        trade = _replay(feed, signal, rules, now)
        for deployment in deployments:
            if _against_open_position(held, deployment.id, signal, trade):
                continue  # as the executor does: a venue nets per market, a reversal waits for the exit
            positions += _open_and_close(session, spec, deployment, signal, trade, users[spec.creator])
    session.flush()
    _snapshots(session, deployments, now)
    _paper_books(session, deployments)
    refresh_agent_metrics(session, agent.id, now)
    return positions


def _against_open_position(
    held: dict[tuple[int, str], tuple[str, datetime | None]],
    deployment_id: int,
    signal: Signal,
    trade: _Trade,
) -> bool:
    """True when the deployment holds the other side of this market at the trade's entry; else book it."""
    key = (deployment_id, signal.token)
    side, until = held.get(key, (signal.side, trade.entry_at))
    still_open = until is None or until > trade.entry_at
    if side != signal.side and still_open:
        return True
    if side == signal.side and still_open:
        until = None if until is None or trade.exit_at is None else max(until, trade.exit_at)
    else:
        until = trade.exit_at
    held[key] = (signal.side, until)
    return False


def _signals_for(
    session: Session, spec: DemoAgent, agent: Agent, followed: list[CtAccount], feed: SimulatedPriceFeed
) -> list[Signal]:
    posts = session.exec(
        select(CtPost)
        .where(
            col(CtPost.ct_account_id).in_([a.id for a in followed]),
            col(CtPost.is_signal).is_(True),
            col(CtPost.token).in_(spec.tokens),
        )
        .order_by(col(CtPost.posted_at), col(CtPost.id))
    ).all()
    signals, seen = [], set()
    for post in posts:
        side = Side(post.side)
        if spec.extra.get("contrarian"):
            side = Side.SHORT if side == Side.LONG else Side.LONG
        features = _features(session, feed, post, side)
        value = score(spec.weights, features)
        bucket = bucket_start(post.posted_at)
        if value is None or value < spec.threshold or (post.token, bucket) in seen:
            continue
        seen.add((post.token, bucket))
        signal = Signal(
            agent_id=agent.id,
            post_id=post.id,
            token=post.token,
            side=side,
            score=value,
            features={k: str(v) for k, v in features.items()},
            weights=dict(spec.weights),
            threshold=spec.threshold,
            bucket_start=bucket,
            status=SignalStatus.EXECUTED,
            created_at=post.posted_at + timedelta(seconds=30),
        )
        session.add(signal)
        signals.append(signal)
    session.flush()
    return signals


def _features(session: Session, feed: SimulatedPriceFeed, post: CtPost, side: Side) -> dict[str, Decimal]:
    """The feature values the live generator scores: indicators from the feed's candles up to the post."""
    indicators = indicators_at(session, feed, post.token, post.posted_at)
    return feature_values(indicators, side, post.confidence or Decimal("0.5"))


def _replay(feed: SimulatedPriceFeed, signal: Signal, rules: ExitRules, now: datetime) -> _Trade:
    """Walk the price path after the signal until an exit rule fires (or now, leaving it open)."""
    side = Side(signal.side)
    entry_at = signal.created_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    slip = Decimal(1) + (SLIPPAGE if side == Side.LONG else -SLIPPAGE)
    entry_price = feed.price_at(signal.token, entry_at) * slip
    position = OpenPosition(side=side, entry_price=entry_price, opened_at=entry_at, best_price=entry_price)
    end = min(entry_at + rules.time_limit, now)
    for at, price in feed.path(signal.token, entry_at + PRICE_STEP, end, PRICE_STEP):
        best = update_best_price(side, position.best_price, price)
        position = OpenPosition(side=side, entry_price=entry_price, opened_at=entry_at, best_price=best)
        reason = exit_reason(position, rules, price, at)
        if reason is not None:
            return _Trade(entry_at, entry_price, at, price / slip, reason, best)
    return _Trade(entry_at, entry_price, None, None, None, position.best_price)  # still open now


def _open_and_close(
    session: Session,
    spec: DemoAgent,
    deployment: AgentDeployment,
    signal: Signal,
    trade: _Trade,
    creator: User,
) -> int:
    market = MARKETS[signal.token]
    tier = confidence_tier(signal.score)
    leverage = min(spec.leverage, Decimal(market.max_leverage))
    margin = deployment.capital_usd * TIER_SHARES[tier] * PROFILE_SCALE[SizingProfile(spec.sizing)]
    size = (margin * leverage / trade.entry_price).quantize(
        Decimal(1).scaleb(-market.size_decimals), ROUND_DOWN
    )
    if size * trade.entry_price < 10:
        return 0  # below the venue minimum: the old platform's $10 floor
    entry_fee = (size * trade.entry_price * TAKER_FEE).quantize(Decimal("0.000001"))
    position = Position(
        deployment_id=deployment.id,
        signal_id=signal.id,
        venue=deployment.venue,
        market=signal.token,
        side=signal.side,
        size=size,
        leverage=leverage,
        entry_price=trade.entry_price.quantize(market.tick_size),
        trailing_high=trade.best_price.quantize(market.tick_size),
        entry_fee=entry_fee,
        client_order_id=f"demo-{deployment.id}-{signal.id}",
        opened_at=trade.entry_at,
    )
    if trade.exit_at is not None:
        sign = 1 if signal.side == Side.LONG else -1
        exit_price = trade.exit_price.quantize(market.tick_size)
        exit_fee = (size * exit_price * TAKER_FEE).quantize(Decimal("0.000001"))
        position.exit_price = exit_price
        position.exit_fee = exit_fee
        position.realized_pnl = (
            sign * (exit_price - position.entry_price) * size - entry_fee - exit_fee
        ).quantize(Decimal("0.000001"))
        position.status = PositionStatus.CLOSED
        position.close_reason = trade.reason
        position.closed_at = trade.exit_at
    session.add(position)
    session.flush()
    _bill(session, deployment, position, creator)
    return 1


def _bill(session: Session, deployment: AgentDeployment, position: Position, creator: User) -> None:
    session.add(
        BillingEvent(
            idempotency_key=trade_fee_key(deployment.id, position.signal_id),
            kind=BillingKind.TRADE_FEE,
            status=BillingStatus.CHARGED,
            user_id=deployment.user_id,
            deployment_id=deployment.id,
            position_id=position.id,
            amount=TRADE_FEE_USD,
            description=f"Trade fee {position.market} {position.side}",
            created_at=position.opened_at,
        )
    )
    if position.realized_pnl is not None and position.realized_pnl > 0:
        session.add(
            BillingEvent(
                idempotency_key=f"profit-share:{position.id}",
                kind=BillingKind.PROFIT_SHARE,
                status=BillingStatus.CHARGED,
                user_id=deployment.user_id,
                deployment_id=deployment.id,
                position_id=position.id,
                beneficiary_user_id=creator.id,
                amount=(position.realized_pnl * PROFIT_SHARE).quantize(Decimal("0.000001")),
                description="10% profit share to the agent's creator",
                created_at=position.closed_at,
            )
        )


def _paper_books(session: Session, deployments: list[AgentDeployment]) -> None:
    """The paper venue's books as the replayed trades left them, so new signals trade on from there."""
    for deployment in deployments:
        positions = session.exec(select(Position).where(Position.deployment_id == deployment.id)).all()
        cash = deployment.capital_usd
        held: dict[str, list[Position]] = {}
        for position in positions:
            if position.status == PositionStatus.CLOSED:
                cash += position.realized_pnl
            else:
                cash -= position.entry_fee
                held.setdefault(position.market, []).append(position)
        session.add(
            PaperAccount(deployment_id=deployment.id, starting_balance=deployment.capital_usd, cash=cash)
        )
        for market, open_positions in held.items():
            signed = [p.size if p.side == Side.LONG else -p.size for p in open_positions]
            net = sum(signed, Decimal(0))
            if net == 0:
                continue
            entry = sum((p.size * p.entry_price for p in open_positions), Decimal(0)) / sum(
                (p.size for p in open_positions), Decimal(0)
            )
            session.add(
                PaperPosition(
                    deployment_id=deployment.id,
                    market=market,
                    size=net,
                    entry_price=entry,
                    leverage=open_positions[-1].leverage,
                )
            )


def _snapshots(session: Session, deployments: list[AgentDeployment], now: datetime) -> None:
    """Daily equity per deployment from its realised PnL."""
    for deployment in deployments:
        closed = session.exec(
            select(Position.closed_at, Position.realized_pnl).where(
                Position.deployment_id == deployment.id, Position.status == PositionStatus.CLOSED
            )
        ).all()
        by_day: dict = {}
        for closed_at, pnl in closed:
            by_day[closed_at.date()] = by_day.get(closed_at.date(), Decimal(0)) + pnl
        equity = deployment.capital_usd
        day = deployment.created_at.date()
        while day <= now.date():
            realized = by_day.get(day, Decimal(0))
            equity += realized
            session.add(
                PnlSnapshot(deployment_id=deployment.id, day=day, equity=equity, realized_pnl=realized)
            )
            day += timedelta(days=1)


def _update_impact_factors(session: Session, accounts: dict[str, CtAccount], now: datetime) -> None:
    """Impact factor: the mean realised return of trades that an account's posts caused, in [-1, 1]."""
    for account in accounts.values():
        rows = session.exec(
            select(Position.realized_pnl, Position.size, Position.entry_price)
            .join(Signal, Signal.id == Position.signal_id)
            .join(CtPost, CtPost.id == Signal.post_id)
            .where(CtPost.ct_account_id == account.id, Position.status == PositionStatus.CLOSED)
        ).all()
        if not rows:
            continue
        returns = [pnl / (size * entry) for pnl, size, entry in rows]
        factor = max(Decimal(-1), min(Decimal(1), sum(returns) / len(returns) * 10)).quantize(
            Decimal("0.0001")
        )
        account.impact_factor = factor
        session.add(account)
        session.add(
            ImpactFactorHistory(
                ct_account_id=account.id, impact_factor=factor, sample_size=len(rows), computed_at=now
            )
        )


__all__ = ["SeedReport", "demo_address", "seed_demo"]
