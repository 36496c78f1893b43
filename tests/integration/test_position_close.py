"""Closing exactly once: compare-and-set, reduce-only order with a client id, PnL, profit share; the lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.auth.identity import CurrentUser
from backend.execution.service import Executor
from backend.models import AuditLog, BillingEvent, PaperFill, Position
from backend.models.enums import CloseReason, ExecutionVenue, PositionStatus, Role, Side, SignalStatus, Venue
from backend.monitor.close import (
    PositionNotFound,
    PositionNotOpen,
    begin_close,
    close_order_id,
    close_retry_delay,
    finish_close,
    request_close,
)
from backend.monitor.lease import acquire_lease, release_lease
from backend.prices.simulated import SimulatedPriceFeed
from backend.trading.fees import FeePolicy
from backend.venues.base import OrderRequest, VenueAccount
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher
from tests.venue_support import place, reduce

CIPHER = WalletCipher(b"k" * 32)
SHARE = Decimal("0.10")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def venues(engine, clock) -> VenueRegistry:
    return VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, SimulatedPriceFeed(seed=7), clock=clock)})


@pytest.fixture
def opened(session, factory, venues, clock):
    """A real paper position opened by the executor for a signal; its trader."""
    creator = factory.user()
    agent = factory.agent(creator, venue=Venue.HYPERLIQUID)
    trader = factory.user()
    deployment = factory.paper_deployment(agent, trader)
    signal = factory.signal(
        agent, token="ETH", side=Side.LONG, status=SignalStatus.PENDING, created_at=clock.now
    )
    outcome = Executor(venues, CIPHER, clock=clock).execute(session, signal.id, deployment.id)
    position = session.get(Position, outcome.position_id)
    return position, CurrentUser(trader.id, trader.address, Role.TRADER), creator


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_manual_close_is_finished_once_with_pnl_and_audit_and_no_share_on_paper(
    session, opened, venues, clock
):
    position, trader, _ = opened
    request_close(session, trader, position.id)
    clock.now += timedelta(days=3)  # the simulated price has moved on

    closed = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE)
    )
    again = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE)
    )

    assert closed.status == again.status == PositionStatus.CLOSED
    assert closed.close_reason == CloseReason.MANUAL
    fill = session.exec(
        select(PaperFill).where(PaperFill.client_order_id == close_order_id(position.id))
    ).one()
    assert fill.reduce_only and not fill.is_buy
    expected = (fill.price - position.entry_price) * position.size - position.entry_fee - fill.fee
    assert closed.realized_pnl == expected.quantize(Decimal("0.000001"))
    # Paper trading is free: no profit share, won or lost (live closes: test_position_figures.py).
    assert count(session, BillingEvent) == 0
    assert count(session, AuditLog, AuditLog.action == "position.closed") == 1
    assert count(session, AuditLog, AuditLog.action == "position.close_requested") == 1
    assert venues.get(ExecutionVenue.PAPER).positions(VenueAccount(position.deployment_id)) == []


def test_only_the_first_close_request_wins(session, opened):
    position, trader, _ = opened
    assert begin_close(session, position.id, CloseReason.TRAILING_STOP)
    assert not begin_close(session, position.id, CloseReason.STOP_LOSS)
    with pytest.raises(PositionNotOpen):
        request_close(session, trader, position.id)
    session.refresh(position)
    assert (position.status, position.close_reason) == (PositionStatus.CLOSING, CloseReason.TRAILING_STOP)


def test_someone_elses_position_cannot_be_closed(session, factory, opened):
    position, _, _ = opened
    stranger = factory.user()
    with pytest.raises(PositionNotFound):
        request_close(session, CurrentUser(stranger.id, stranger.address, Role.TRADER), position.id)
    session.refresh(position)
    assert position.status == PositionStatus.OPEN


def test_a_crash_after_the_close_fill_is_recorded_on_retry_without_a_second_order(session, opened, venues):
    position, _, _ = opened
    begin_close(session, position.id, CloseReason.TAKE_PROFIT)
    paper = venues.get(ExecutionVenue.PAPER)
    # The order reached the venue, then the worker died before recording it.
    reduce(
        paper,
        VenueAccount(position.deployment_id),
        OrderRequest("ETH", Side.LONG, position.size, close_order_id(position.id), reduce_only=True),
    )

    closed = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE)
    )

    assert closed.status == PositionStatus.CLOSED and closed.close_reason == CloseReason.TAKE_PROFIT
    assert count(session, PaperFill, PaperFill.reduce_only.is_(True)) == 1


def test_a_position_gone_from_the_venue_is_recorded_as_closed_outside(session, opened, venues):
    position, _, _ = opened
    paper = venues.get(ExecutionVenue.PAPER)
    reduce(
        paper,
        VenueAccount(position.deployment_id),
        OrderRequest("ETH", Side.LONG, position.size, "0x" + "ee" * 16),
    )
    begin_close(session, position.id, CloseReason.STOP_LOSS)

    closed = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE)
    )

    assert (closed.status, closed.close_reason) == (PositionStatus.CLOSED, CloseReason.EXTERNAL)


def test_the_lease_is_held_by_one_holder_until_it_lapses(session):
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    ttl = timedelta(seconds=15)
    assert acquire_lease(session, "monitor", "a", ttl, now)
    assert not acquire_lease(session, "monitor", "b", ttl, now + timedelta(seconds=5))
    assert acquire_lease(session, "monitor", "a", ttl, now + timedelta(seconds=10))  # renewed
    assert not acquire_lease(session, "monitor", "b", ttl, now + timedelta(seconds=20))
    assert acquire_lease(session, "monitor", "b", ttl, now + timedelta(seconds=26))  # a died: lapsed
    release_lease(session, "monitor", "b", now + timedelta(seconds=27))
    assert acquire_lease(session, "monitor", "a", ttl, now + timedelta(seconds=28))


def _closing_fill_of(session: Session, cloid: str) -> PaperFill | None:
    return session.exec(select(PaperFill).where(PaperFill.client_order_id == cloid)).first()


def test_a_refused_close_of_a_position_still_at_the_venue_stays_closing_and_backs_off(
    session, opened, venues
):
    position, _, _ = opened
    paper = venues.get(ExecutionVenue.PAPER)
    account = VenueAccount(position.deployment_id)
    # Part of it was closed outside: the venue now refuses to reduce the whole size, yet still holds the rest.
    half = paper.markets()["ETH"].round_size(position.size / 2)
    reduce(paper, account, OrderRequest("ETH", Side.LONG, half, "0x" + "aa" * 16))
    begin_close(session, position.id, CloseReason.STOP_LOSS)
    t0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    refused = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE), now=t0
    )

    assert (refused.status, refused.close_reason) == (PositionStatus.CLOSING, CloseReason.STOP_LOSS)
    assert "no position to reduce" in refused.close_error
    assert refused.close_attempts == 1 and refused.next_close_attempt_at == t0 + timedelta(seconds=5)
    assert refused.exit_price is None and refused.realized_pnl is None
    assert [(p.market, p.side) for p in paper.positions(account)] == [("ETH", Side.LONG)]
    assert _closing_fill_of(session, close_order_id(position.id)) is None
    [row] = session.exec(select(AuditLog).where(AuditLog.action == "position.close_refused")).all()
    assert row.entity_id == str(position.id) and row.details["attempts"] == 1
    assert "no position to reduce" in row.details["reason"] and row.details["venue"] == "PAPER"

    # Not due yet: untouched, nothing sent. Due: refused again, and the wait doubles.
    early = finish_close(
        session,
        position.id,
        venues=venues,
        cipher=CIPHER,
        fees=FeePolicy(creator_share=SHARE),
        now=t0 + timedelta(seconds=4),
    )
    assert early.close_attempts == 1
    t1 = t0 + timedelta(seconds=5)
    again = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE), now=t1
    )
    assert again.close_attempts == 2 and again.next_close_attempt_at == t1 + timedelta(seconds=10)
    assert count(session, AuditLog, AuditLog.action == "position.close_refused") == 2

    # The trader bought the half back: the retry goes through, at the close's own fill, and the error clears.
    place(paper, account, OrderRequest("ETH", Side.LONG, half, "0x" + "bb" * 16))
    t2 = t1 + timedelta(seconds=10)
    closed = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE), now=t2
    )

    assert (closed.status, closed.close_reason) == (PositionStatus.CLOSED, CloseReason.STOP_LOSS)
    assert closed.close_error is None and closed.next_close_attempt_at is None
    assert closed.close_attempts == 2  # kept: how often it was refused
    assert closed.exit_price == _closing_fill_of(session, close_order_id(position.id)).price
    assert paper.positions(account) == []


def test_a_refused_close_of_a_position_gone_from_the_venue_closes_it_outside_at_the_fill(
    session, opened, venues
):
    position, _, _ = opened
    paper = venues.get(ExecutionVenue.PAPER)
    outside = reduce(
        paper,
        VenueAccount(position.deployment_id),
        OrderRequest("ETH", Side.LONG, position.size, "0x" + "ee" * 16),
    )
    begin_close(session, position.id, CloseReason.MANUAL)

    closed = finish_close(
        session, position.id, venues=venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE)
    )

    assert (closed.status, closed.close_reason) == (PositionStatus.CLOSED, CloseReason.EXTERNAL)
    assert closed.exit_price == outside.price and closed.exit_fee == outside.fee
    assert closed.close_error is None and closed.close_attempts == 0
    assert count(session, AuditLog, AuditLog.action == "position.close_refused") == 0


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 5), (2, 10), (3, 20), (6, 160), (7, 300), (8, 300), (1000, 300)]
)
def test_refused_closes_are_retried_after_5_s_doubling_up_to_5_min(attempts, seconds):
    assert close_retry_delay(attempts) == timedelta(seconds=seconds)
