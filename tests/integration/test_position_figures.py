"""One closed live position reads the same everywhere: every page and endpoint that shows its fees or PnL
shows the breakdown `backend.deployments.figures` gives (gross, venue fees, Maxxit's fee, profit share, net).

The position is a Hyperliquid-style one (a live venue, so it is billed): opened with a venue fee and the trade
fee, closed at a profit with a venue fee and the creator's profit share, through `record_close`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from backend.agents.service import get_agent
from backend.api import create_api
from backend.auth.identity import CurrentUser
from backend.auth.sessions import create_session
from backend.billing.trade_fee import charge_trade_fee
from backend.config import Settings
from backend.deployments.figures import position_breakdown
from backend.deployments.views import get_deployment, list_positions
from backend.models import BillingEvent, Position, User
from backend.models.common import utcnow
from backend.models.enums import (
    BillingKind,
    CloseReason,
    ExecutionVenue,
    PositionStatus,
    Role,
    Side,
    SignalStatus,
    Venue,
)
from backend.monitor.charts import position_chart, recent_closes
from backend.monitor.close import begin_close, record_close
from backend.monitor.equity import equity_curves
from backend.trading.fees import FeePolicy
from backend.venues.registry import VenueRegistry
from maxxit_ui.state.agent import _position as agent_position_row
from maxxit_ui.state.dashboard import closed_row, equity_card, position_card
from maxxit_ui.state.deployments import deployment_row, position_row

FEES = FeePolicy(trade_fee_usd=Decimal("0.20"), creator_share=Decimal("0.10"))
# 0.5 ETH long from 3000 to 3300: 150 gross; the venue took 0.675 in and 0.7425 out.
GROSS, ENTRY_FEE, EXIT_FEE = Decimal("150"), Decimal("0.675"), Decimal("0.7425")
REALISED = GROSS - ENTRY_FEE - EXIT_FEE  # 148.5825, what the venue account saw
SHARE = Decimal("14.858250")  # 10% of it, to the creator
NET = REALISED - Decimal("0.20") - SHARE  # 133.52425
FEES_TOTAL = ENTRY_FEE + EXIT_FEE + Decimal("0.20") + SHARE  # 16.47575
SHOWN_NET, SHOWN_FEES = "+$133.52", "$16.48"


@pytest.fixture
def client(engine: sa.Engine, api_settings: Settings) -> Iterator[TestClient]:
    app: FastAPI = create_api(engine=engine, settings=api_settings)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def headers(session: Session, api_settings: Settings) -> Callable[[User], dict[str, str]]:
    def make(user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_session(session, user.id, settings=api_settings).token}"}

    return make


def _closed_live_position(session: Session, factory) -> tuple[Position, User]:
    trader = factory.user()
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    deployment = factory.deployment(
        agent, trader, venue=ExecutionVenue.HYPERLIQUID, user_wallet="0x" + "ab" * 20, capital_usd=Decimal(0)
    )
    signal = factory.signal(agent, token="ETH", side=Side.LONG, status=SignalStatus.EXECUTED)
    opened_at = utcnow() - timedelta(hours=2)
    position = Position(
        deployment_id=deployment.id,
        signal_id=signal.id,
        venue=ExecutionVenue.HYPERLIQUID,
        market="ETH",
        side=Side.LONG,
        size=Decimal("0.5"),
        leverage=Decimal(3),
        entry_price=Decimal("3000"),
        trailing_high=Decimal("3000"),
        status=PositionStatus.OPEN,
        entry_fee=ENTRY_FEE,
        exit_fee=Decimal(0),
        client_order_id="0x" + "cd" * 16,
        opened_at=opened_at,
    )
    session.add(position)
    session.flush()
    charge_trade_fee(
        session,
        FEES,
        deployment=deployment,
        venue=ExecutionVenue.HYPERLIQUID,
        signal_id=signal.id,
        position_id=position.id,
        market="ETH",
    )
    session.commit()
    begin_close(session, position.id, CloseReason.TAKE_PROFIT)
    closed_at = utcnow() - timedelta(hours=1)
    record_close(session, position.id, Decimal("3300"), EXIT_FEE, None, FEES, closed_at)
    record_close(session, position.id, Decimal("3300"), EXIT_FEE, None, FEES, closed_at)  # a retry: no-op
    session.refresh(position)
    return position, trader


def test_a_closed_live_position_shows_the_same_breakdown_on_every_page_and_endpoint(
    session, factory, client, headers
) -> None:
    position, trader = _closed_live_position(session, factory)
    user = CurrentUser(trader.id, trader.address, Role.TRADER)
    billed = session.exec(
        select(BillingEvent.kind, func.count(), func.sum(BillingEvent.amount))
        .where(BillingEvent.position_id == position.id)
        .group_by(BillingEvent.kind)
    ).all()
    assert {str(k): (n, Decimal(a)) for k, n, a in billed} == {
        BillingKind.TRADE_FEE: (1, Decimal("0.20")),
        BillingKind.PROFIT_SHARE: (1, SHARE),
    }
    assert position.realized_pnl == REALISED

    # The one function.
    parts = position_breakdown(session, position)
    assert (parts.gross_pnl, parts.venue_fees, parts.platform_fee, parts.profit_share) == (
        GROSS,
        ENTRY_FEE + EXIT_FEE,
        Decimal("0.20"),
        SHARE,
    )
    assert (parts.net_pnl, parts.total_fees) == (NET, FEES_TOTAL)
    expected = {
        "gross_pnl": GROSS,
        "venue_fees": ENTRY_FEE + EXIT_FEE,
        "platform_fee": Decimal("0.20"),
        "profit_share": SHARE,
        "total_fees": FEES_TOTAL,
        "net_pnl": NET,
    }

    def same(figures: dict) -> bool:
        return {k: Decimal(str(v)) for k, v in figures.items()} == expected

    # Endpoints: positions, the deployment, the agent's page for its trader.
    as_trader = headers(trader)
    [listed] = client.get("/api/v1/positions", headers=as_trader).json()
    assert same(listed["figures"])
    deployment = client.get(f"/api/v1/deployments/{position.deployment_id}", headers=as_trader).json()
    assert same(deployment["figures"]) and Decimal(deployment["fees_paid"]) == FEES_TOTAL
    agent_id = deployment["agent_id"]
    [mine] = client.get(f"/api/v1/agents/{agent_id}", headers=as_trader).json()["my_positions"]
    assert same(mine["figures"])

    # Pages: the deployments page (positions table and deployment row), the dashboard (card, closes table,
    # equity), the agent page (the trader's own positions).
    venues = VenueRegistry({})
    [row] = [position_row(v) for v in list_positions(session, user)]
    assert (row["pnl"], row["fees"]) == (SHOWN_NET, SHOWN_FEES)
    assert row["fee_detail"] == "$0.68 open + $0.74 close + $0.20 Maxxit + $14.86 profit share"
    deployment_view = get_deployment(session, user, position.deployment_id, venues=venues)
    assert (deployment_row(deployment_view)["pnl"], deployment_row(deployment_view)["fees"]) == (
        SHOWN_NET,
        SHOWN_FEES,
    )
    card = position_card(position_chart(session, position.id, user, now=utcnow()))
    assert (card["realized"], card["fees"], card["fee_detail"]) == (SHOWN_NET, SHOWN_FEES, row["fee_detail"])
    [closed] = [closed_row(c) for c in recent_closes(session, user)]
    assert (closed["pnl"], closed["fees"], closed["fee_detail"]) == (SHOWN_NET, SHOWN_FEES, row["fee_detail"])
    curves = equity_curves(session, user, now=utcnow())
    assert curves.account.realized_pnl == NET  # a Hyperliquid account: its curve is PnL, after every fee
    assert equity_card(curves.deployments[0])["pnl"] == SHOWN_NET
    [own] = get_agent(session, agent_id, user).my_positions
    assert agent_position_row(own)["pnl"] == SHOWN_NET


def test_paper_and_reference_books_are_never_billed(session, factory) -> None:
    """Live deployments pay; a paper deployment and a reference book close a winner and owe nothing."""
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    for deployment in (
        factory.deployment(agent, venue=ExecutionVenue.PAPER),
        factory.deployment(agent, venue=ExecutionVenue.HYPERLIQUID, is_reference=True),
    ):
        signal = factory.signal(agent, token="ETH", side=Side.LONG)
        position = Position(
            deployment_id=deployment.id,
            signal_id=signal.id,
            venue=deployment.venue,
            market="ETH",
            side=Side.LONG,
            size=Decimal(1),
            entry_price=Decimal(100),
            status=PositionStatus.CLOSING,
            close_reason=CloseReason.TAKE_PROFIT,
            entry_fee=Decimal("0.05"),
            exit_fee=Decimal(0),
            opened_at=utcnow(),
        )
        session.add(position)
        session.flush()
        charge_trade_fee(
            session,
            FEES,
            deployment=deployment,
            venue=deployment.venue,
            signal_id=signal.id,
            position_id=position.id,
            market="ETH",
        )
        session.commit()
        closed = record_close(session, position.id, Decimal(150), Decimal("0.07"), None, FEES)
        assert closed.realized_pnl == Decimal("49.88")
        assert position_breakdown(session, closed).net_pnl == Decimal("49.88")  # nothing billed on top
    assert session.exec(select(func.count()).select_from(BillingEvent)).one() == 0
