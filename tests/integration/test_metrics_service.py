"""Agent figures from the reference book only, cached on the agent row; followers apart. Both databases."""

from datetime import timedelta
from decimal import Decimal as D

from backend.agents.reference import ensure_reference_book
from backend.agents.service import get_agent
from backend.metrics.service import (
    compute_agent_figures,
    follower_results,
    rebuild_all,
    refresh_agent_metrics,
    refresh_all_agent_metrics,
)
from backend.metrics.track import NO_TRACK, track_record
from backend.models import Agent
from backend.models.common import utcnow
from backend.models.enums import CloseReason, PositionStatus

CAPITAL = D("10000")


def _book(session, agent, days_ago: int = 60):
    book = ensure_reference_book(session, agent, capital=CAPITAL, now=utcnow() - timedelta(days=days_ago))
    session.commit()
    return book


def test_agent_without_a_reference_book_or_trades_has_no_figures(session, factory):
    agent = factory.agent()
    factory.closed_position(factory.deployment(agent), D("500"))  # a follower's trade: not the agent's
    figures = refresh_agent_metrics(session, agent.id)
    assert figures.trades_count == 0
    assert figures.apr_30d is None and figures.sharpe_30d is None and figures.win_rate is None
    _book(session, agent)
    assert refresh_agent_metrics(session, agent.id).trades_count == 0


def test_figures_are_fractions_from_the_reference_book(session, factory):
    agent = factory.agent()
    book = _book(session, agent)
    now = utcnow()
    factory.closed_position(book, D("300"), days_ago=2)
    factory.closed_position(book, D("-100"), days_ago=5)
    factory.closed_position(book, D("200"), days_ago=40)  # outside the 30-day window
    factory.closed_position(book, D("0"), status=PositionStatus.OPEN, realized_pnl=None)  # open: no count
    factory.closed_position(factory.deployment(factory.agent()), D("999"))  # another agent's

    figures = refresh_agent_metrics(session, agent.id, now=now)
    assert figures.trades_count == 3
    assert figures.win_rate == D("0.666667")
    assert figures.total_pnl == D("400.00")
    assert figures.profit_factor == D("5")  # (300 + 200) / 100
    # 30 days of time-weighted returns on 10,200 then 10,100: (-100/10200 + 300/10100) / 30 * 365
    expected = (D("-100") / D("10200") + D("300") / D("10100")) / 30 * 365
    assert abs(figures.apr_30d - expected) < D("0.000001")
    assert D("0") < figures.apr_30d < D("1")  # a fraction: 24%, never 24
    assert figures.sharpe_30d > 0 and figures.sortino_30d > figures.sharpe_30d
    assert figures.max_drawdown == (D("100") / D("10200")).quantize(D("0.000001"))

    stored = session.get(Agent, agent.id)
    session.refresh(stored)
    assert (stored.apr_30d, stored.sortino_30d, stored.profit_factor) == (
        figures.apr_30d,
        figures.sortino_30d,
        figures.profit_factor,
    )
    assert stored.metrics_updated_at is not None


def test_sybil_followers_change_none_of_the_agents_figures(session, factory):
    """Forty paper deployments with a tiny take-profit and their own wins move no figure of the agent."""
    agent = factory.agent()
    book = _book(session, agent)
    factory.closed_position(book, D("120"), days_ago=3)
    factory.closed_position(book, D("-80"), days_ago=9)
    factory.closed_position(book, D("45"), days_ago=20)
    now = utcnow()
    before = compute_agent_figures(session, agent.id, now)

    attacker = factory.user()
    for i in range(40):
        sybil = factory.paper_deployment(agent, attacker, balance=D("100"), take_profit=D("0.0005"))
        for j in range(3):
            factory.closed_position(
                sybil, D("0.05"), days_ago=1 + j, close_reason=CloseReason.TAKE_PROFIT, market="ETH"
            )
        if i % 10 == 0:
            factory.closed_position(sybil, D("-9"), days_ago=2, status=PositionStatus.OPEN, realized_pnl=None)

    assert compute_agent_figures(session, agent.id, now) == before
    refresh_all_agent_metrics(session, now=now)
    stored = session.get(Agent, agent.id)
    session.refresh(stored)
    assert (stored.trades_count, stored.win_rate, stored.apr_30d, stored.total_pnl, stored.volume_usd) == (
        before.trades_count,
        before.win_rate,
        before.apr_30d,
        before.total_pnl,
        before.volume_usd,
    )
    followers = follower_results(session, agent.id)
    assert followers.deployments == 40
    assert followers.realized_pnl == D("6.00")  # 40 x 3 x 0.05, the reference book's 85 not in it
    detail = get_agent(session, agent.id)  # the agent page: the book's figures, followers apart
    assert (detail.apr_30d, detail.win_rate, detail.trades_count) == (
        before.apr_30d,
        before.win_rate,
        before.trades_count,
    )
    assert (detail.follower_deployments, detail.follower_realized_pnl) == (40, D("6.00"))
    assert detail.active_deployments == 40  # the reference book is not a follower's deployment


def test_rebuild_all_is_repeatable_and_takes_an_optional_progress(session, factory):
    agent = factory.agent()
    factory.closed_position(_book(session, agent), D("50"), days_ago=1)
    now = utcnow() + timedelta(seconds=1)
    assert rebuild_all(session, now) == 1
    first = session.get(Agent, agent.id).apr_30d
    heard = []
    assert rebuild_all(session, now, progress=lambda done, total, stage: heard.append((done, total, stage)))
    assert session.get(Agent, agent.id).apr_30d == first
    assert heard[-1] == (1, 1, "impact factors")


def test_track_record_draws_the_reference_curve_its_drawdown_and_average_win_and_loss(session, factory):
    agent = factory.agent()
    assert track_record(session, agent.id, now=utcnow()) == NO_TRACK  # no reference book yet
    book = _book(session, agent)
    factory.closed_position(book, D("-500"), days_ago=5)
    factory.closed_position(book, D("1000"), days_ago=4)
    factory.closed_position(book, D("300"), days_ago=3)
    factory.closed_position(book, D("-100"), days_ago=2)
    factory.closed_position(factory.deployment(agent), D("-9000"))  # a follower's: not the agent's record

    track = track_record(session, agent.id, now=utcnow())
    assert track.has_curve
    assert track.average_win == D("650.00") and track.average_loss == D("-300.00")
    assert len(track.drawdown) == len(track.curve.points)
    assert track.drawdown[0] == 0  # the capital is the first peak
    # 10,000 -> 9,500 is the deepest fall (5%); 10,800 -> 10,700 later is under 1%.
    assert max(track.drawdown) == D("0.05")
    assert track.drawdown[-1] == (D("100") / D("10800"))
