"""The spot venue against a real EVM: a Safe with the Maxxit module on anvil, swaps through the mock router.

One anvil per test process (tests.chain_support), each test inside an EVM snapshot; the price feed is
driven by the test and the router priced to match it (or not, for the slippage guard).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlmodel import select

from backend.config import Settings
from backend.markets.refresh import refresh_venues
from backend.models import TokenRegistry
from backend.models.common import utcnow
from backend.models.enums import ExecutionVenue, Side
from backend.trading.fills import gas_fee
from backend.venues.base import (
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    OrderRequest,
    OrderState,
    VenueAccount,
)
from backend.venues.spot import SafeSpotVenue, order_id
from tests.chain_support import ChainHarness
from tests.monitor_support import DrivenFeed

ETH_PRICE = Decimal(3000)


@dataclass
class Spot:
    chain: ChainHarness
    venue: SafeSpotVenue
    feed: DrivenFeed
    account: VenueAccount
    safe: str
    owner: LocalAccount
    executor: LocalAccount

    def usdc(self) -> Decimal:
        return self.chain.deployment.balance("USDC", self.safe)

    def eth(self) -> Decimal:
        return self.chain.deployment.balance("ETH", self.safe)

    def price(self, price: Decimal, *, router: Decimal | None = None) -> None:
        """Our feed's ETH mid, and the router's price (the same unless said)."""
        self.feed.set("ETH", price)
        self.chain.deployment.set_usd_price("ETH", router or price)


def spot_settings(chain: ChainHarness, path: Path) -> Settings:
    chain.deployment.write(path)
    return Settings(arbitrum_rpc_url=chain.anvil.url, spot_chain="local", spot_local_chain_file=path)


@pytest.fixture
def spot(chain: ChainHarness, tmp_path: Path) -> Spot:
    feed = DrivenFeed()
    venue = SafeSpotVenue.from_settings(spot_settings(chain, tmp_path / "chain.json"), feed)
    assert venue is not None
    safe, owner, executor = chain.spot_safe(usdc=Decimal(1000))
    setup = Spot(chain, venue, feed, VenueAccount(1, address=safe, signer=executor), safe, owner, executor)
    setup.price(ETH_PRICE)
    return setup


def buy(size: str = "0.1", cloid: str | None = None, market: str = "ETH") -> OrderRequest:
    return OrderRequest(
        market=market, side=Side.LONG, size=Decimal(size), client_order_id=cloid or new_cloid()
    )


def sell(size: Decimal, cloid: str | None = None) -> OrderRequest:
    return OrderRequest(
        market="ETH", side=Side.LONG, size=size, client_order_id=cloid or new_cloid(), reduce_only=True
    )


def near(value: Decimal, expected: Decimal, tolerance: Decimal = Decimal("1e-9")) -> bool:
    return abs(value - expected) <= tolerance * max(1, abs(expected))


def new_cloid() -> str:
    return "0x" + uuid.uuid4().hex


def test_a_buy_swaps_the_safes_usdc_for_the_token_at_the_routers_price(spot: Spot) -> None:
    order = buy("0.1")
    submitted = spot.venue.submit(spot.account, order)

    fill = submitted.fill
    assert fill is not None and submitted.venue_order_id == fill.venue_order_id
    receipt = spot.chain.w3.eth.get_transaction_receipt(submitted.venue_order_id)
    assert receipt["status"] == 1  # a fill only once the receipt says so
    assert spot.usdc() == Decimal(700)
    # The mock router's integer price leaves the last wei off; the fill says what the Safe received.
    assert fill.size == spot.eth().quantize(Decimal("1e-10"), ROUND_DOWN)
    assert near(fill.size, Decimal("0.1")) and near(fill.price, ETH_PRICE)
    assert (fill.market, fill.side, fill.client_order_id) == ("ETH", Side.LONG, order.client_order_id)
    # The executor paid the gas (in ETH), booked in USD at the ETH mid; the Safe paid none.
    assert fill.fee == gas_fee(receipt["gasUsed"], receipt["effectiveGasPrice"], ETH_PRICE) > 0
    module = spot.chain.deployment.module_contract()
    assert module.functions.fills(spot.safe, order_id(order.client_order_id)).call()[
        3
    ] == spot.chain.deployment.raw_balance("ETH", spot.safe)


def test_status_after_a_crash_finds_the_swap_by_order_id_and_a_second_submit_swaps_nothing(
    spot: Spot,
) -> None:
    order = buy("0.1")
    first = spot.venue.submit(spot.account, order).fill
    # "Crash": the submit's answer is lost; another process asks with the client order id alone.
    again = SafeSpotVenue(spot.venue.chain, spot.chain.w3, spot.feed)
    status = again.status(spot.account, order.client_order_id)
    assert status.state == OrderState.FILLED
    assert status.fill == first and status.venue_order_id == first.venue_order_id

    nonce = spot.chain.w3.eth.get_transaction_count(spot.executor.address)
    repeated = again.submit(spot.account, order)
    assert repeated.fill == first
    assert spot.chain.w3.eth.get_transaction_count(spot.executor.address) == nonce  # nothing sent
    assert spot.usdc() == Decimal(700) and near(spot.eth(), Decimal("0.1"))
    assert again.status(spot.account, new_cloid()).state == OrderState.UNKNOWN


def test_a_price_beyond_the_slippage_guard_is_refused_and_moves_nothing(spot: Spot) -> None:
    spot.price(ETH_PRICE, router=Decimal(3100))  # the pool pays 3.2% fewer tokens than our price says
    order = buy("0.1")
    with pytest.raises(InvalidOrder, match="price moved more than 50 bps"):
        spot.venue.submit(spot.account, order)
    assert (spot.usdc(), spot.eth()) == (Decimal(1000), Decimal(0))
    assert spot.venue.status(spot.account, order.client_order_id).state == OrderState.UNKNOWN


def test_a_swap_that_reverted_on_chain_is_failed_with_its_reason(spot: Spot) -> None:
    """The confirmation rule: a mined transaction whose receipt says failure is no fill."""
    spot.price(ETH_PRICE, router=Decimal(3100))
    order = buy("0.1")
    module = spot.chain.deployment.module_contract()
    usdc, weth = spot.chain.deployment.usdc, spot.chain.deployment.tokens["ETH"].address
    call = module.functions.swap(
        spot.safe, order_id(order.client_order_id), usdc, weth, 500, 300 * 10**6, 995 * 10**14
    )
    w3 = spot.chain.w3
    tx = (
        call.build_transaction(  # a gas limit given: no estimate refuses it first, so it is mined and reverts
            {
                "from": spot.executor.address,
                "nonce": w3.eth.get_transaction_count(spot.executor.address),
                "gas": 600_000,
            }
        )
    )
    tx_hash = w3.eth.send_raw_transaction(spot.executor.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0

    status = spot.venue.status(spot.account, order.client_order_id, "0x" + bytes(tx_hash).hex())
    assert status.state == OrderState.FAILED and status.fill is None
    assert "price moved" in status.reason and "Too little received" in status.reason


def test_an_executor_the_safe_no_longer_allows_cannot_swap(spot: Spot) -> None:
    spot.chain.set_executor(spot.safe, spot.executor.address, False, [spot.owner])
    with pytest.raises(InvalidOrder, match="Safe module not enabled"):
        spot.venue.submit(spot.account, buy("0.1"))
    assert spot.usdc() == Decimal(1000)


def test_a_safe_that_disabled_the_module_cannot_be_swapped(spot: Spot) -> None:
    spot.chain.disable_module(spot.safe, [spot.owner])
    with pytest.raises(InvalidOrder, match=r"Safe module not enabled.*module not enabled"):
        spot.venue.submit(spot.account, buy("0.1"))
    assert spot.usdc() == Decimal(1000)


def test_orders_the_safe_cannot_pay_or_the_venue_cannot_take(spot: Spot) -> None:
    with pytest.raises(InsufficientFunds, match="holds 1000 USDC"):
        spot.venue.submit(spot.account, buy("0.5"))  # $1,500
    with pytest.raises(InvalidOrder, match="under the \\$5 minimum"):
        spot.venue.submit(spot.account, buy("0.001"))
    with pytest.raises(InvalidOrder, match="short"):
        spot.venue.submit(spot.account, OrderRequest("ETH", Side.SHORT, Decimal("0.1"), new_cloid()))
    with pytest.raises(MarketNotListed):
        spot.venue.submit(spot.account, buy("10", market="SOL"))
    with pytest.raises(InvalidOrder, match="no ETH to sell"):
        spot.venue.submit(spot.account, sell(Decimal("0.1")))


def test_a_close_sells_the_position_back_to_usdc(spot: Spot) -> None:
    bought = spot.venue.submit(spot.account, buy("0.1")).fill
    spot.price(Decimal(3300))
    sold = spot.venue.submit(spot.account, sell(bought.size)).fill

    assert (sold.size, sold.side, sold.market) == (bought.size, Side.LONG, "ETH")
    assert near(sold.price, Decimal(3300), Decimal("1e-8"))  # USDC's 6 decimals, rounded down
    assert spot.eth() < Decimal("1e-10")  # what our books' 10 decimals leave behind
    assert near(spot.usdc(), Decimal(1030), Decimal("0.000001"))
    # A close asking for more than the Safe holds sells what it holds.
    spot.venue.submit(spot.account, buy("0.1"))
    held = spot.eth()
    closed = spot.venue.submit(spot.account, sell(Decimal("0.2"))).fill
    assert closed.size == held.quantize(Decimal("1e-10"), ROUND_DOWN) and spot.eth() == 0


def test_balance_and_positions_read_the_safe(spot: Spot) -> None:
    assert spot.venue.positions(spot.account) == []
    spot.venue.submit(spot.account, buy("0.1"))
    spot.chain.deployment.mint("ARB", spot.safe, Decimal("1"))  # worth $0.22 at the feed: dust, no position
    spot.feed.set("ARB", Decimal("0.22"))
    spot.feed.set("ETH", Decimal(3100))

    balance = spot.venue.balance(spot.account)
    assert balance.available == Decimal(700)
    assert balance.equity == Decimal(700) + spot.eth() * 3100 + Decimal("0.22")
    [position] = spot.venue.positions(spot.account)
    assert (position.market, position.side, position.size, position.leverage) == (
        "ETH",
        Side.LONG,
        spot.eth(),
        1,
    )
    assert position.entry_price == Decimal(3100)  # the chain knows no entry: the mid (documented)


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)  # the refresh runs on both elsewhere
def test_listings_carry_each_tokens_address_and_the_refresh_keeps_them(spot: Spot, session) -> None:
    deployment = spot.chain.deployment
    listings = {item.symbol: item for item in spot.venue.listings()}
    assert set(listings) == {"ETH", "ARB", "BTC"}
    eth = listings["ETH"]
    assert (eth.address, eth.decimals, eth.chain) == (deployment.tokens["ETH"].address, 18, "local")
    assert (eth.rules.max_leverage, eth.rules.min_notional, eth.rules.size_decimals) == (1, 5, 8)
    assert listings["BTC"].rules.size_decimals == 8

    refresh_venues(session, [spot.venue], utcnow())
    rows = session.exec(
        select(TokenRegistry).where(TokenRegistry.venue == ExecutionVenue.SPOT).order_by(TokenRegistry.symbol)
    ).all()
    assert [(r.symbol, r.chain, r.address, r.decimals) for r in rows] == [
        ("ARB", "local", deployment.tokens["ARB"].address, 18),
        ("BTC", "local", deployment.tokens["BTC"].address, 8),
        ("ETH", "local", deployment.tokens["ETH"].address, 18),
    ]


def test_a_swap_not_mined_in_time_is_pending_until_its_receipt_says_filled(spot: Spot) -> None:
    w3 = spot.chain.w3
    waiting = SafeSpotVenue(spot.venue.chain, w3, spot.feed, receipt_timeout=0.3, poll_latency=0.05)
    order = buy("0.1")
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        submitted = waiting.submit(spot.account, order)
        assert submitted.fill is None and submitted.venue_order_id is not None
        pending = waiting.status(spot.account, order.client_order_id, submitted.venue_order_id)
        assert pending.state == OrderState.PENDING and spot.usdc() == Decimal(1000)
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])

    mined = waiting.status(spot.account, order.client_order_id, submitted.venue_order_id)
    assert mined.state == OrderState.FILLED and mined.venue_order_id == submitted.venue_order_id
    assert mined.fill.size == spot.eth().quantize(Decimal("1e-10"), ROUND_DOWN)
    assert spot.usdc() == Decimal(700)
