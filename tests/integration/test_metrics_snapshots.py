"""Daily PnL snapshots and impact factors from stored trades, on both databases."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from sqlmodel import select

from backend.agents.reference import ensure_reference_book
from backend.metrics.daily import run_daily_metrics
from backend.metrics.impact import refresh_impact_factors
from backend.metrics.snapshots import write_snapshots
from backend.models import CtAccount, ImpactFactorHistory, MarketTick, PnlSnapshot
from backend.models.enums import DeploymentStatus, ExecutionVenue, PositionStatus

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
YESTERDAY = NOW.date() - timedelta(days=1)


def _at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def _closed(factory, deployment, pnl, closed_at, **kw):
    return factory.closed_position(
        deployment, D(pnl), closed_at=closed_at, opened_at=closed_at - timedelta(hours=2), **kw
    )


def _snapshots(session, deployment_id):
    session.expire_all()
    query = select(PnlSnapshot).where(PnlSnapshot.deployment_id == deployment_id).order_by(PnlSnapshot.day)
    return session.exec(query).all()


def test_a_day_is_written_once_per_deployment_with_equity_realised_unrealised_and_flow(session, factory):
    agent = factory.agent()
    started = datetime.combine(YESTERDAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
    book = ensure_reference_book(session, agent, capital=D("10000"), now=started)
    session.commit()
    follower = factory.paper_deployment(agent, balance=D("500"), created_at=_at(10))
    cancelled_long_ago = factory.paper_deployment(
        agent, status=DeploymentStatus.CANCELLED, created_at=_at(30), cancelled_at=_at(20)
    )
    _closed(factory, book, "120", started + timedelta(hours=5))
    _closed(factory, book, "-20", started + timedelta(hours=8))
    _closed(factory, book, "999", NOW - timedelta(hours=1))  # today: not in yesterday's snapshot
    _closed(factory, follower, "7", _at(5))
    # Open at yesterday's end: 0.01 BTC long from 60,000, last tick before midnight 61,000 → +10.
    factory.closed_position(
        book,
        D("0"),
        status=PositionStatus.OPEN,
        realized_pnl=None,
        closed_at=None,
        exit_price=None,
        opened_at=started + timedelta(hours=1),
    )
    midnight = datetime.combine(NOW.date(), datetime.min.time(), tzinfo=UTC)
    session.add(
        MarketTick(
            venue=ExecutionVenue.PAPER, market="BTC", at=midnight - timedelta(minutes=1), price=D("61000")
        )
    )
    session.add(
        MarketTick(venue=ExecutionVenue.PAPER, market="BTC", at=midnight + timedelta(minutes=1), price=D("1"))
    )
    session.commit()

    assert write_snapshots(session, YESTERDAY, NOW) == 2  # the cancelled one had stopped before the day
    assert write_snapshots(session, YESTERDAY, NOW) == 2  # again: same rows, no duplicates
    [book_day] = _snapshots(session, book.id)
    assert (book_day.day, book_day.equity, book_day.realized_pnl, book_day.unrealized_pnl) == (
        YESTERDAY,
        D("10110"),
        D("100"),
        D("10"),
    )
    assert book_day.net_flow_usd == D("10000")  # the book started that day: its capital is a flow
    [follower_day] = _snapshots(session, follower.id)
    assert (follower_day.equity, follower_day.realized_pnl, follower_day.net_flow_usd) == (D("507"), 0, 0)
    assert _snapshots(session, cancelled_long_ago.id) == []


def test_the_daily_run_is_idempotent_and_writes_impact_history(session, factory):
    agent = factory.agent(follows=[factory.ct_account()])
    book = ensure_reference_book(session, agent, capital=D("10000"), now=_at(3))
    session.commit()
    _closed(factory, book, "50", _at(2))
    run_daily_metrics(session, NOW)
    first = [(s.day, s.equity, s.net_flow_usd) for s in _snapshots(session, book.id)]
    run_daily_metrics(session, NOW)
    assert [(s.day, s.equity, s.net_flow_usd) for s in _snapshots(session, book.id)] == first
    assert [day for day, _, _ in first] == [YESTERDAY, NOW.date()]
    accounts = len(session.exec(select(CtAccount.id)).all())
    assert len(session.exec(select(ImpactFactorHistory)).all()) == 2 * accounts  # one row per computation


def test_impact_factor_comes_from_reference_books_only(session, factory):
    caller, quiet, other = factory.ct_account(), factory.ct_account(), factory.ct_account()
    agent, agent2 = factory.agent(follows=[caller]), factory.agent(follows=[caller])
    book = ensure_reference_book(session, agent, capital=D("10000"), now=_at(100))
    book2 = ensure_reference_book(session, agent2, capital=D("10000"), now=_at(100))
    session.commit()
    posts = [factory.post(caller, posted_at=_at(d)) for d in (10, 20, 30)]
    old_post = factory.post(caller, posted_at=_at(120))  # outside the 90-day window
    for post, pnl in zip(posts, ("60", "30", "-30"), strict=True):
        # 0.01 BTC at 60,000: $600 notional, so +60 is +10%
        _closed(
            factory, book, pnl, post.posted_at + timedelta(hours=6), signal_id=factory.signal(agent, post).id
        )
    # The same post traded by a second reference book: still one call, its outcome the mean of the two.
    _closed(
        factory,
        book2,
        "0",
        posts[0].posted_at + timedelta(hours=6),
        signal_id=factory.signal(agent2, posts[0]).id,
    )
    _closed(
        factory,
        book,
        "600",
        old_post.posted_at + timedelta(hours=6),
        signal_id=factory.signal(agent, old_post).id,
    )
    # A follower's sybil wins on the account's posts: not a reference book, so ignored.
    follower = factory.paper_deployment(agent)
    for post in posts:
        _closed(
            factory,
            follower,
            "600",
            post.posted_at + timedelta(hours=1),
            signal_id=factory.signal(agent, post, token="ETH").id,
        )
    other_post = factory.post(other, posted_at=_at(5))
    _closed(factory, follower, "600", _at(4), signal_id=factory.signal(agent, other_post, token="SOL").id)

    assert refresh_impact_factors(session, NOW) >= 3
    session.commit()
    session.expire_all()
    # calls: +5% (mean of +10% and 0), +5%, -5% → mean +1.6667% → 0.16667 on the 10% scale, x 3/(3+5)
    assert (
        session.get(CtAccount, caller.id).impact_factor,
        session.get(CtAccount, caller.id).impact_calls,
    ) == (
        D("0.0625"),
        3,
    )
    assert (
        session.get(CtAccount, other.id).impact_factor,
        session.get(CtAccount, other.id).impact_calls,
    ) == (0, 0)
    assert session.get(CtAccount, quiet.id).impact_calls == 0
    history = session.exec(
        select(ImpactFactorHistory).where(ImpactFactorHistory.ct_account_id == caller.id)
    ).all()
    assert [(h.impact_factor, h.sample_size) for h in history] == [(D("0.0625"), 3)]
