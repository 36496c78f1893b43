"""Load the demo: creators, CT accounts and their posts, agents, reference books and follower deployments.

This module is the catalogue only. The 90-day history is a replay (`backend.trading.replay`) of the signals
the live generator would have made from the demo posts (`backend.backtest.replay_source`), written down as
live trading leaves it (`backend.backtest.record`): every trade was sized, filled, exited and booked by the
same functions the executor, the paper venue and the monitor call. Figures come from
`backend.metrics.service.rebuild_all` afterwards, as an operator's rebuild would compute them.

Idempotent: rows are found by their natural keys first, and an agent that exists is left untouched (but for
a demo database from before reference books, whose agents get their book replayed from their stored
signals), so running the seed twice adds nothing. Each agent is written in its own transaction.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from backend import audit
from backend.agents.reference import ensure_reference_book, reference_book
from backend.agents.versions import Strategy, ensure_version, pinned_strategy
from backend.backtest.record import record_book
from backend.backtest.replay_source import (
    Costs,
    PriceHistory,
    book_spec,
    decide_signals,
    replay_signals,
    stored_signals,
)
from backend.config import Settings, get_settings
from backend.demo import catalog
from backend.demo.catalog import DemoAgent
from backend.markets.refresh import refresh_venues
from backend.metrics.service import rebuild_all
from backend.models import (
    Agent,
    AgentAccount,
    AgentDeployment,
    CtAccount,
    CtPost,
    User,
)
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue, PostSource, Side
from backend.prices.quotes import for_token, render_quotes
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.replay import replay
from backend.venues.paper import PaperVenue, open_paper_account, paper_markets

logger = logging.getLogger(__name__)

HISTORY_DAYS = 90
CLASSIFIER = "demo-seed v1"
# Where a deployment of an agent on each venue executes in the demo (no live venue accounts).
DEMO_EXECUTION_VENUE = ExecutionVenue.PAPER

Progress = Callable[[str, int, int], None]


@dataclass
class SeedReport:
    agents_created: int = 0
    agents_skipped: int = 0
    reference_books_replayed: int = 0  # demo agents seeded before reference books, given theirs
    posts_created: int = 0
    positions_created: int = 0


def demo_address(name: str) -> str:
    """A stable, obviously synthetic wallet address for a demo user."""
    return "0x" + hashlib.sha256(f"maxxit-demo:{name}".encode()).hexdigest()[:40]


def seed_demo(
    session: Session,
    now: datetime | None = None,
    feed: SimulatedPriceFeed | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
    history: timedelta | None = None,
) -> SeedReport:
    """Seed the catalogue and replay its history up to `now`; `settings` supplies the live workers' costs.

    `history` shortens the past (posts and agents no older than that), for tests of what happens next.
    """
    now = (now or utcnow()).replace(second=0, microsecond=0)
    past = timedelta(days=HISTORY_DAYS) if history is None else min(history, timedelta(days=HISTORY_DAYS))
    published = {
        spec.name: spec.published if history is None else min(spec.published, history)
        for spec in catalog.AGENTS
    }
    feed = feed or SimulatedPriceFeed()
    costs = Costs.from_settings(settings or get_settings())
    report_progress = progress or (lambda _step, _done, _total: None)
    report = SeedReport()

    _seed_markets(session, feed, now)
    users = _seed_users(session)
    accounts = _seed_accounts(session, now - past, now, feed, report)
    session.commit()

    # Its own feed of the same seed: the replay's candles would crowd the indicators' out of one feed's cache.
    first = now - max(published.values())
    prices = PriceHistory(SimulatedPriceFeed(seed=feed.seed), first, now)
    features: dict[int, dict[str, Decimal] | None] = {}
    total = len(catalog.AGENTS)
    for done, spec in enumerate(catalog.AGENTS, start=1):
        report_progress(spec.name, done - 1, total)
        creator = users[spec.creator]
        exists = session.exec(
            select(Agent).where(Agent.creator_id == creator.id, Agent.name == spec.name)
        ).first()
        if exists is not None:
            report.agents_skipped += 1
            if reference_book(session, exists.id) is None:
                report.positions_created += _replay_reference_book(session, exists, now, prices, costs)
                report.reference_books_replayed += 1
                session.commit()
            continue
        report.positions_created += _seed_agent(
            session, spec, users, accounts, now - published[spec.name], now, feed, prices, costs, features
        )
        report.agents_created += 1
        session.commit()

    if report.agents_created or report.reference_books_replayed:
        report_progress("figures", total, total)
        rebuild_all(session, now)
        audit.record(
            session, action=audit.Action.DEMO_SEEDED, entity_type="platform", details=vars(report).copy()
        )
        session.commit()
    report_progress("done", total, total)
    logger.info("demo seed: %s", report)
    return report


def _seed_markets(session: Session, feed: SimulatedPriceFeed, now: datetime) -> None:
    """The paper venue's markets into the registry, as every refresh writes them (offline: paper only;
    the worker refreshes Hyperliquid when it starts)."""
    refresh_venues(session, [PaperVenue(session.get_bind(), feed)], now)


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
    session: Session, since: datetime, now: datetime, feed: SimulatedPriceFeed, report: SeedReport
) -> dict[str, CtAccount]:
    accounts = {}
    tokens = _account_tokens()
    for handle, display, followers in catalog.CT_ACCOUNTS:
        account = session.exec(select(CtAccount).where(CtAccount.handle == handle)).first()
        if account is None:
            account = CtAccount(handle=handle, display_name=display, followers_count=followers, is_demo=True)
            session.add(account)
            session.flush()
            report.posts_created += _seed_posts(session, account, tokens[handle], since, now, feed)
        elif not account.is_demo:
            # Someone follows a real account of that name: it gets no made-up posts and no demo followers.
            logger.warning("demo seed: @%s is a real account here; the demo leaves it alone", handle)
            continue
        accounts[handle] = account
    return accounts


def _seed_posts(
    session: Session,
    account: CtAccount,
    tokens: list[str],
    since: datetime,
    now: datetime,
    feed: SimulatedPriceFeed,
) -> int:
    """An account's posts since `since` (three months): calls (some quoting entry, stop and target at the
    feed's price then), reports of exits and chatter."""
    rng = random.Random(f"posts:{account.handle}")
    at = since
    count = 0
    while True:
        at += timedelta(minutes=rng.randint(6 * 60, 30 * 60))
        if at >= now - timedelta(hours=1):
            return count
        count += 1
        roll = rng.random()
        token = rng.choice(tokens)
        if roll < 0.12:
            text, is_signal, side, token = rng.choice(catalog.NOISE), False, None, None
        elif roll < 0.2:
            text, is_signal, side = for_token(rng.choice(catalog.EXITS), token), False, None
            token = None
        else:
            side = Side.LONG if roll < 0.65 else Side.SHORT
            plain, quoted = (
                (catalog.BULLISH, catalog.QUOTED_BULLISH)
                if side == Side.LONG
                else (catalog.BEARISH, catalog.QUOTED_BEARISH)
            )
            template = rng.choice(quoted if rng.random() < 0.4 else plain)
            text, is_signal = for_token(template, token), True
        text = render_quotes(text, lambda symbol, at=at: feed.price_at(symbol, at))
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
    created: datetime,
    now: datetime,
    feed: SimulatedPriceFeed,
    history: PriceHistory,
    costs: Costs,
    features: dict[int, dict[str, Decimal] | None],
) -> int:
    """The agent, its version 1, reference book and follower deployments; its history replayed into them."""
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
        leverage=spec.leverage,
        created_at=created,
        updated_at=created,
        **{f"weight_{k}": v for k, v in spec.weights.items()},
    )
    session.add(agent)
    session.flush()
    followed = [accounts[h] for h in spec.follows if h in accounts]
    session.add_all(AgentAccount(agent_id=agent.id, ct_account_id=a.id) for a in followed)
    session.flush()
    version = ensure_version(session, agent, now=created)
    books = [ensure_reference_book(session, agent, capital=costs.reference_capital, now=created)]
    books += _follower_deployments(session, spec, agent, version.id, users, created)

    strategy = Strategy.from_json(version.strategy)
    signals = decide_signals(
        session,
        agent_id=agent.id,
        version_id=version.id,
        strategy=strategy,
        feed=feed,
        since=created,
        until=now,
        features_by_post=features,
    )
    session.add_all(signals)
    session.flush()
    inputs = replay_signals(signals)
    candles = history.candles(s.token for s in inputs)
    markets = paper_markets()
    positions = 0
    for book in books:
        spec_ = book_spec(strategy, book, costs=costs, markets=markets)
        result = replay(spec_, inputs, candles, start=book.created_at, end=now, interval=history.interval)
        positions += record_book(session, book, result, creator_id=agent.creator_id)
    return positions


