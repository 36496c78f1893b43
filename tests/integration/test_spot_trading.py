"""A SPOT deployment end to end on anvil: our Executor buys through the user's Safe, the monitor sells.

The deployment's Safe has the Maxxit module enabled and the deployment's executor allowed (tests.chain_support
does what the wizard's Safe transactions do); its SafeExecutor row holds the executor key encrypted, as the
wizard stores it. Prices: the test drives our feed and prices the mock router the same.
SQLite only: the executor, the monitor and the order rows run on both databases in their own tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select

from backend.execution.service import Executor
from backend.markets.refresh import refresh_venues
from backend.models import Agent, AgentDeployment, Position, SafeExecutor, VenueOrder
from backend.models.common import utcnow
from backend.models.enums import (
    CloseReason,
    DeploymentStatus,
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    Side,
    SignalStatus,
    Venue,
)
from backend.monitor.close import finish_close
from backend.monitor.cycle import Monitor
from backend.trading.fees import FeePolicy
from backend.venues.base import VenueAccount
from backend.venues.paper import PaperVenue
from backend.venues.registry import VenueRegistry
from backend.venues.spot import SafeSpotVenue
from tests.chain_support import ChainHarness
from tests.factories import Factory
from tests.integration.test_spot_venue import spot_settings
from tests.monitor_support import CIPHER, DrivenFeed

pytestmark = pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)

CENT = Decimal("0.01")


class Crash(BaseException):
    """A worker killed at a crash point (BaseException: no handler of ours catches it)."""


@dataclass
class Trading:
    chain: ChainHarness
    session: Session
    factory: Factory
    feed: DrivenFeed
    venues: VenueRegistry
    agent: Agent
    deployment: AgentDeployment
    safe: str
    owner: LocalAccount
    executor: LocalAccount

    def price(self, market: str, price: str) -> None:
        """Our feed's mid and the pool's price move together."""
        self.feed.set(market, Decimal(price))
        self.chain.deployment.set_usd_price(market, Decimal(price))

    def usdc(self) -> Decimal:
        return self.chain.deployment.balance("USDC", self.safe)

    def held(self, market: str = "ETH") -> Decimal:
        return self.chain.deployment.balance(market, self.safe)

    def signal(self, side: Side = Side.LONG, token: str = "ETH") -> int:
        signal = self.factory.signal(
            self.agent, token=token, side=side, status=SignalStatus.PENDING, score=Decimal("0.8")
        )
        return signal.id

    def execute(self, signal_id: int, executor: Executor | None = None):
        executor = executor or Executor(self.venues, CIPHER)
        return executor.execute(self.session, signal_id, self.deployment.id)

    def transactions_sent(self) -> int:
        return self.chain.w3.eth.get_transaction_count(self.executor.address)

    def close(self, position_id: int) -> None:
        finish_close(self.session, position_id, venues=self.venues, cipher=CIPHER, fees=FeePolicy())


@pytest.fixture
def trading(chain: ChainHarness, session: Session, factory: Factory, engine, tmp_path: Path) -> Trading:
    feed = DrivenFeed()
    spot = SafeSpotVenue.from_settings(spot_settings(chain, tmp_path / "chain.json"), feed)
    venues = VenueRegistry({ExecutionVenue.PAPER: PaperVenue(engine, feed), ExecutionVenue.SPOT: spot})
    refresh_venues(session, [spot], utcnow())  # the token registry knows the spot markets, as in production

    safe, owner, executor = chain.spot_safe(usdc=Decimal(1000))
    user = factory.user(address=owner.address.lower())
    agent = factory.agent(creator=user, venue=Venue.SPOT)  # stop 10%, trailing arms at +3%, trails 1%
    deployment = factory.deployment(
        agent, user, venue=ExecutionVenue.SPOT, status=DeploymentStatus.ACTIVE, capital_usd=Decimal(1000)
    )
    factory.safe_executor(
        deployment,
        executor,
        CIPHER,
        safe_address=safe,
        owner_address=owner.address,
        module_address=chain.deployment.module,
        enabled_at=utcnow(),
    )
    setup = Trading(chain, session, factory, feed, venues, agent, deployment, safe, owner, executor)
    setup.price("ETH", "3000")
    return setup


def test_a_long_signal_buys_and_the_trailing_stop_sells_with_pnl_matching_the_safe(trading: Trading) -> None:
    outcome = trading.execute(trading.signal())

    assert outcome.status == ExecutionStatus.FILLED, outcome
    position = trading.session.get(Position, outcome.position_id)
    assert (position.venue, position.market, position.side, position.leverage) == (
        "SPOT",
        "ETH",
        Side.LONG,
        1,
    )
    assert position.size == trading.held().quantize(Decimal("1e-10"), ROUND_DOWN) > 0
    spent = Decimal(1000) - trading.usdc()
    assert abs(spent - position.size * position.entry_price) < CENT
    assert position.entry_fee > 0  # the executor's gas, in USD

    monitor = Monitor(trading.venues, trading.close, holder="test")
    for mid in ("3060", "3150", "3100"):  # up 5%: armed; the stop trails 1% under 3150 = 3118.5
        trading.price("ETH", mid)
        monitor.run_cycle(trading.session)

    trading.session.refresh(position)
    assert (position.status, position.close_reason) == (PositionStatus.CLOSED, CloseReason.TRAILING_STOP)
    assert trading.held() < Decimal("1e-9")
    assert abs(position.exit_price - Decimal(3100)) < CENT
    # The Safe's USDC moved by the trade's gross PnL; the gas in the position's fees was the executor's ETH.
    gross = trading.usdc() - Decimal(1000)
    assert abs(gross - (position.realized_pnl + position.entry_fee + position.exit_fee)) < CENT
    assert position.realized_pnl > 0
    assert trading.venues.get(ExecutionVenue.SPOT).positions(_account(trading)) == []


def test_a_short_signal_is_skipped_for_spot_with_the_reason(trading: Trading) -> None:
    sent = trading.transactions_sent()
    outcome = trading.execute(trading.signal(Side.SHORT))

    assert outcome.status == ExecutionStatus.SKIPPED and outcome.position_id is None
    assert outcome.reason == (
        "venue takes no shorts: SPOT only buys tokens: a short ETH signal is not traded there"
    )
    assert trading.transactions_sent() == sent and trading.usdc() == Decimal(1000)


def test_a_crash_after_the_swap_is_mined_is_recovered_without_a_second_swap(trading: Trading) -> None:
    signal_id = trading.signal()

    def crash(point: str) -> None:
        if point in ("after_submit", "after_fill"):
            raise Crash(point)

    with pytest.raises(Crash):
        trading.execute(signal_id, Executor(trading.venues, CIPHER, fault=crash))
    trading.session.rollback()
    sent, usdc = trading.transactions_sent(), trading.usdc()
    assert usdc < Decimal(1000)  # the swap was mined; our position row was never written

    outcome = trading.execute(signal_id)

    assert outcome.status == ExecutionStatus.FILLED
    assert trading.transactions_sent() == sent and trading.usdc() == usdc  # found by order id, not swapped
    position = trading.session.get(Position, outcome.position_id)
    assert position.size == trading.held().quantize(Decimal("1e-10"), ROUND_DOWN)
    [order] = trading.session.exec(select(VenueOrder).order_by(VenueOrder.id)).all()
    assert order.venue_order_id is not None and order.venue_order_id.startswith("0x")


def test_disabling_the_module_stops_trading_with_the_reason(trading: Trading) -> None:
    trading.chain.disable_module(trading.safe, [trading.owner])  # in the Safe app, outside Maxxit
    sent = trading.transactions_sent()

    outcome = trading.execute(trading.signal())

    # The swap's simulation reverts (the module checks the Safe first): nothing is sent, refused with why.
    assert (outcome.status, outcome.position_id) == (ExecutionStatus.FAILED, None)
    assert "Safe module not enabled" in outcome.reason
    assert trading.transactions_sent() == sent and trading.usdc() == Decimal(1000)

    # Once the platform has seen it on chain (the executor row disabled), signals are skipped before any call.
    row = trading.session.exec(select(SafeExecutor)).one()
    row.disabled_at = utcnow()
    trading.session.commit()
    skipped = trading.execute(trading.signal())
    assert skipped.status == ExecutionStatus.SKIPPED and "Safe module not enabled" in skipped.reason


def _account(trading: Trading) -> VenueAccount:
    return VenueAccount(trading.deployment.id, address=trading.safe)
