"""Two monitor processes and a trader's manual closes racing over 500 positions on PostgreSQL.

The lease normally keeps one cycle at a time; this test runs the monitors without it, so only the
compare-and-set and the close's client order id stand between a position and a double close.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from backend.auth.identity import CurrentUser
from backend.config import PROJECT_ROOT
from backend.models import AuditLog, BillingEvent, PaperFill, Position
from backend.models.enums import BillingKind, CloseReason, ExecutionVenue, PositionStatus, Role, Side, Venue
from backend.monitor.close import PositionNotOpen, finish_close, request_close
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.fees import FeePolicy
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from tests.monitor_support import CIPHER, open_paper_position

DEPLOYMENTS, MARKETS = 50, ("BTC", "ETH", "SOL", "HYPE", "ARB", "AVAX", "LINK", "DOGE", "WIF", "SUI")
SHARE = Decimal("0.10")

RACER = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from sqlmodel import Session
    from backend.db import make_engine
    from backend.models.enums import ExecutionVenue
    from backend.monitor.close import finish_close
    from backend.monitor.cycle import Monitor
    from backend.trading.fees import FeePolicy
    from backend.prices.simulated import SimulatedPriceFeed
    from backend.venues.paper import PaperVenue
    from backend.venues.registry import VenueRegistry
    from tests.monitor_support import CIPHER

    engine = make_engine(sys.argv[1])
    venues = VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7))})

    def close(position_id):
        with Session(engine, expire_on_commit=False) as own:
            finish_close(own, position_id, venues=venues, cipher=CIPHER, fees=FeePolicy())

    monitor = Monitor(venues, close, holder=sys.argv[2])
    with Session(engine, expire_on_commit=False) as session:
        for _ in range(3):
            monitor.run_cycle(session)
    """
)


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_two_monitors_and_manual_closes_close_each_position_once(engine, session, factory):
    if engine.dialect.name != "postgresql":
        pytest.skip("the race needs concurrent writers: PostgreSQL")
    venues = VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7))})
    trader = factory.user()
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    deployments = [
        factory.paper_deployment(agent, trader, balance=Decimal("100000")) for _ in range(DEPLOYMENTS)
    ]
    for deployment in deployments:
        for market in MARKETS:
            open_paper_position(session, factory, venues, deployment, agent, market, Side.LONG)
    # Every position is far in profit by our books: each monitor wants to take profit on all of them.
    session.execute(sa.update(Position.__table__).values(entry_price=Position.__table__.c.entry_price / 2))
    session.commit()
    ids = list(session.exec(select(Position.id)))
    assert len(ids) == DEPLOYMENTS * len(MARKETS) == 500

    url = engine.url.render_as_string(hide_password=False)
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, url, f"racer-{n}"], cwd=PROJECT_ROOT) for n in (1, 2)
    ]
    me = CurrentUser(trader.id, trader.address, Role.TRADER)
    manual = random.Random(5).sample(ids, 100)
    for position_id in manual:
        try:
            request_close(session, me, position_id)
        except PositionNotOpen:
            continue  # a monitor got there first
        finish_close(session, position_id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE))
    assert [racer.wait(timeout=300) for racer in racers] == [0, 0]
    for position_id in ids:  # anything a racer left CLOSING when it stopped
        finish_close(session, position_id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE))

    session.expire_all()
    assert count(session, Position, Position.status == PositionStatus.CLOSED) == 500
    assert count(session, PaperFill, PaperFill.reduce_only.is_(True)) == 500  # one close order each
    assert count(session, AuditLog, AuditLog.action == "position.closed") == 500
    shares = session.exec(
        select(BillingEvent.position_id).where(BillingEvent.kind == BillingKind.PROFIT_SHARE)
    ).all()
    # Paper is free: no profit share (the closed audit rows above show each close was recorded once, and a
    # live close bills its share in that transaction: test_position_figures, test_hyperliquid_deployment).
    assert shares == []
    reasons = dict(
        session.exec(select(Position.close_reason, func.count()).group_by(Position.close_reason)).all()
    )
    assert set(reasons) <= {CloseReason.TAKE_PROFIT, CloseReason.MANUAL} and sum(reasons.values()) == 500
