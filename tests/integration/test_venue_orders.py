"""Orders sent exactly once through `execution.orders`: the venue_orders row before the send, status on retry.

Paper and the Hyperliquid test server are the real adapters; `LaterVenue` is a test double of a venue whose
orders settle later (a transaction waiting to be mined), the kind the row exists for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eth_account import Account
from sqlmodel import Session, func, select

from backend.execution.accounts import trading_account
from backend.execution.orders import AFTER_SUBMIT, place_order, settled_fill
from backend.execution.service import Executor, client_order_id
from backend.models import PaperFill, Position, VenueOrder
from backend.models.enums import (
    ExecutionStatus,
    ExecutionVenue,
    OrderPurpose,
    Side,
    SignalStatus,
    Venue,
    VenueOrderState,
)
from backend.prices.simulated import SimulatedPriceFeed
from backend.venues import capabilities
from backend.venues.base import (
    Fill,
    InvalidOrder,
    OrderRequest,
    OrderState,
    OrderStatus,
    Submitted,
    TemporaryVenueError,
    VenueAccount,
)
from backend.venues.hyperliquid import HyperliquidVenue
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.wallets.keys import WalletCipher

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CIPHER = WalletCipher(b"k" * 32)


class Crash(BaseException):
    """Stands in for the process dying: nothing after the crash point runs."""


def crash_after_submit(point: str) -> None:
    if point == AFTER_SUBMIT:
        raise Crash(point)


class CountingPaper(PaperVenue):
    """The paper venue, counting sends and noting whether our row was committed before each one."""

    def __init__(self, engine, feed) -> None:
        super().__init__(engine, feed)
        self.sent: list[str] = []
        self.row_before_send: list[bool] = []

    def submit(self, account: VenueAccount, order: OrderRequest) -> Submitted:
        with Session(self._engine) as other:  # another connection sees committed rows only
            row = other.exec(select(VenueOrder).where(VenueOrder.client_order_id == order.client_order_id))
            self.row_before_send.append(row.first() is not None)
        self.sent.append(order.client_order_id)
        return super().submit(account, order)


class LaterVenue:
    """A venue whose orders settle later: `submit` answers with a transaction hash, `mine` settles it."""

    venue = ExecutionVenue.SPOT
    capabilities = capabilities.SPOT

    def __init__(self) -> None:
        self.submitted: list[OrderRequest] = []
        self.mined = False
        self.reverted = False

    def submit(self, account: VenueAccount, order: OrderRequest) -> Submitted:
        self.submitted.append(order)
        return Submitted(venue_order_id="0xtx1")

    def status(self, account: VenueAccount, client_order_id: str, venue_order_id: str | None = None):
        if not self.submitted:
            return OrderStatus(OrderState.UNKNOWN)
        assert venue_order_id == "0xtx1"  # the id our row kept is what the venue is asked about
        if self.reverted:
            return OrderStatus(OrderState.FAILED, venue_order_id=venue_order_id, reason="slippage")
        if not self.mined:
            return OrderStatus(OrderState.PENDING, venue_order_id=venue_order_id)
        order = self.submitted[0]
        fill = Fill(client_order_id, order.market, order.side, order.size, Decimal("2.5"), Decimal("0.01"))
        return OrderStatus(OrderState.FILLED, fill=fill, venue_order_id=venue_order_id)


def row_of(session: Session, cloid: str) -> VenueOrder:
    return session.exec(
        select(VenueOrder)
        .where(VenueOrder.client_order_id == cloid)
        .execution_options(populate_existing=True)
    ).one()


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def paper(engine) -> CountingPaper:
    return CountingPaper(engine, SimulatedPriceFeed(seed=7))


@pytest.fixture
def agent(factory):
    return factory.agent(venue=Venue.HYPERLIQUID)


@pytest.fixture
def deployment(factory, agent):
    return factory.paper_deployment(agent)


def order(cloid: str, *, market: str = "ETH", size: str = "0.5", reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(market, Side.LONG, Decimal(size), cloid, reduce_only=reduce_only)


def place(session, adapter, account, request, **kw) -> Fill:
    kw.setdefault("purpose", OrderPurpose.OPEN)
    return place_order(session, adapter, account, request, deployment_id=account.deployment_id, now=NOW, **kw)


def test_the_row_is_committed_before_the_send_and_holds_the_venue_id_and_fill_after(
    session, paper, deployment
):
    account = VenueAccount(deployment.id)

    fill = place(session, paper, account, order("0x" + "01" * 16))

    assert paper.row_before_send == [True]
    row = row_of(session, fill.client_order_id)
    assert (row.state, row.venue_order_id, row.attempts) == (VenueOrderState.FILLED, fill.venue_order_id, 1)
    assert (row.fill_size, row.fill_price, row.fill_fee) == (fill.size, fill.price, fill.fee)
    assert (row.purpose, row.market, row.side, row.deployment_id) == ("OPEN", "ETH", Side.LONG, deployment.id)


def test_a_crash_between_submit_and_record_is_recovered_by_status_not_a_second_send(
    session, paper, deployment
):
    account, cloid = VenueAccount(deployment.id), "0x" + "02" * 16
    with pytest.raises(Crash):
        place(session, paper, account, order(cloid), fault=crash_after_submit)
    session.rollback()
    assert row_of(session, cloid).state == VenueOrderState.NEW  # sent, and our row does not know yet

    fill = place(session, paper, account, order(cloid))

    assert paper.sent == [cloid]
    assert count(session, PaperFill) == 1
    assert row_of(session, cloid).state == VenueOrderState.FILLED and fill.client_order_id == cloid
    assert place(session, paper, account, order(cloid)) == fill  # and once more: still the one order
    assert paper.sent == [cloid]


def test_the_executor_recovers_an_order_sent_before_a_crash(session, factory, paper, agent, deployment):
    signal = factory.signal(agent, status=SignalStatus.PENDING)
    registry = VenueRegistry({ExecutionVenue.PAPER: paper})
    with pytest.raises(Crash):
        Executor(registry, CIPHER, fault=crash_after_submit).execute(session, signal.id, deployment.id)
    session.rollback()

    outcome = Executor(registry, CIPHER).execute(session, signal.id, deployment.id)

    assert outcome.status == ExecutionStatus.FILLED
    assert paper.sent == [client_order_id(deployment.id, signal.id)]
    assert (count(session, PaperFill), count(session, Position)) == (1, 1)
    row = row_of(session, client_order_id(deployment.id, signal.id))
    assert (row.state, row.signal_id, row.purpose) == (VenueOrderState.FILLED, signal.id, "OPEN")


def test_a_refused_order_is_failed_with_the_reason_and_may_be_sent_again(session, paper, deployment):
    account, cloid = VenueAccount(deployment.id), "0x" + "03" * 16
    with pytest.raises(InvalidOrder, match="no position to reduce"):
        place(session, paper, account, order(cloid, reduce_only=True), purpose=OrderPurpose.CLOSE)
    row = row_of(session, cloid)
    assert row.state == VenueOrderState.FAILED and "no position to reduce" in row.error

    place(session, paper, account, order("0x" + "04" * 16))  # the position it was to close opens
    fill = place(session, paper, account, order(cloid, reduce_only=True), purpose=OrderPurpose.CLOSE)

    row = row_of(session, cloid)
    assert fill.client_order_id == cloid and (row.state, row.attempts) == (VenueOrderState.FILLED, 2)


def test_a_later_settling_order_is_pending_then_filled_with_one_submit(session, deployment):
    venue, account, cloid = LaterVenue(), VenueAccount(deployment.id, "0x" + "5" * 40), "0x" + "05" * 16

    with pytest.raises(TemporaryVenueError, match="waiting for the venue"):
        place(session, venue, account, order(cloid))
    row = row_of(session, cloid)
    assert (row.state, row.venue_order_id) == (VenueOrderState.SUBMITTED, "0xtx1")
    with pytest.raises(TemporaryVenueError, match="not settled yet"):
        place(session, venue, account, order(cloid))  # not mined yet: asked, not sent again
    assert settled_fill(session, venue, account, "0x" + "06" * 16, now=NOW) is None  # never sent
    venue.mined = True

    fill = place(session, venue, account, order(cloid))

    assert len(venue.submitted) == 1
    assert (fill.price, fill.size) == (Decimal("2.5"), Decimal("0.5"))
    row = row_of(session, cloid)
    assert (row.state, row.venue_order_id, row.fill_price) == (
        VenueOrderState.FILLED,
        "0xtx1",
        Decimal("2.5"),
    )


def test_an_order_that_settles_without_a_fill_is_refused_and_failed(session, deployment):
    venue, account, cloid = LaterVenue(), VenueAccount(deployment.id, "0x" + "5" * 40), "0x" + "09" * 16
    with pytest.raises(TemporaryVenueError):
        place(session, venue, account, order(cloid))
    venue.reverted = True

    with pytest.raises(InvalidOrder, match="slippage"):
        settled_fill(session, venue, account, cloid, now=NOW)

    row = row_of(session, cloid)
    assert (row.state, row.error, row.venue_order_id) == (VenueOrderState.FAILED, "slippage", "0xtx1")
    assert settled_fill(session, venue, account, cloid, now=NOW) is None  # nothing stands: may be resent


def test_a_safe_executor_venue_trades_the_deployments_safe_once_the_module_is_enabled(session, factory):
    deployment = factory.deployment(factory.agent(venue=Venue.SPOT), venue=ExecutionVenue.SPOT)
    venues = VenueRegistry({ExecutionVenue.SPOT: LaterVenue()})
    executor_key = Account.create()
    row = factory.safe_executor(deployment, executor_key, CIPHER)
    safe = row.safe_address
    with pytest.raises(InvalidOrder, match="Safe module not enabled"):
        trading_account(session, deployment, ExecutionVenue.SPOT, venues, CIPHER)
    row.enabled_at = NOW
    session.commit()

    _, account = trading_account(session, deployment, ExecutionVenue.SPOT, venues, CIPHER)

    assert (account.address, account.signer.address) == (safe, executor_key.address)
    row.disabled_at = NOW
    session.commit()
    with pytest.raises(InvalidOrder, match="Safe module not enabled"):
        trading_account(session, deployment, ExecutionVenue.SPOT, venues, CIPHER)


def test_hyperliquid_a_crash_after_submit_is_found_by_cloid_not_sent_twice(
    session, factory, hl_server, hl_user, hl_agent
):
    agent = factory.agent(venue=Venue.HYPERLIQUID)
    deployment = factory.deployment(agent, venue=ExecutionVenue.HYPERLIQUID, user_wallet=hl_user.address)
    venue = HyperliquidVenue(hl_server.url, timeout=5)
    account, cloid = VenueAccount(deployment.id, hl_user.address, hl_agent), "0x" + "07" * 16
    hl_server.set_mid("ETH", Decimal("3000"))
    request = OrderRequest("ETH", Side.LONG, Decimal("0.01"), cloid, reference_price=Decimal("3000"))
    with pytest.raises(Crash):
        place(session, venue, account, request, fault=crash_after_submit)
    session.rollback()

    fill = place(session, venue, account, request)

    assert len(hl_server.fills(hl_user.address)) == 1
    row = row_of(session, cloid)
    assert (row.state, row.venue_order_id, row.fill_price) == (
        VenueOrderState.FILLED,
        fill.venue_order_id,
        fill.price,
    )
    assert venue.status(account, "0x" + "08" * 16).state == OrderState.UNKNOWN