def _replay_reference_book(
    session: Session, agent: Agent, now: datetime, history: PriceHistory, costs: Costs
) -> int:
    """A demo agent seeded before reference books: its book, from its creation, replaying its stored signals.

    Its followers keep the history they have; its public figures then come from the book like every agent's.
    """
    book = ensure_reference_book(session, agent, capital=costs.reference_capital, now=agent.created_at)
    inputs = stored_signals(session, agent.id)
    candles = history.candles(s.token for s in inputs)
    strategy = pinned_strategy(session, book, agent)
    spec = book_spec(strategy, book, costs=costs, markets=paper_markets())
    result = replay(spec, inputs, candles, start=book.created_at, end=now, interval=history.interval)
    return record_book(session, book, result, creator_id=agent.creator_id)


def _follower_deployments(
    session: Session,
    spec: DemoAgent,
    agent: Agent,
    version_id: int,
    users: dict[str, User],
    created: datetime,
) -> list[AgentDeployment]:
    """The demo traders' paper deployments, each with its own capital, at the agent's leverage."""
    rng = random.Random(f"deployments:{spec.name}")
    deployments = []
    for trader in rng.sample(catalog.TRADERS, spec.deployments):
        deployment = AgentDeployment(
            agent_id=agent.id,
            user_id=users[trader].id,
            agent_version_id=version_id,
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
    for deployment in deployments:
        open_paper_account(session, deployment.id, deployment.capital_usd)
    return deployments


__all__ = ["SeedReport", "demo_address", "seed_demo"]
