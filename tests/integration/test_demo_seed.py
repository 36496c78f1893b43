"""The demo seed: idempotent, and its figures are what the positions say."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import func, select

from backend.agents.schemas import AgentQuery
from backend.agents.service import list_agents
from backend.demo import catalog
from backend.demo.seed import seed_demo
from backend.metrics.service import compute_agent_figures
from backend.models import (
    Agent,
    AgentAccount,
    AgentDeployment,
    BillingEvent,
    CtAccount,
    CtPost,
    PaperAccount,
    Position,
    Signal,
)
from backend.models.enums import BillingKind, PositionStatus, Side
from backend.monitor.reconcile import reconcile_deployment
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues.paper import PaperVenue

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _counts(session):
    return tuple(
        session.exec(select(func.count()).select_from(model)).one()
        for model in (Agent, CtPost, Signal, Position, BillingEvent)
    )


def test_seed_is_idempotent_and_honest(session):
    first = seed_demo(session, now=NOW)
    assert first.agents_created == len(catalog.AGENTS) and first.positions_created > 500
    counts = _counts(session)

    again = seed_demo(session, now=NOW)
    assert again.agents_created == 0 and again.agents_skipped == len(catalog.AGENTS)
    assert _counts(session) == counts

    # Every closed position's PnL is its price move times size, less both fees.
    for p in session.exec(select(Position).where(Position.status == PositionStatus.CLOSED).limit(200)).all():
        sign = 1 if p.side == Side.LONG else -1
        expected = sign * (p.exit_price - p.entry_price) * p.size - p.entry_fee - p.exit_fee
        assert abs(p.realized_pnl - expected) <= Decimal("0.00001")
        assert p.close_reason is not None and p.closed_at > p.opened_at

    # Cached marketplace figures equal a fresh computation from the positions.
    for agent in session.exec(select(Agent)).all():
        fresh = compute_agent_figures(session, agent.id, NOW)
        assert (agent.trades_count, agent.apr_30d, agent.sharpe_30d) == (
            fresh.trades_count,
            fresh.apr_30d,
            fresh.sharpe_30d,
        )

    # One trade fee per position; profit share only on profitable closes.
    trade_fees = session.exec(
        select(func.count()).select_from(BillingEvent).where(BillingEvent.kind == BillingKind.TRADE_FEE)
    ).one()
    assert trade_fees == session.exec(select(func.count()).select_from(Position)).one()
    winners = session.exec(select(func.count()).select_from(Position).where(Position.realized_pnl > 0)).one()
    shares = session.exec(
        select(func.count()).select_from(BillingEvent).where(BillingEvent.kind == BillingKind.PROFIT_SHARE)
    ).one()
    assert shares == winners

    # The paper venue's books carry on from the replay: cash is capital plus realised PnL less open fees.
    for deployment in session.exec(select(AgentDeployment).limit(20)).all():
        book = session.get(PaperAccount, deployment.id)
        positions = session.exec(select(Position).where(Position.deployment_id == deployment.id)).all()
        realized = sum((p.realized_pnl for p in positions if p.status == PositionStatus.CLOSED), Decimal(0))
        open_fees = sum((p.entry_fee for p in positions if p.status != PositionStatus.CLOSED), Decimal(0))
        assert book.cash == deployment.capital_usd + realized - open_fees

    # ... and its positions are ours exactly: reconciliation finds nothing to repair in any deployment.
    venue = PaperVenue(session.get_bind(), SimulatedPriceFeed(seed=7))
    for deployment in session.exec(select(AgentDeployment)).all():
        assert reconcile_deployment(session, deployment, venue, now=NOW) == [], deployment.id
    session.rollback()


def test_marketplace_shows_traded_and_untraded_agents(session):
    seed_demo(session, now=NOW)
    page = list_agents(session, AgentQuery(limit=100))
    assert page.total == len(catalog.AGENTS)
    untraded = [a for a in page.items if a.trades_count == 0]
    assert [a.name for a in untraded] == ["Fresh Agent (no trades yet)"]
    assert untraded[0].apr_30d is None
    assert {a.venue for a in page.items} >= {"SPOT", "GMX", "HYPERLIQUID", "OSTIUM", "MULTI"}
    deployments = session.exec(select(func.count()).select_from(AgentDeployment)).one()
    assert deployments == sum(spec.deployments for spec in catalog.AGENTS)


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
