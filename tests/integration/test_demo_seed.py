"""The demo seed: idempotent, a replay of the demo posts through the trading core, its rows consistent.

The full 90-day seed takes most of this module's time, so it runs once per backend, into a database of
its own (`seeded`); each test that starts from a seeded demo gets a fresh copy of that database (`demo`),
with the seed's report. A test that needs rows in place before the seed seeds its own.
"""

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from backend.agents.schemas import AgentQuery
from backend.agents.service import list_agents
from backend.agents.versions import Strategy
from backend.backtest.replay_source import Costs, PriceHistory, book_spec, decide_signals, stored_signals
from backend.config import get_settings
from backend.db import make_engine
from backend.demo import catalog
from backend.demo.seed import SeedReport, seed_demo
from backend.metrics.service import compute_agent_figures
from backend.models import (
    Agent,
    AgentAccount,
    AgentDeployment,
    AgentVersion,
    BillingEvent,
    CtAccount,
    CtPost,
    PaperAccount,
    PaperPosition,
    PnlSnapshot,
    Position,
    Signal,
)
from backend.models.enums import CloseReason, PositionStatus, PostSource, Side
from backend.monitor.reconcile import reconcile_deployment
from backend.prices.quotes import parse_price
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.book import realized_pnl
from backend.trading.replay import replay
from backend.venues.paper import PaperVenue, paper_markets
from tests.migrated import database_copy, migrated_pg_database, migrated_sqlite

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@dataclass
class Demo:
    session: Session
    report: SeedReport  # what seeding the empty database reported


@pytest.fixture(scope="module")
def seeded(
    migrated_engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, SeedReport]]:
    """A database of the test's backend with the demo seeded at NOW (no connection left open on it)."""
    directory: Path = tmp_path_factory.mktemp("demo-seed")
    if migrated_engine.dialect.name == "postgresql":
        database = migrated_pg_database("maxxit_demo")
    else:
        database = contextlib.nullcontext(migrated_sqlite(directory / "seeded.db"))
    with database as url:
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            report = seed_demo(session, now=NOW)
        engine.dispose()
        yield url, report


@pytest.fixture
def demo(seeded: tuple[str, SeedReport], tmp_path: Path) -> Iterator[Demo]:
    """A copy of the seeded database, for this test alone."""
    url, report = seeded
    with database_copy(url, tmp_path) as copy:
        engine = make_engine(copy)
        with Session(engine, expire_on_commit=False) as session:
            yield Demo(session, report)
        engine.dispose()


def _counts(session):
    return tuple(
        session.exec(select(func.count()).select_from(model)).one()
        for model in (Agent, CtPost, Signal, Position, BillingEvent)
    )


def test_seed_is_idempotent_and_honest(demo):
    session, first = demo.session, demo.report
    assert first.agents_created == len(catalog.AGENTS) and first.positions_created > 500
    counts = _counts(session)

    again = seed_demo(session, now=NOW)
    assert again.agents_created == 0 and again.agents_skipped == len(catalog.AGENTS)
    assert _counts(session) == counts

    # Every closed position's PnL is the core's: its price move times size, less both venue fees.
    for p in session.exec(select(Position).where(Position.status == PositionStatus.CLOSED).limit(200)).all():
        expected = realized_pnl(Side(p.side), p.entry_price, p.exit_price, p.size, p.entry_fee, p.exit_fee)
        assert p.realized_pnl == expected
        assert p.close_reason is not None and p.closed_at > p.opened_at

    # Cached marketplace figures equal a fresh computation from the positions.
    for agent in session.exec(select(Agent)).all():
        fresh = compute_agent_figures(session, agent.id, NOW)
        assert (agent.trades_count, agent.apr_30d, agent.sharpe_30d) == (
            fresh.trades_count,
            fresh.apr_30d,
            fresh.sharpe_30d,
        )

    # Paper trading is free and reference books are the platform's: the demo owes no billing line.
    assert session.exec(select(func.count()).select_from(BillingEvent)).one() == 0

    # The paper venue's books carry on from the replay: its net positions are the open positions, and its
    # cash less their cost is the capital, plus realised PnL, less the open positions' entry fees and cost.
    for deployment in session.exec(select(AgentDeployment)).all():
        book = session.get(PaperAccount, deployment.id)
        positions = session.exec(select(Position).where(Position.deployment_id == deployment.id)).all()
        closed = [p for p in positions if p.status == PositionStatus.CLOSED]
        held = [p for p in positions if p.status != PositionStatus.CLOSED]
        net = session.exec(select(PaperPosition).where(PaperPosition.deployment_id == deployment.id)).all()
        signed = [(p.size if p.side == Side.LONG else -p.size, p) for p in held]
        for market in {p.market for p in held} | {n.market for n in net}:
            assert sum((s for s, p in signed if p.market == market), Decimal(0)) == next(
                n.size for n in net if n.market == market
            )
        venue_side = book.cash - sum((n.size * n.entry_price for n in net), Decimal(0))
        ours = (
            deployment.capital_usd
            + sum((p.realized_pnl for p in closed), Decimal(0))
            - sum((p.entry_fee for p in held), Decimal(0))
            - sum((s * p.entry_price for s, p in signed), Decimal(0))
        )
        assert abs(venue_side - ours) < Decimal("0.0001"), deployment.id

    # ... and its positions are ours exactly: reconciliation finds nothing to repair in any deployment.
    venue = PaperVenue(session.get_bind(), SimulatedPriceFeed(seed=7))
    for deployment in session.exec(select(AgentDeployment)).all():
        assert reconcile_deployment(session, deployment, venue, now=NOW) == [], deployment.id

    assert_seed_is_a_replay_of_the_demo_posts(session)
    assert_demo_posts_quote_the_feed(session)
    session.rollback()


