"""Agent figures computed from closed positions and cached on the agent row, on both databases."""

from datetime import timedelta
from decimal import Decimal as D

from backend.metrics.service import refresh_agent_metrics, refresh_all_agent_metrics
from backend.models import Agent
from backend.models.common import utcnow
from backend.models.enums import PositionStatus


def test_agent_without_trades_has_no_figures(session, factory):
    agent = factory.agent()
    factory.deployment(agent)
    figures = refresh_agent_metrics(session, agent.id)
    assert figures.trades_count == 0
    assert figures.apr_30d is None and figures.sharpe_30d is None and figures.win_rate is None


def test_figures_from_closed_positions_across_deployments(session, factory):
    agent = factory.agent()
    a = factory.deployment(agent, capital_usd=D("6000"))
    b = factory.deployment(agent, capital_usd=D("4000"))
    now = utcnow()
    factory.closed_position(a, D("300"), days_ago=2)
    factory.closed_position(b, D("-100"), days_ago=5)
    factory.closed_position(a, D("200"), days_ago=40)  # outside the 30-day window
    # An open position and a position of another agent do not count.
    factory.closed_position(a, D("0"), status=PositionStatus.OPEN, realized_pnl=None)
    factory.closed_position(factory.deployment(factory.agent()), D("999"))

    figures = refresh_agent_metrics(session, agent.id, now=now)
    assert figures.trades_count == 3
    assert figures.win_rate == D("0.6667")
    assert figures.total_pnl == D("400.00")
    # 30 days: (300 - 100) / 10000 over 30 days → 0.02/30*365*100 = 24.3333%
    assert figures.apr_30d == D("24.3333")
    assert figures.sharpe_30d is not None and figures.sharpe_30d > 0
    assert figures.max_drawdown == D("0.0098")  # the -100 after +200: 100/10200

    stored = session.get(Agent, agent.id)
    session.refresh(stored)
    assert stored.apr_30d == D("24.3333") and stored.trades_count == 3
    assert stored.metrics_updated_at is not None


def test_refresh_all_is_repeatable(session, factory):
    agent = factory.agent()
    factory.closed_position(factory.deployment(agent), D("50"), days_ago=1)
    now = utcnow() + timedelta(seconds=1)
    assert refresh_all_agent_metrics(session, now=now) == 1
    first = session.get(Agent, agent.id).apr_30d
    refresh_all_agent_metrics(session, now=now)
    assert session.get(Agent, agent.id).apr_30d == first
