"""HyperliquidVenue through the real SDK against the local Hyperliquid server (it checks signatures)."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from backend.config import Settings
from backend.models.enums import ExecutionVenue, Side
from backend.venues.base import (
    Balance,
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    OrderRequest,
    TemporaryVenueError,
    VenueAccount,
)
from backend.venues.hyperliquid import HyperliquidVenue, NonceClock
from backend.venues.hyperliquid_rules import price_tick
from tests.hyperliquid_server import HyperliquidServer
from tests.hyperliquid_server.pytest_plugin import approve_agent
from tests.venue_support import fill_of, place, reduce

_cloids = iter(range(1, 10**6))


def cloid() -> str:
    return f"0x{next(_cloids):032x}"


def order(
    market: str, side: Side, size: str, *, leverage: int = 1, reference: str | None = None
) -> OrderRequest:
    price = Decimal(reference) if reference else None
    return OrderRequest(market, side, Decimal(size), cloid(), Decimal(leverage), reference_price=price)


@pytest.fixture
def venue(hl_server: HyperliquidServer) -> HyperliquidVenue:
    return HyperliquidVenue(hl_server.url, timeout=2)


@pytest.fixture
def account(hl_user: LocalAccount, hl_agent: LocalAccount) -> VenueAccount:
    return VenueAccount(deployment_id=1, address=hl_user.address, signer=hl_agent)


def test_constructor_does_no_network_io() -> None:
    venue = HyperliquidVenue("http://127.0.0.1:9", timeout=0.5)  # nothing listens on port 9
    assert venue.venue is ExecutionVenue.HYPERLIQUID
    assert repr(venue) == "HyperliquidVenue('http://127.0.0.1:9')"
    with pytest.raises(TemporaryVenueError):
        venue.markets()


def test_from_settings(hl_server: HyperliquidServer) -> None:
    venue = HyperliquidVenue.from_settings(
        Settings(hyperliquid_api=hl_server.url, hyperliquid_timeout_seconds=3)
    )
    assert (venue.base_url, venue.timeout) == (hl_server.url, 3)


def test_markets_from_meta_skip_delisted(hl_server: HyperliquidServer, venue: HyperliquidVenue) -> None:
    hl_server.delist("WIF")
    hl_server.set_mid("ETH", Decimal("3000"))
    markets = venue.markets()
    assert "WIF" not in markets and "BTC" in markets
    eth = markets["ETH"]
    assert (eth.size_decimals, eth.min_notional, eth.max_leverage) == (4, Decimal(10), Decimal(25))
    assert eth.tick_size == price_tick(Decimal("3000"), 4) == Decimal("0.1")
    assert eth.min_size == Decimal("0.0001")
    with pytest.raises(MarketNotListed):
        place(venue, VenueAccount(1, "0x" + "1" * 40, Account.create()), order("WIF", Side.LONG, "100"))


def test_mids_are_all_mids_in_one_request(hl_server: HyperliquidServer, venue: HyperliquidVenue) -> None:
    venue.markets()
    before = len(hl_server.info_requests("allMids"))
    hl_server.set_mid("SOL", Decimal("150.25"))
    mids = venue.mids()
    assert mids["SOL"] == Decimal("150.25")
    assert set(mids) == set(venue.markets())
    assert len(hl_server.info_requests("allMids")) == before + 1


def test_open_and_close_long(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount, hl_user: LocalAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    request = order("ETH", Side.LONG, "0.1", leverage=5)
    fill = place(venue, account, request)
    assert (fill.client_order_id, fill.market, fill.side) == (request.client_order_id, "ETH", Side.LONG)
    assert (fill.size, fill.price, fill.fee) == (Decimal("0.1"), Decimal("3000"), Decimal("0.135"))
    assert fill.venue_order_id and fill.filled_at is not None
    sent = hl_server.orders(hl_user.address)[-1]
    assert (sent["limitPx"], sent["cloid"], sent["reduceOnly"]) == ("3030.0", request.client_order_id, False)

    [position] = venue.positions(account)
    assert (position.market, position.side, position.size) == ("ETH", Side.LONG, Decimal("0.1"))
    assert (position.entry_price, position.leverage) == (Decimal(3000), Decimal(5))
    equity = Decimal(10_000) - Decimal("0.135")
    assert venue.balance(account) == Balance(equity=equity, available=equity - 60)

    hl_server.set_mid("ETH", Decimal("3100"))
    assert venue.positions(account)[0].unrealized_pnl == Decimal(10)
    closing = order("ETH", Side.LONG, "0.1")
    closed = reduce(venue, account, closing)
    assert (closed.side, closed.size, closed.price, closed.fee) == (
        Side.LONG,
        Decimal("0.1"),
        3100,
        Decimal("0.1395"),
    )
    last = hl_server.orders(hl_user.address)[-1]
    assert (last["side"], last["reduceOnly"], last["limitPx"]) == ("A", True, "3069.0")
    assert venue.positions(account) == []
    final = Decimal(10_000) + 10 - Decimal("0.135") - Decimal("0.1395")
    assert venue.balance(account) == Balance(equity=final, available=final)


def test_open_and_close_short(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("SOL", Decimal("100"))
    fill = place(venue, account, order("SOL", Side.SHORT, "2", leverage=3))
    assert (fill.side, fill.size, fill.price) == (Side.SHORT, Decimal(2), Decimal(100))
    [position] = venue.positions(account)
    assert (position.side, position.size, position.leverage) == (Side.SHORT, Decimal(2), Decimal(3))

    hl_server.set_mid("SOL", Decimal("90"))
    closed = reduce(venue, account, order("SOL", Side.SHORT, "2"))
    assert (closed.side, closed.price) == (Side.SHORT, Decimal(90))
    assert venue.positions(account) == []
    fees = Decimal("0.09") + Decimal("0.081")
    assert venue.balance(account).equity == Decimal(10_000) + 20 - fees


def test_odd_sizes_are_rounded_down_to_the_step(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    assert place(venue, account, order("ETH", Side.LONG, "0.123456789")).size == Decimal("0.1234")
    hl_server.set_mid("DOGE", Decimal("0.14"))
    assert place(venue, account, order("DOGE", Side.LONG, "150.99")).size == Decimal(150)
    with pytest.raises(InvalidOrder, match="rounds to 0"):
        place(venue, account, order("DOGE", Side.LONG, "0.5"))


def test_limit_price_follows_the_price_rule_for_awkward_mids(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount, hl_user: LocalAccount
) -> None:
    hl_server.set_mid("HYPE", Decimal("24.123"))  # x1.01 = 24.36423: 5 significant figures and 4 decimals
    assert place(venue, account, order("HYPE", Side.LONG, "1")).price == Decimal("24.123")
    assert hl_server.orders(hl_user.address)[-1]["limitPx"] == "24.364"


def test_minimum_value_is_refused_before_sending(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    with pytest.raises(InvalidOrder, match=r"\$10 minimum") as caught:
        place(venue, account, order("ETH", Side.LONG, "0.0033"))  # $9.90
    assert not isinstance(caught.value, InsufficientFunds)
    # A sell is valued at its limit, 1% under the mid: $10.03 at the mid is $9.93 at the limit.
    hl_server.set_mid("SOL", Decimal("100.3"))
    with pytest.raises(InvalidOrder, match=r"\$10 minimum"):
        place(venue, account, order("SOL", Side.SHORT, "0.1"))
    assert hl_server.actions("order") == hl_server.actions("updateLeverage") == []  # nothing went out


def test_leverage_is_capped_at_the_markets_maximum(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    place(venue, account, order("ETH", Side.LONG, "0.01", leverage=100))
    assert venue.positions(account)[0].leverage == Decimal(25)
    assert hl_server.actions("updateLeverage")[-1]["leverage"] == 25


def test_unapproved_agent_gets_the_venues_reason(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, hl_user: LocalAccount
) -> None:
    stranger = Account.create()
    hl_server.set_mid("ETH", Decimal("3000"))
    with pytest.raises(InvalidOrder) as caught:
        place(venue, VenueAccount(2, hl_user.address, stranger), order("ETH", Side.LONG, "0.01"))
    assert caught.value.reason == f"User or API Wallet {stranger.address.lower()} does not exist."
    assert not caught.value.retryable


def test_duplicate_cloid_then_order_status_finds_the_original(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    first = place(venue, account, order("ETH", Side.LONG, "0.01"))
    again = OrderRequest("ETH", Side.LONG, Decimal("0.01"), first.client_order_id)
    with pytest.raises(DuplicateClientOrderId):
        place(venue, account, again)
    assert fill_of(venue, account, first.client_order_id) == first
    assert len(venue.positions(account)) == 1 and venue.positions(account)[0].size == Decimal("0.01")


def test_order_status_of_a_close_names_the_closed_side(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("SOL", Decimal("100"))
    place(venue, account, order("SOL", Side.SHORT, "1"))
    closed = reduce(venue, account, order("SOL", Side.SHORT, "1"))
    assert fill_of(venue, account, closed.client_order_id) == closed
    assert closed.side is Side.SHORT


def test_order_status_is_none_when_unknown_or_unfilled(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    assert fill_of(venue, account, cloid()) is None
    hl_server.set_mid("ETH", Decimal("3000"))
    stale = order("ETH", Side.LONG, "0.01", reference="2900")  # limit 2929 < mid: no match
    with pytest.raises(InvalidOrder, match="could not immediately match"):
        place(venue, account, stale)
    assert fill_of(venue, account, stale.client_order_id) is None


def test_insufficient_margin(hl_server: HyperliquidServer, venue: HyperliquidVenue) -> None:
    poor = Account.create()
    hl_server.fund(poor.address, Decimal(50))
    account = VenueAccount(3, poor.address, approve_agent(hl_server, poor))
    hl_server.set_mid("ETH", Decimal("3000"))
    with pytest.raises(InsufficientFunds, match="Insufficient margin"):
        place(venue, account, order("ETH", Side.LONG, "0.1", leverage=2))  # $150 of margin on $50


def test_missing_signer_or_address(venue: HyperliquidVenue, hl_user: LocalAccount) -> None:
    with pytest.raises(InvalidOrder, match="no agent wallet"):
        place(venue, VenueAccount(4, hl_user.address), order("ETH", Side.LONG, "1"))
    with pytest.raises(InvalidOrder, match="no Hyperliquid account address"):
        venue.balance(VenueAccount(4))


def test_back_to_back_orders_from_one_agent_never_reuse_a_nonce(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("SOL", Decimal("100"))
    errors: list[Exception] = []

    def trade() -> None:
        try:
            for _ in range(3):
                place(venue, account, order("SOL", Side.LONG, "0.2", leverage=2))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=trade) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert venue.positions(account)[0].size == Decimal("2.4")
    assert len(hl_server.actions("updateLeverage")) == 12


def test_nonce_clock_is_strictly_increasing_per_signer() -> None:
    clock = NonceClock()
    nonces = [clock.next("0xAbC") for _ in range(1000)]
    assert nonces == sorted(set(nonces)) and len(nonces) == 1000
    assert clock.next("0xdef") < nonces[-1] + 1000  # another signer has its own sequence, near the time


def test_meta_is_read_once(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    before = len(hl_server.info_requests())  # the fixtures' SDK calls
    for _ in range(3):
        place(venue, account, order("ETH", Side.LONG, "0.01"))
    venue.positions(account)
    venue.mids()
    ours = hl_server.info_requests()[before:]
    assert ours.count("meta") == ours.count("spotMeta") == 1
    assert "perpDexs" not in ours


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount, status: int
) -> None:
    venue.markets()
    hl_server.fail_next(status)
    with pytest.raises(TemporaryVenueError) as caught:
        venue.balance(account)
    assert caught.value.retryable
    assert venue.balance(account).equity == Decimal(10_000)


def test_timeouts_are_temporary(hl_server: HyperliquidServer, account: VenueAccount) -> None:
    venue = HyperliquidVenue(hl_server.url, timeout=0.2)
    venue.markets()
    hl_server.stall_next(1.0)
    with pytest.raises(TemporaryVenueError, match="timed out"):
        venue.mids()


def test_server_down_is_temporary(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    venue.markets()
    hl_server.stop()
    with pytest.raises(TemporaryVenueError) as caught:
        place(venue, account, order("ETH", Side.LONG, "0.01"))
    assert isinstance(caught.value.__cause__, Exception)
    with pytest.raises(TemporaryVenueError):
        venue.balance(account)


def test_the_agent_key_never_reaches_the_logs(
    hl_server: HyperliquidServer,
    venue: HyperliquidVenue,
    account: VenueAccount,
    hl_agent: LocalAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hl_server.set_mid("ETH", Decimal("3000"))
    with caplog.at_level(logging.DEBUG):
        place(venue, account, order("ETH", Side.LONG, "0.01"))
        reduce(venue, account, order("ETH", Side.LONG, "0.01"))
    key = bytes(hl_agent.key).hex()
    assert caplog.text and key not in caplog.text and key not in repr(account)


def test_k_prefixed_perps_speak_per_token(
    hl_server: HyperliquidServer, venue: HyperliquidVenue, account: VenueAccount, hl_user: LocalAccount
) -> None:
    hl_server.set_mid("kPEPE", Decimal("0.010512"))
    pepe = venue.markets()["PEPE"]
    assert "kPEPE" not in venue.markets()
    assert (pepe.size_decimals, pepe.min_size, pepe.tick_size) == (-3, Decimal(1000), Decimal("1E-9"))
    assert venue.mids()["PEPE"] == Decimal("0.000010512")
    [listing] = [item for item in venue.listings() if item.symbol == "PEPE"]
    assert (listing.venue_market, listing.units, listing.name) == ("kPEPE", 1000, "Pepe")

    fill = place(venue, account, order("PEPE", Side.LONG, "1234567.8", leverage=3))
    assert (fill.market, fill.size, fill.price) == ("PEPE", Decimal(1234000), Decimal("0.000010512"))
    sent = hl_server.orders(hl_user.address)[-1]
    assert (sent["coin"], sent["origSz"], sent["limitPx"]) == ("kPEPE", "1234.0", "0.010617")
    [position] = venue.positions(account)
    assert (position.market, position.size, position.entry_price) == (
        "PEPE",
        Decimal(1234000),
        Decimal("0.000010512"),
    )
    assert fill_of(venue, account, fill.client_order_id) == fill

    hl_server.delist("kPEPE")
    venue.listings()  # a refresh reads meta again: the adapter trades with what it says
    assert "PEPE" not in venue.markets()
    with pytest.raises(MarketNotListed, match="delisted"):
        place(venue, account, order("PEPE", Side.LONG, "2000000"))
    closed = reduce(venue, account, order("PEPE", Side.LONG, "1234000"))
    assert (closed.market, closed.size) == ("PEPE", Decimal(1234000))
    assert venue.positions(account) == []
    assert venue.closing_fill(account, "PEPE", Side.LONG) == closed