QUOTE = re.compile(r"(?<![\w.$/])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?k?)(?![\w%/]|\.\d)")


def _utc(at):
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def assert_demo_posts_quote_the_feed(session):
    """Every price a demo post quotes sits beside its token's feed price at the post's time, and a position
    opened on a quoting call fills within a few percent of the price the post quoted."""
    feed = SimulatedPriceFeed(seed=7)
    quoted_at: dict[int, Decimal] = {}
    for post in session.exec(select(CtPost).where(CtPost.source == PostSource.DEMO)).all():
        numbers = [parse_price(n) for n in QUOTE.findall(post.text)]
        if not numbers:
            continue
        (symbol,) = re.findall(r"\$([A-Z]+)\b", post.text)
        assert post.token in (symbol, None), post.text
        price = feed.price_at(symbol, _utc(post.posted_at))
        ratios = [n / price for n in numbers]
        assert all(Decimal("0.84") < r < Decimal("1.21") for r in ratios), (post.text, price)
        then = min(numbers, key=lambda n: abs(n / price - 1))
        assert abs(then / price - 1) < Decimal("0.006"), (post.text, price)
        quoted_at[post.id] = then
    assert len(quoted_at) > 200
    filled = session.exec(
        select(Position.entry_price, Signal.post_id)
        .join(Signal, Signal.id == Position.signal_id)
        .where(Signal.post_id.in_(list(quoted_at)))
    ).all()
    assert len(filled) > 100
    for entry, post_id in filled:
        assert abs(entry / quoted_at[post_id] - 1) < Decimal("0.03"), (entry, quoted_at[post_id])


def assert_seed_is_a_replay_of_the_demo_posts(session):
    """Signals re-decided from the posts are the stored ones; each book replayed anew is its stored rows."""
    costs, markets = Costs.from_settings(get_settings()), paper_markets()
    feed = SimulatedPriceFeed(seed=7)
    history = PriceHistory(feed, NOW - timedelta(days=95), NOW)
    features: dict = {}
    for agent in session.exec(select(Agent).order_by(Agent.id)).all():
        version = session.exec(select(AgentVersion).where(AgentVersion.agent_id == agent.id)).one()
        strategy = Strategy.from_json(version.strategy)
        decided = decide_signals(
            session,
            agent_id=agent.id,
            version_id=version.id,
            strategy=strategy,
            feed=feed,
            since=agent.created_at,
            until=NOW,
            features_by_post=features,
        )
        stored = session.exec(
            select(Signal).where(Signal.agent_id == agent.id).order_by(Signal.created_at, Signal.id)
        ).all()

        def key(s):
            return (s.post_id, s.token, Side(s.side), s.score, s.bucket_start, s.agent_version_id)

        assert [key(s) for s in decided] == [key(s) for s in stored]
        inputs = stored_signals(session, agent.id)
        candles = history.candles(s.token for s in inputs)
        books = session.exec(select(AgentDeployment).where(AgentDeployment.agent_id == agent.id)).all()
        assert sum(b.is_reference for b in books) == 1
        for book in books:
            spec = book_spec(strategy, book, costs=costs, markets=markets)
            result = replay(spec, inputs, candles, start=book.created_at, end=NOW, interval=history.interval)
            rows = session.exec(
                select(Position)
                .where(Position.deployment_id == book.id)
                .order_by(Position.opened_at, Position.signal_id)
            ).all()
            assert [_row(p) for p in rows] == [_trade(t) for t in result.trades], book.id
            snapshots = session.exec(
                select(PnlSnapshot).where(PnlSnapshot.deployment_id == book.id).order_by(PnlSnapshot.day)
            ).all()
            assert [(s.day, s.equity, s.realized_pnl, s.unrealized_pnl) for s in snapshots] == [
                (p.day, p.equity, p.realized_pnl, p.unrealized_pnl) for p in result.equity
            ]
            assert session.get(PaperAccount, book.id).cash == result.cash


