"""What /deployments and the dashboard read about open and closed positions and about each deployment:
mark, unrealised PnL and return on margin, stop, take-profit, liquidation price, tick; exit and fees; equity.

On SQLite and PostgreSQL, from rows as the executor and the monitor write them (positions, ticks, closes).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.deployments.views import list_deployments, list_positions
from backend.models import MarketTick, Position, User, VenueStatus
from backend.models.common import utcnow
from backend.models.enums import CloseReason, ExecutionVenue, PositionStatus, Role, Side
from backend.monitor.charts import dashboard_charts
from backend.trading.margin import liquidation_price
from tests.factories import Factory
from tests.monitor_support import DrivenFeed, paper_registry

ETH_MAX_LEVERAGE = Decimal(25)  # the paper market's, Hyperliquid's ETH


def _me(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def _open(session: Session, deployment_id: int, **kw) -> Position:
    kw = {
        "venue": ExecutionVenue.PAPER,
        "market": "ETH",
        "side": Side.LONG,
        "size": Decimal("0.5"),
        "leverage": Decimal("3"),
        "entry_price": Decimal("2000"),
        "entry_fee": Decimal("0.45"),
        "opened_at": utcnow() - timedelta(minutes=10),
        **kw,
    }
    position = Position(deployment_id=deployment_id, **kw)
    session.add(position)
    session.commit()
    session.refresh(position)
    return position


def _tick(session: Session, price: str, *, venue: str = "PAPER", market: str = "ETH") -> None:
    session.add(
        MarketTick(venue=venue, market=market, at=utcnow() - timedelta(seconds=5), price=Decimal(price))
    )
    session.commit()


def test_an_open_position_reads_its_mark_pnl_and_lines(session: Session, factory: Factory) -> None:
    user = factory.user()
    agent = factory.agent(take_profit=Decimal("0.05"))
    deployment = factory.deployment(agent, user)
    position = _open(session, deployment.id, trailing_high=Decimal("2070"))
    _tick(session, "2040")

    [view] = list_positions(session, _me(user))

    assert (view.mark_price, view.tick_size) == (Decimal("2040"), Decimal("0.1"))
    assert view.return_on_margin == Decimal("0.06")  # a 2% move at 3x
    assert view.figures.gross_pnl == Decimal("20") and view.figures.net_pnl == Decimal("19.55")
    # The monitor's best of 2070 armed the trailing stop (+3%): 1% behind it.
    assert view.stop_price == Decimal("2049.3")
    assert view.take_profit_price == Decimal("2100")
    assert view.liquidation_price == liquidation_price(Side.LONG, Decimal(2000), Decimal(3), ETH_MAX_LEVERAGE)
    assert (view.notional_usd, view.margin_usd) == (Decimal("1020"), Decimal("1000") / 3)
    assert position.id == view.id


def test_an_open_position_before_any_tick_has_lines_but_no_mark(session: Session, factory: Factory) -> None:
    user = factory.user()
    deployment = factory.deployment(factory.agent(), user)  # the agent's default 20% take-profit
    _open(session, deployment.id, side=Side.SHORT, market="BTC", entry_price=Decimal("60000"))

    [view] = list_positions(session, _me(user))

    assert view.mark_price is None and view.return_on_margin is None
    assert view.figures.gross_pnl == 0
    assert (view.stop_price, view.take_profit_price) == (Decimal("66000"), Decimal("48000"))
    assert view.liquidation_price is not None and view.liquidation_price > Decimal("60000")


def test_a_closed_position_reads_its_exit_reason_and_fees(session: Session, factory: Factory) -> None:
    user = factory.user()
    deployment = factory.deployment(factory.agent(), user)
    closed = factory.closed_position(
        deployment,
        Decimal("-12"),
        market="ETH",
        size=Decimal("0.5"),
        entry_price=Decimal("2000"),
        entry_fee=Decimal("0.45"),
        exit_fee=Decimal("0.44"),
        close_reason=CloseReason.TRAILING_STOP,
    )
    _tick(session, "2100")  # a later tick changes nothing of a closed position

    [view] = list_positions(session, _me(user), status=PositionStatus.CLOSED)

    assert (view.id, view.exit_price, view.close_reason) == (closed.id, Decimal("1976"), "TRAILING_STOP")
    assert (view.entry_fee, view.exit_fee) == (Decimal("0.45"), Decimal("0.44"))
    assert view.figures.net_pnl == Decimal("-12.89")
    assert view.mark_price is None and view.stop_price is None and view.liquidation_price is None
    assert view.notional_usd == Decimal("988") and view.tick_size == Decimal("0.1")


def test_a_live_venue_position_uses_the_rules_its_last_refresh_stored(
    session: Session, factory: Factory
) -> None:
    user = factory.user()
    deployment = factory.deployment(
        factory.agent(), user, venue=ExecutionVenue.HYPERLIQUID, user_wallet="0x" + "ab" * 20
    )
    session.add(
        VenueStatus(
            venue=ExecutionVenue.HYPERLIQUID,
            market="ETH",
            tick_size=Decimal("0.01"),
            max_leverage=Decimal(50),
        )
    )
    session.commit()
    _open(session, deployment.id, venue=ExecutionVenue.HYPERLIQUID)

    [view] = list_positions(session, _me(user))

    assert view.tick_size == Decimal("0.01")
    assert view.liquidation_price == liquidation_price(Side.LONG, Decimal(2000), Decimal(3), Decimal(50))


def test_a_deployment_reads_its_equity_and_time_weighted_return(
    session: Session, factory: Factory, engine
) -> None:
    user = factory.user()
    agent = factory.agent()
    paper = factory.paper_deployment(agent, user, balance=Decimal("10000"))
    paper.created_at = utcnow() - timedelta(days=2)
    session.add(paper)
    session.commit()
    factory.closed_position(paper, Decimal("100"), days_ago=1)
    _open(session, paper.id)
    _tick(session, "2040")  # +20 open

    [view] = list_deployments(session, _me(user), venues=paper_registry(engine, DrivenFeed()))

    assert view.unrealized_pnl == Decimal("20")
    assert view.equity_usd == Decimal("10000") + Decimal("100") + Decimal("20")
    assert view.return_pct is not None and abs(view.return_pct - Decimal("0.012")) < Decimal("0.0001")


def test_dashboard_charts_carry_the_take_profit_liquidation_and_tick(
    session: Session, factory: Factory
) -> None:
    user = factory.user()
    deployment = factory.deployment(factory.agent(take_profit=Decimal("0.1")), user)
    _open(session, deployment.id)
    _tick(session, "2010")
    now = utcnow()

    [chart] = dashboard_charts(session, _me(user), now=now, closed_since=now - timedelta(hours=1))

    assert chart.take_profit_price == Decimal("2200") and chart.tick_size == Decimal("0.1")
    assert chart.liquidation_price == liquidation_price(
        Side.LONG, Decimal(2000), Decimal(3), ETH_MAX_LEVERAGE
    )
    assert (chart.notional_usd, chart.margin_usd) == (Decimal("1005"), Decimal("1000") / 3)
