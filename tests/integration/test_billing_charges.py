"""What a close bills: the creator's share and the signal's source's share, each once under its own key; the
trade fee is the platform's; paper trades owe nothing, won or lost, on either execution path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, func, select

from backend.billing.trade_fee import charge_trade_fee
from backend.deployments.figures import position_breakdown
from backend.execution.service import Executor
from backend.models import BillingEvent, Position
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    CloseReason,
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Side,
    SignalStatus,
    Venue,
)
from backend.monitor.close import begin_close, record_close
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.fees import FeePolicy
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from tests.factories import Factory

FEES = FeePolicy(trade_fee_usd=Decimal("0.20"), creator_share=Decimal("0.10"), sources_share=Decimal("0.10"))
CLOSED_AT = datetime(2026, 12, 3, 10, tzinfo=UTC)


def _live_close(session: Session, factory: Factory, *, with_post: bool, exit_price: str = "3300"):
    creator = factory.user()
    caller = factory.ct_account()
    agent = factory.agent(creator, follows=[caller], venue=Venue.HYPERLIQUID)
    deployment = factory.deployment(agent, venue=ExecutionVenue.HYPERLIQUID, capital_usd=Decimal(0))
    post = factory.post(caller) if with_post else None
    signal = factory.signal(agent, post, token="ETH", side=Side.LONG)
    position = Position(
        deployment_id=deployment.id,
        signal_id=signal.id,
        venue=ExecutionVenue.HYPERLIQUID,
        market="ETH",
        side=Side.LONG,
        size=Decimal("0.5"),
        entry_price=Decimal("3000"),
        status=PositionStatus.OPEN,
        entry_fee=Decimal("0"),
        exit_fee=Decimal("0"),
        opened_at=CLOSED_AT - timedelta(hours=3),
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
    record_close(session, position.id, Decimal(exit_price), Decimal("0"), None, FEES, CLOSED_AT)
    record_close(session, position.id, Decimal(exit_price), Decimal("0"), None, FEES, CLOSED_AT)  # retry
    return position, deployment, creator, caller


def _lines(session: Session, position_id: int) -> list[tuple]:
    return list(
        session.exec(
            select(
                BillingEvent.idempotency_key,
                BillingEvent.kind,
                BillingEvent.beneficiary,
                BillingEvent.beneficiary_user_id,
                BillingEvent.ct_account_id,
                BillingEvent.amount,
                BillingEvent.status,
            )
            .where(BillingEvent.position_id == position_id)
            .order_by(col(BillingEvent.idempotency_key))
        )
    )


def test_a_profitable_live_close_bills_the_creator_and_the_signals_source_once(
    session: Session, factory: Factory
) -> None:
    position, deployment, creator, caller = _live_close(session, factory, with_post=True)

    pending = BillingStatus.PENDING
    # 150 USD realised: 15 to the creator, 15 to the caller whose post made the signal.
    assert _lines(session, position.id) == [
        (f"profit-share:{position.id}:creator", BillingKind.PROFIT_SHARE, Beneficiary.CREATOR, creator.id,
         None, Decimal("15"), pending),
        (f"profit-share:{position.id}:source:{caller.id}", BillingKind.PROFIT_SHARE, Beneficiary.SOURCES,
         None, caller.id, Decimal("15"), pending),
        (f"trade-fee:{deployment.id}:{position.signal_id}", BillingKind.TRADE_FEE, Beneficiary.PLATFORM, None,
         None, Decimal("0.2"), pending),
    ]  # fmt: skip
    lines = session.exec(select(BillingEvent).where(BillingEvent.position_id == position.id)).all()
    assert {line.user_id for line in lines} == {deployment.user_id}
    assert {line.created_at for line in lines if line.kind == BillingKind.PROFIT_SHARE} == {CLOSED_AT}
    # The trader pays both shares; a waived one leaves the figures.
    assert position_breakdown(session, session.get(Position, position.id)).profit_share == Decimal("30")
    source_line = next(line for line in lines if line.beneficiary == Beneficiary.SOURCES)
    source_line.status = BillingStatus.WAIVED
    session.add(source_line)
    session.commit()
    assert position_breakdown(session, session.get(Position, position.id)).profit_share == Decimal("15")


def test_a_signal_without_a_post_bills_the_creator_alone(session: Session, factory: Factory) -> None:
    position, _, creator, _ = _live_close(session, factory, with_post=False)

    shares = [row for row in _lines(session, position.id) if row[1] == BillingKind.PROFIT_SHARE]
    assert [(row[2], row[3], row[5]) for row in shares] == [(Beneficiary.CREATOR, creator.id, Decimal("15"))]


def test_a_losing_live_close_bills_no_share(session: Session, factory: Factory) -> None:
    position, *_ = _live_close(session, factory, with_post=True, exit_price="2900")

    assert [row[1] for row in _lines(session, position.id)] == [BillingKind.TRADE_FEE]


def test_paper_trades_closed_at_a_profit_bill_nothing_on_either_path(
    session: Session, factory: Factory
) -> None:
    caller = factory.ct_account()
    agent = factory.agent(follows=[caller], venue=Venue.HYPERLIQUID)
    single, chunked = factory.paper_deployment(agent), factory.paper_deployment(agent)
    engine = session.get_bind()
    venues = VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7))})
    executor = Executor(venues, WalletCipher(b"k" * 32), fees=FEES)
    signal = factory.signal(agent, factory.post(caller), token="ETH", status=SignalStatus.PENDING)

    one = executor.execute(session, signal.id, single.id)
    many = executor.execute_many(session, signal.id, [chunked.id])
    opened = [one.position_id, many.outcomes[chunked.id].position_id]
    assert one.status == many.outcomes[chunked.id].status == ExecutionStatus.FILLED
    for position_id in opened:
        position = session.get(Position, position_id)
        begin_close(session, position_id, CloseReason.TAKE_PROFIT)
        closed = record_close(
            session, position_id, position.entry_price * 2, Decimal("0"), None, FEES, CLOSED_AT
        )
        assert closed.realized_pnl > 0

    assert session.exec(select(func.count()).select_from(BillingEvent)).one() == 0