def _row(p):
    reason = None if p.close_reason is None else CloseReason(p.close_reason)
    return (
        p.signal_id,
        p.opened_at,
        p.entry_price,
        p.size,
        p.leverage,
        p.entry_fee,
        p.trailing_high,
        p.closed_at,
        p.exit_price,
        p.exit_fee,
        reason,
        p.realized_pnl,
    )


def _trade(t):
    return (
        t.signal_id,
        t.entry_at,
        t.entry_price,
        t.size,
        t.leverage,
        t.entry_fee,
        t.best_price,
        t.exit_at,
        t.exit_price,
        t.exit_fee if t.exit_at else Decimal(0),
        t.reason,
        t.realized_pnl,
    )


def test_marketplace_shows_traded_and_untraded_agents(demo):
    session = demo.session
    page = list_agents(session, AgentQuery(limit=100))
    assert page.total == len(catalog.AGENTS)
    untraded = [a for a in page.items if a.trades_count == 0]
    assert [a.name for a in untraded] == ["Fresh Agent (no trades yet)"]
    assert untraded[0].apr_30d is None
    assert {a.venue for a in page.items} >= {"SPOT", "GMX", "HYPERLIQUID", "OSTIUM", "MULTI"}
    deployments = session.exec(select(AgentDeployment.is_reference)).all()
    assert deployments.count(False) == sum(spec.deployments for spec in catalog.AGENTS)
    assert deployments.count(True) == len(catalog.AGENTS)  # every agent has its reference book


def test_seeded_accounts_are_marked_demo_and_a_real_namesake_is_left_alone(session):
    """A real account followed under a demo handle gets no made-up posts, no demo followers, no flag."""
    taken = catalog.CT_ACCOUNTS[0][0]
    real = CtAccount(handle=taken, display_name="A real person")
    session.add(real)
    session.commit()

    seed_demo(session, now=NOW)
    session.refresh(real)
    assert real.is_demo is False
    assert session.exec(select(CtPost).where(CtPost.ct_account_id == real.id)).all() == []
    assert session.exec(select(AgentAccount).where(AgentAccount.ct_account_id == real.id)).all() == []
    demo = session.exec(select(CtAccount).where(CtAccount.id != real.id)).all()
    assert sorted(a.handle for a in demo) == sorted(h for h, _, _ in catalog.CT_ACCOUNTS[1:])
    assert all(a.is_demo for a in demo)


def test_a_demo_agent_seeded_before_reference_books_gets_its_book_replayed(demo):
    """A demo database from before reference books: the seed gives each agent its book, replayed from the
    agent's stored signals, and the marketplace figures return with the same trades."""
    session = demo.session
    agent = session.exec(select(Agent).where(Agent.trades_count > 0).order_by(Agent.id)).first()
    book = session.exec(
        select(AgentDeployment).where(AgentDeployment.agent_id == agent.id, AgentDeployment.is_reference)
    ).one()
    trades = _book_trades(session, book.id)
    figures = (agent.trades_count, agent.win_rate, agent.total_pnl)
    for model in (PnlSnapshot, PaperPosition, PaperAccount, Position):
        for row in session.exec(select(model).where(model.deployment_id == book.id)).all():
            session.delete(row)
        session.flush()
    session.delete(book)
    session.commit()

    report = seed_demo(session, now=NOW)

    assert report.agents_created == 0 and report.reference_books_replayed == 1
    again = session.exec(
        select(AgentDeployment).where(AgentDeployment.agent_id == agent.id, AgentDeployment.is_reference)
    ).one()
    assert _book_trades(session, again.id) == trades
    session.refresh(agent)
    assert (agent.trades_count, agent.win_rate, agent.total_pnl) == figures
    assert seed_demo(session, now=NOW).reference_books_replayed == 0


def _book_trades(session, deployment_id):
    rows = session.exec(select(Position).where(Position.deployment_id == deployment_id)).all()
    return sorted((p.signal_id, p.size, p.entry_price, p.exit_price, p.realized_pnl) for p in rows)
