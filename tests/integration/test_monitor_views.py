"""The dashboard's and the monitor page's reads: position charts, equity curves, monitor health.

On SQLite and PostgreSQL, from rows as the monitor writes them (ticks, trailing highs, closes, cycles, audit).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlmodel import Session

from backend import audit
from backend.agents.reference import ensure_reference_book
from backend.auth.identity import CurrentUser
from backend.models import Agent, AgentDeployment, BillingEvent, MarketTick, MonitorCycle, Position, User
from backend.models.common import utcnow
from backend.models.enums import BillingKind, CloseReason, ExecutionVenue, PositionStatus, Role, Side
from backend.monitor.charts import (
    PositionNotFound,
    dashboard_charts,
    downsample,
    position_chart,
    recent_closes,
)
from backend.monitor.equity import equity_curves
from backend.monitor.health import VENUE_WEIGHT_PER_MINUTE, monitor_health
from maxxit_ui.state.dashboard import position_card
from maxxit_ui.state.deployments import position_row, read_positions
from tests.factories import Factory

STEP = timedelta(seconds=5)


def _me(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def _now() -> datetime:
    return utcnow().replace(microsecond=0)


def _position(session: Session, deployment: AgentDeployment, **kw) -> Position:
    kw.setdefault("venue", ExecutionVenue.PAPER)
    kw.setdefault("market", "ETH")
    kw.setdefault("side", Side.LONG)
    kw.setdefault("size", Decimal("2"))
    kw.setdefault("leverage", Decimal("3"))
    kw.setdefault("entry_price", Decimal("100"))
    kw.setdefault("entry_fee", Decimal("0.09"))
    position = Position(deployment_id=deployment.id, **kw)
    session.add(position)
    session.commit()
    session.refresh(position)
    return position


def _ticks(
    session: Session, start: datetime, prices: list[str], *, market: str = "ETH", venue: str = "PAPER"
):
    for i, price in enumerate(prices):
        session.add(MarketTick(venue=venue, market=market, at=start + STEP * (i + 1), price=Decimal(price)))
    session.commit()


@pytest.fixture
def trader(factory: Factory) -> tuple[User, Agent, AgentDeployment]:
    """A trader with a paper deployment of an agent on the default exits (10% stop, trail 1% from +3%)."""
    user = factory.user()
    agent = factory.agent(take_profit=None)
    return user, agent, factory.deployment(agent, user, capital_usd=Decimal("5000"))


# -- position charts -----------------------------------------------------------------------------------------


def test_a_long_chart_steps_its_stop_up_when_the_trailing_stop_arms(session: Session, trader) -> None:
    user, _, deployment = trader
    now = _now()
    opened = now - timedelta(minutes=5)
    position = _position(session, deployment, opened_at=opened, trailing_high=Decimal("106"))
    _ticks(session, opened, ["101", "102.5", "99", "103", "104", "106", "105", "104.5"])
    # Not this position's: before it opened, another market, another venue, after now.
    session.add(MarketTick(venue="PAPER", market="ETH", at=opened - STEP, price=Decimal("150")))
    session.add(MarketTick(venue="PAPER", market="BTC", at=opened + STEP, price=Decimal("150")))
    session.add(MarketTick(venue="HYPERLIQUID", market="ETH", at=opened + STEP, price=Decimal("150")))
    session.add(MarketTick(venue="PAPER", market="ETH", at=now + STEP, price=Decimal("150")))
    session.commit()

    chart = position_chart(session, position.id, _me(user), now=now)

    assert [p.price for p in chart.points] == [
        Decimal(x) for x in ("101", "102.5", "99", "103", "104", "106", "105", "104.5")
    ]
    stops = [p.stop for p in chart.points]
    assert stops[:3] == [Decimal("90")] * 3  # the hard stop until the best price is 3% up
    assert stops[3] == Decimal("103") * Decimal("0.99")  # armed: 1% behind the best price
    assert stops[5:] == [Decimal("106") * Decimal("0.99")] * 3
    assert all(a <= b for a, b in pairwise(stops))  # never loosens
    assert [p.best for p in chart.points][-1] == Decimal("106")
    assert chart.best_price == Decimal("106") and chart.trailing_armed
    assert chart.stop_price == Decimal("104.94")
    assert chart.last_price == Decimal("104.5") and chart.last_at == opened + STEP * 8
    assert chart.unrealized_pnl == Decimal("9.0")  # (104.5 - 100) * 2
    assert chart.unrealized_return == Decimal("0.135")  # a 4.5% move at 3x
    assert chart.exit_price is None and chart.exit_at is None and chart.status == PositionStatus.OPEN


def test_a_short_chart_stop_only_moves_down(session: Session, trader) -> None:
    user, _, deployment = trader
    now = _now()
    opened = now - timedelta(minutes=5)
    position = _position(session, deployment, side=Side.SHORT, opened_at=opened)
    _ticks(session, opened, ["101", "98", "96.5", "97", "95", "96"])

    chart = position_chart(session, position.id, _me(user), now=now)

    stops = [p.stop for p in chart.points]
    assert stops[:2] == [Decimal("110")] * 2
    assert stops[2] == Decimal("96.5") * Decimal("1.01")
    assert all(a >= b for a, b in pairwise(stops))
    assert chart.best_price == Decimal("95") and chart.stop_price == Decimal("95.95")
    assert chart.unrealized_pnl == Decimal("8")  # (100 - 96) * 2 for a short


def test_a_position_the_monitor_saw_further_than_its_ticks_uses_the_stored_best(
    session: Session, trader
) -> None:
    user, _, deployment = trader
    now = _now()
    position = _position(
        session, deployment, opened_at=now - timedelta(minutes=1), trailing_high=Decimal("110")
    )
    _ticks(session, now - timedelta(minutes=1), ["101", "102"])
    chart = position_chart(session, position.id, _me(user), now=now)
    assert chart.best_price == Decimal("110") and chart.stop_price == Decimal("108.90")


def test_a_closed_chart_ends_at_its_exit(session: Session, trader) -> None:
    user, _, deployment = trader
    now = _now()
    opened = now - timedelta(minutes=10)
    closed = opened + STEP * 6
    position = _position(
        session,
        deployment,
        opened_at=opened,
        status=PositionStatus.CLOSED,
        exit_price=Decimal("104.9"),
        exit_fee=Decimal("0.1"),
        realized_pnl=Decimal("9.61"),
        close_reason=CloseReason.TRAILING_STOP,
        closed_at=closed,
        trailing_high=Decimal("106"),
    )
    _ticks(session, opened, ["102", "104", "106", "105.5", "105", "104.9", "90", "80"])  # the last two after

    chart = position_chart(session, position.id, _me(user), now=now)

    assert chart.points[-1].at == closed and chart.points[-1].price == Decimal("104.9")
    assert all(p.at <= closed for p in chart.points) and len(chart.points) == 6
    assert (chart.exit_at, chart.exit_price) == (closed, Decimal("104.9"))
    assert chart.close_reason == CloseReason.TRAILING_STOP and chart.realized_pnl == Decimal("9.61")
    assert chart.stop_price == Decimal("104.94") and chart.points[-1].stop == Decimal("104.94")
    assert chart.unrealized_pnl is None and chart.unrealized_return is None
    assert (chart.entry_fee, chart.exit_fee) == (Decimal("0.09"), Decimal("0.1"))


def test_someone_elses_position_and_an_unknown_one_are_not_found(
    session: Session, factory: Factory, trader
) -> None:
    user, _, deployment = trader
    position = _position(session, deployment, opened_at=_now())
    stranger = factory.user()
    with pytest.raises(PositionNotFound):
        position_chart(session, position.id, _me(stranger), now=_now())
    with pytest.raises(PositionNotFound):
        position_chart(session, position.id + 1000, _me(user), now=_now())
    assert position_chart(session, position.id, _me(user), now=_now()).points == ()  # no tick yet


def test_a_long_history_is_downsampled_keeping_its_ends_and_extremes(session: Session, trader) -> None:
    user, _, deployment = trader
    now = _now()
    opened = now - STEP * 1201
    position = _position(session, deployment, opened_at=opened)
    prices = [str(100 + (i % 50) / 10) for i in range(1200)]
    prices[700] = "130"  # one spike: it arms the trailing stop far up
    prices[900] = "95.5"
    _ticks(session, opened, prices)

    chart = position_chart(session, position.id, _me(user), now=now, max_points=100)

    assert chart.ticks_seen == 1200 and len(chart.points) <= 100
    drawn = [p.price for p in chart.points]
    assert chart.points[0].at == opened + STEP and chart.points[-1].at == opened + STEP * 1200
    assert Decimal("130") in drawn and Decimal("95.5") in drawn
    assert chart.stop_price == Decimal("128.70") == chart.points[-1].stop
    assert all(a.stop <= b.stop and a.at < b.at for a, b in pairwise(chart.points))
    with pytest.raises(ValueError):
        position_chart(session, position.id, _me(user), now=now, max_points=3)


def test_a_history_decimated_by_the_database_agrees_with_the_walk_over_every_tick(
    session: Session, trader
) -> None:
    """Past a few ticks per point the database decimates: same ends, extremes and current stop."""
    user, _, deployment = trader
    now = _now()
    opened = now - STEP * 3001
    position = _position(session, deployment, opened_at=opened)
    rng = random.Random(5)
    prices, price = [], Decimal(100)
    for _ in range(3000):
        price = (price * (1 + Decimal(rng.randint(-30, 31)) / 10_000)).quantize(Decimal("0.0001"))
        prices.append(str(price))
    _ticks(session, opened, prices)

    exact = position_chart(session, position.id, _me(user), now=now, max_points=750)  # 3000 <= 4 * 750
    decimated = position_chart(session, position.id, _me(user), now=now, max_points=120)

    assert exact.ticks_seen == decimated.ticks_seen == 3000
    assert len(exact.points) <= 750 and len(decimated.points) <= 120
    drawn = [p.price for p in decimated.points]
    assert max(drawn) == max(Decimal(p) for p in prices) and min(drawn) == min(Decimal(p) for p in prices)
    assert decimated.points[0].at == opened + STEP and decimated.points[-1].at == opened + STEP * 3000
    assert (decimated.stop_price, decimated.best_price, decimated.last_price) == (
        exact.stop_price,
        exact.best_price,
        exact.last_price,
    )
    # Every drawn stop is at most one bucket late, never ahead of the stop the monitor had at that time.
    truth = {
        p.at: p.stop for p in position_chart(session, position.id, _me(user), now=now, max_points=3000).points
    }
    assert all(p.stop <= truth[p.at] for p in decimated.points)
    assert all(a.stop <= b.stop for a, b in pairwise(decimated.points))


def test_downsample_keeps_everything_when_few() -> None:
    prices = [Decimal(i) for i in range(10)]
    assert downsample(prices, 10) == list(range(10))
    kept = downsample([Decimal(i % 7) for i in range(1000)], 20)
    assert len(kept) <= 20 and kept[0] == 0 and kept[-1] == 999


def test_the_dashboard_charts_open_closing_and_recently_closed_positions(
    session: Session, factory: Factory, trader
) -> None:
    user, agent, deployment = trader
    tight = factory.deployment(agent, user, stoploss=Decimal("0.05"))  # overrides the agent's 10%
    now = _now()
    old = _position(session, deployment, opened_at=now - timedelta(hours=5))
    closing = _position(
        session, tight, opened_at=now - timedelta(hours=4), status=PositionStatus.CLOSING, market="BTC"
    )
    recent = factory.closed_position(deployment, Decimal("5"), days_ago=0.005)  # 7 minutes ago
    newer = factory.closed_position(
        deployment, Decimal("5"), days_ago=0.001, opened_at=now - timedelta(days=2)
    )
    factory.closed_position(deployment, Decimal("5"), days_ago=0.5)  # long gone from the dashboard
    _position(session, factory.deployment(agent), opened_at=now)  # someone else's

    charts = dashboard_charts(session, _me(user), now=now, closed_since=now - timedelta(hours=1))

    assert [c.position_id for c in charts] == [closing.id, old.id, newer.id, recent.id]
    assert [c.status for c in charts][:2] == [PositionStatus.CLOSING, PositionStatus.OPEN]  # at risk first
    assert {c.status for c in charts[2:]} == {PositionStatus.CLOSED}  # then by their close, newest first
    assert charts[0].hard_stop == charts[0].stop_price == Decimal("95.00")  # the deployment's 5%
    assert charts[1].hard_stop == Decimal("90.0") and charts[1].agent_name == agent.name
    assert charts[3].exit_price == recent.exit_price and charts[3].exit_at == recent.closed_at


def test_recent_closes_list_exit_pnl_fees_and_reason(session: Session, factory: Factory, trader) -> None:
    user, _, deployment = trader
    first = factory.closed_position(deployment, Decimal("-8"), days_ago=3, entry_fee=Decimal("0.3"))
    last = factory.closed_position(
        deployment, Decimal("12"), days_ago=1, exit_fee=Decimal("0.25"), close_reason=CloseReason.MANUAL
    )
    factory.closed_position(factory.deployment(factory.agent()), Decimal("99"))  # another trader's
    _position(session, deployment, opened_at=_now())  # still open
    session.add(
        BillingEvent(
            idempotency_key=f"fee-{last.id}",
            kind=BillingKind.TRADE_FEE,
            user_id=user.id,
            deployment_id=deployment.id,
            position_id=last.id,
            amount=Decimal("0.20"),
        )
    )
    session.commit()

    closes = recent_closes(session, _me(user))

    assert [c.position_id for c in closes] == [last.id, first.id]
    assert closes[0].close_reason == CloseReason.MANUAL and closes[0].realized_pnl == Decimal("12")
    assert (closes[0].figures.venue_fees, closes[0].figures.platform_fee) == (
        Decimal("0.25"),
        Decimal("0.20"),
    )
    assert (closes[1].figures.venue_fees, closes[1].figures.platform_fee) == (Decimal("0.3"), Decimal(0))
    assert closes[0].figures.net_pnl == closes[0].figures.gross_pnl - Decimal("0.45")
    assert closes[1].close_reason == CloseReason.STOP_LOSS and closes[1].exit_price == Decimal("59200")
    assert [c.position_id for c in recent_closes(session, _me(user), limit=1)] == [last.id]


# -- equity curves ------------------------------------------------------------------------------------------


def test_equity_curves_add_up(session: Session, factory: Factory, trader) -> None:
    user, agent, paper = trader
    other_paper = factory.deployment(agent, user, capital_usd=Decimal("1000"))
    hyper = factory.deployment(agent, user, venue=ExecutionVenue.HYPERLIQUID, capital_usd=Decimal("0"))
    stranger = factory.deployment(agent, factory.user(), capital_usd=Decimal("777"))
    now = _now()
    for deployment, at in ((paper, 30), (other_paper, 20), (hyper, 10)):
        deployment.created_at = now - timedelta(days=at)
        session.add(deployment)
    session.commit()
    factory.closed_position(paper, Decimal("50"), days_ago=25)
    factory.closed_position(paper, Decimal("-20"), days_ago=5)
    factory.closed_position(other_paper, Decimal("12.5"), days_ago=15)
    factory.closed_position(hyper, Decimal("7"), days_ago=2, venue=ExecutionVenue.HYPERLIQUID)
    factory.closed_position(stranger, Decimal("1000"), days_ago=2)
    _position(session, paper, opened_at=now - timedelta(hours=1))  # long 2 ETH from 100
    _position(session, hyper, venue=ExecutionVenue.HYPERLIQUID, side=Side.SHORT, opened_at=now)
    _position(session, other_paper, market="SOL", opened_at=now)  # no SOL tick yet: flat
    _ticks(session, now - timedelta(minutes=2), ["101", "103"])  # PAPER ETH: last 103
    _ticks(session, now - timedelta(minutes=2), ["98"], venue="HYPERLIQUID")
    _position(
        session,
        paper,
        status=PositionStatus.CLOSING,
        close_reason=CloseReason.MANUAL,
        opened_at=now,
        size=Decimal("1"),
    )

    curves = equity_curves(session, _me(user), now=now)

    by_id = {c.deployment_id: c for c in curves.deployments}
    assert [c.deployment_id for c in curves.deployments] == [hyper.id, other_paper.id, paper.id]
    assert stranger.id not in by_id
    p = by_id[paper.id]
    assert [pt.equity for pt in p.points] == [Decimal(5000), Decimal(5050), Decimal(5030), Decimal(5039)]
    assert [pt.kind for pt in p.points] == ["start", "close", "close", "now"]
    assert p.unrealized_pnl == Decimal(9) and p.open_positions == 2  # (103-100)*2 + (103-100)*1
    assert p.points[-1].at == now and p.equity == Decimal(5039) and p.capital_known
    h = by_id[hyper.id]
    assert h.capital == 0 and not h.capital_known
    assert [pt.equity for pt in h.points] == [Decimal(0), Decimal(7), Decimal(11)]  # short 2 from 100 at 98
    o = by_id[other_paper.id]
    assert o.unrealized_pnl == 0 and o.open_positions == 1 and o.equity == Decimal("1012.5")

    account = curves.account
    assert account.capital == Decimal(6000) and not account.capital_known
    assert account.realized_pnl == sum(c.realized_pnl for c in curves.deployments) == Decimal("49.5")
    assert account.unrealized_pnl == Decimal(13) and account.open_positions == 4
    assert account.equity == sum(c.equity for c in curves.deployments) == Decimal("6062.5")
    assert account.points[0] == p.points[0] and account.points[-1].equity == account.equity
    assert [pt.at for pt in account.points] == sorted(pt.at for pt in account.points)
    # Every step of the account is the sum of the deployments' curves at that moment.
    for point in account.points[:-1]:
        at_point = [[q for q in c.points if q.at <= point.at and q.kind != "now"] for c in curves.deployments]
        assert point.equity == sum((qs[-1].equity for qs in at_point if qs), Decimal(0))


def test_a_new_deployment_is_a_deposit_not_growth(session: Session, factory: Factory) -> None:
    """$10k earns 1%, then a second $10k paper deployment: the account made $100 and 1%, not +100%."""
    user, agent = factory.user(), factory.agent()
    now = _now()
    first = factory.deployment(agent, user, capital_usd=Decimal("10000"), created_at=now - timedelta(days=10))
    factory.closed_position(first, Decimal("100"), days_ago=5)
    factory.deployment(agent, user, capital_usd=Decimal("10000"), created_at=now - timedelta(days=1))
    ensure_reference_book(session, agent, capital=Decimal("10000"), now=now - timedelta(days=20))
    session.commit()

    curves = equity_curves(session, _me(user), now=now)
    assert len(curves.deployments) == 2  # the agent's reference book is the platform's, never listed
    account = curves.account
    assert account.equity == Decimal("20100")
    assert [pt.pnl for pt in account.points] == [0, Decimal(100), Decimal(100), Decimal(100)]
    assert account.twr == Decimal("0.01")
    assert [c.twr for c in curves.deployments] == [0, Decimal("0.01")]


def test_an_account_without_deployments_has_flat_curves(session: Session, factory: Factory) -> None:
    curves = equity_curves(session, _me(factory.user()), now=_now())
    assert curves.deployments == () and curves.account.points == () and curves.account.equity == 0


# -- monitor health ------------------------------------------------------------------------------------------


def _cycle(session: Session, at: datetime, ms: str, requests: int = 1, **kw) -> None:
    session.add(
        MonitorCycle(started_at=at, duration_ms=Decimal(ms), venue_requests=requests, holder="test", **kw)
    )


def test_monitor_health_reads_the_last_cycles_and_the_findings(session: Session) -> None:
    now = _now()
    for i, ms in enumerate(["12.5", "30", "8", "950", "20"]):
        _cycle(session, now - timedelta(seconds=5 * i + 2), ms, requests=2, positions_watched=7 - i)
    _cycle(session, now - timedelta(minutes=5), "5000", requests=100, venue_errors=3)  # older than a minute
    _cycle(session, now + timedelta(seconds=5), "1", requests=100)  # after `now`: not yet
    audit.record(
        session, action="reconcile.discovered", entity_type="position", entity_id=9, details={"m": "ETH"}
    )
    audit.record(session, action="reconcile.size_corrected", entity_type="position", entity_id=3)
    audit.record(session, action="auth.sign_in", entity_type="user", entity_id=1)
    session.commit()

    health = monitor_health(session, now=now, budget_per_minute=240, sample=5)

    assert health.last_cycle_at == now - timedelta(seconds=2) and health.last_cycle_age == timedelta(
        seconds=2
    )
    assert not health.stale and health.positions_watched == 7
    assert health.cycles_sampled == 5
    assert health.median_duration_ms == Decimal("20") and health.max_duration_ms == Decimal("950")
    assert health.cycles_last_minute == 5 and health.venue_requests_per_minute == 10
    assert health.venue_errors_per_minute == 0
    assert health.budget_used == Decimal(10) / 240
    assert health.venue_limit_per_minute == VENUE_WEIGHT_PER_MINUTE == 1200
    assert {f.action for f in health.findings} == {"reconcile.discovered", "reconcile.size_corrected"}
    discovered = next(f for f in health.findings if f.action == "reconcile.discovered")
    assert discovered.entity_id == "9" and discovered.details == {"m": "ETH"}

    # Half a minute on, the cycle after `now` counts too; ten minutes on, nothing has run for a while.
    later = monitor_health(session, now=now + timedelta(seconds=30), budget_per_minute=240)
    assert later.venue_requests_per_minute == 110 and later.cycles_last_minute == 6 and not later.stale
    quiet = monitor_health(session, now=now + timedelta(minutes=10), budget_per_minute=240)
    assert quiet.stale and quiet.venue_requests_per_minute == 0 and quiet.last_cycle_at == now + STEP


def test_monitor_health_before_any_cycle(session: Session) -> None:
    health = monitor_health(session, now=_now(), budget_per_minute=240)
    assert health.last_cycle_at is None and health.stale and health.median_duration_ms is None
    assert health.findings == () and health.venue_requests_per_minute == 0
    with pytest.raises(ValueError):
        monitor_health(session, now=_now(), budget_per_minute=0)


def test_a_refused_close_reaches_the_trader_and_the_operators(
    session: Session, factory: Factory, trader
) -> None:
    """What the dashboard, /deployments and /admin/monitor read of a close the venue refused."""
    user, agent, deployment = trader
    now = _now()
    reason = "User or API Wallet 0xabc does not exist."
    refused = _position(
        session,
        deployment,
        venue=ExecutionVenue.HYPERLIQUID,
        status=PositionStatus.CLOSING,
        close_reason=CloseReason.STOP_LOSS,
        close_error=reason,
        close_attempts=4,
        next_close_attempt_at=now + timedelta(seconds=40),
    )
    other = factory.deployment(agent)  # someone else's, refused less often
    theirs = _position(session, other, status=PositionStatus.CLOSING, close_error="margin", close_attempts=1)
    _position(session, deployment, status=PositionStatus.CLOSING, market="BTC")  # closing, not refused
    _position(session, deployment, market="SOL")  # open

    [chart] = [c for c in dashboard_charts(session, _me(user), now=now, closed_since=now) if c.close_error]
    card = position_card(chart)
    assert chart.position_id == refused.id and chart.close_attempts == 4
    assert (card["status"], card["status_label"], card["status_color"]) == ("closing", "Close refused", "red")
    assert card["notice"] == f"Close refused by the venue: {reason}; retrying"

    rows = {r["id"]: r for r in map(position_row, read_positions(session, _me(user), "", "open"))}
    assert (
        rows[str(refused.id)]["notice"] == card["notice"]
        and rows[str(refused.id)]["status"] == "Close refused"
    )
    assert {r["notice"] for i, r in rows.items() if i != str(refused.id)} == {""}

    health = monitor_health(session, now=now, budget_per_minute=240)
    assert [r.position_id for r in health.needs_attention] == [refused.id, theirs.id]  # most attempts first
    first = health.needs_attention[0]
    assert (first.user_id, first.user_address, first.venue, first.market) == (
        user.id,
        user.address,
        "HYPERLIQUID",
        "ETH",
    )
    assert (first.reason, first.attempts, first.next_attempt_at) == (reason, 4, now + timedelta(seconds=40))
