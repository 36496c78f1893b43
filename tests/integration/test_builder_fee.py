"""The Hyperliquid builder fee on the local server with the real SDK: approveBuilderFee signed as a browser
wallet signs it, maxBuilderFee, and the adapter's builder-coded entry orders."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL
from hyperliquid.utils.signing import get_timestamp_ms, sign_approve_builder_fee

from backend.models.enums import Side
from backend.trading.fees import builder_fee
from backend.venues.base import OrderRequest, VenueAccount
from backend.venues.hyperliquid import HyperliquidVenue
from backend.venues.hyperliquid_builder import BuilderFee
from backend.wallets.builder_fee import (
    approve_builder_fee_action,
    approve_builder_fee_typed_data,
    fee_rate_percent,
    max_builder_fee,
    recover_builder_fee_approver,
    submit_builder_fee_approval,
)
from tests.hyperliquid_server import HyperliquidServer
from tests.venue_support import fill_of, place, reduce

ARBITRUM = 42161
FEE = 10  # tenths of a bp: 0.01%
NOT_APPROVED = {"status": "err", "response": "Builder fee has not been approved."}


@pytest.fixture
def platform() -> str:
    return Account.create().address


def browser_sign(wallet: LocalAccount, typed_data: dict) -> str:
    """What eth_signTypedData_v4 returns: 0x + r || s || v, from the JSON the page hands the wallet."""
    signed = Account.sign_typed_data(wallet.key, full_message=json.loads(json.dumps(typed_data)))
    return "0x" + bytes(signed.signature).hex()


def approve(server: HyperliquidServer, user: LocalAccount, builder: str, tenths: int = FEE) -> None:
    """The user's own wallet approves `builder`, signed in the browser and submitted as the platform does."""
    action = approve_builder_fee_action(
        builder, tenths, get_timestamp_ms(), base_url=server.url, chain_id=ARBITRUM
    )
    submit_builder_fee_approval(
        server.url, action, browser_sign(user, approve_builder_fee_typed_data(action)), timeout=2
    )


def approved_max(server: HyperliquidServer, user: str, builder: str) -> int:
    return API(server.url).post("/info", {"type": "maxBuilderFee", "user": user, "builder": builder})


def test_fee_rates_are_percents() -> None:
    assert [fee_rate_percent(t) for t in (0, 1, 10, 25, 100)] == ["0%", "0.001%", "0.01%", "0.025%", "0.1%"]
    with pytest.raises(ValueError):
        fee_rate_percent(101)


def test_typed_data_is_byte_for_byte_what_the_sdk_signs(platform: str) -> None:
    user = Account.create()
    nonce = get_timestamp_ms()
    for base_url, is_mainnet in ((TESTNET_API_URL, False), (MAINNET_API_URL, True)):
        action = approve_builder_fee_action(platform, FEE, nonce, base_url=base_url, chain_id=0x66EEE)
        typed = approve_builder_fee_typed_data(action)
        assert typed["primaryType"] == "HyperliquidTransaction:ApproveBuilderFee"
        assert typed["message"] == {
            "hyperliquidChain": "Mainnet" if is_mainnet else "Testnet",
            "maxFeeRate": "0.01%",
            "builder": platform.lower(),
            "nonce": nonce,
        }
        sdk_action = {"maxFeeRate": "0.01%", "builder": platform.lower(), "nonce": nonce}
        sdk = sign_approve_builder_fee(user, {**sdk_action, "type": "approveBuilderFee"}, is_mainnet)
        ours = browser_sign(user, typed)
        assert (int(ours[2:66], 16), int(ours[66:130], 16), int(ours[130:], 16)) == (
            int(sdk["r"], 16),
            int(sdk["s"], 16),
            sdk["v"],
        )
        assert recover_builder_fee_approver(action, ours) == user.address


def test_a_tampered_approval_recovers_someone_else(platform: str) -> None:
    user = Account.create()
    action = approve_builder_fee_action(platform, FEE, 1, base_url=TESTNET_API_URL, chain_id=ARBITRUM)
    signature = browser_sign(user, approve_builder_fee_typed_data(action))
    assert recover_builder_fee_approver({**action, "maxFeeRate": "0.1%"}, signature) != user.address
    with pytest.raises(ValueError):
        recover_builder_fee_approver(action, "0x" + "00" * 64 + "1b")


# -- the server ----------------------------------------------------------------------------------------


def test_the_server_refuses_an_unapproved_builder_even_at_fee_0_then_charges_the_approved_fee(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount, platform: str
) -> None:
    hl_server.set_mid("ETH", Decimal(3000))
    trader = Exchange(hl_agent, hl_server.url, account_address=hl_user.address)

    for fee in (0, FEE):
        reply = trader.market_open("ETH", True, 0.01, None, 0.01, builder={"b": platform, "f": fee})
        assert reply == NOT_APPROVED
    assert hl_server.fills(hl_user.address) == []
    assert approved_max(hl_server, hl_user.address, platform) == 0

    # Only the account's main wallet approves a builder fee: the agent cannot.
    refused = Exchange(hl_agent, hl_server.url).approve_builder_fee(platform, "0.01%")
    assert refused["status"] == "err" and "main wallet" in refused["response"]
    assert Exchange(hl_user, hl_server.url).approve_builder_fee(platform, "0.01%")["status"] == "ok"
    assert approved_max(hl_server, hl_user.address, platform) == FEE
    assert approved_max(hl_server, hl_user.address, Account.create().address) == 0

    over = trader.market_open("ETH", True, 0.01, None, 0.01, builder={"b": platform, "f": FEE + 1})
    assert over == NOT_APPROVED
    filled = trader.market_open("ETH", True, 0.01, None, 0.01, builder={"b": platform, "f": FEE})
    assert filled["status"] == "ok" and "filled" in filled["response"]["data"]["statuses"][0], filled
    [fill] = hl_server.fills(hl_user.address)
    assert Decimal(fill["builderFee"]) == Decimal("30") * FEE / 100_000 == Decimal("0.003")
    value = Decimal(
        Exchange(hl_user, hl_server.url).info.user_state(hl_user.address)["marginSummary"]["accountValue"]
    )
    assert value == Decimal(10_000) - Decimal(fill["fee"]) - Decimal(fill["builderFee"])

    plain = trader.market_open("ETH", True, 0.01, None, 0.01)
    assert plain["status"] == "ok"
    assert "builderFee" not in hl_server.fills(hl_user.address)[-1]


def test_the_perp_cap_and_revoking(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount, platform: str
) -> None:
    hl_server.set_mid("ETH", Decimal(3000))
    owner = Exchange(hl_user, hl_server.url)
    trader = Exchange(hl_agent, hl_server.url, account_address=hl_user.address)
    assert owner.approve_builder_fee(platform, "1%")["status"] == "ok"  # the spot cap may be approved
    capped = trader.market_open("ETH", True, 0.01, None, 0.01, builder={"b": platform, "f": 101})
    assert capped["status"] == "err" and "exceeds" in capped["response"]
    assert owner.approve_builder_fee(platform, "1.5%")["status"] == "err"
    assert owner.approve_builder_fee(platform, "0%")["status"] == "ok"  # revoked
    assert approved_max(hl_server, hl_user.address, platform) == 0
    assert trader.market_open("ETH", True, 0.01, None, 0.01, builder={"b": platform, "f": 0}) == NOT_APPROVED


def test_a_browser_signed_approval_is_submitted_and_read_back(
    hl_server: HyperliquidServer, hl_user: LocalAccount, platform: str
) -> None:
    assert max_builder_fee(hl_server.url, hl_user.address, platform, timeout=2) == 0
    approve(hl_server, hl_user, platform)
    assert max_builder_fee(hl_server.url, hl_user.address, platform, timeout=2) == FEE
    [posted] = hl_server.actions("approveBuilderFee")
    assert (posted["maxFeeRate"], posted["builder"]) == ("0.01%", platform.lower())


# -- the adapter ---------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _venue(server: HyperliquidServer, platform: str, clock: Clock) -> HyperliquidVenue:
    venue = HyperliquidVenue(
        server.url, timeout=2, builder=BuilderFee(platform, FEE), builder_ttl=60, clock=clock
    )
    venue.markets()  # the catalog read up front, so the requests counted below are the orders' own
    return venue


def _order(n: int, side: Side = Side.LONG, *, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(
        "ETH", side, Decimal("0.01"), f"0x{n:032x}", reference_price=Decimal(3000), reduce_only=reduce_only
    )


def test_orders_carry_the_builder_only_once_approved_and_the_maximum_is_cached(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount, platform: str
) -> None:
    hl_server.set_mid("ETH", Decimal(3000))
    clock = Clock()
    venue = _venue(hl_server, platform, clock)
    account = VenueAccount(1, hl_user.address, hl_agent)

    first = place(venue, account, _order(1))
    assert first.builder_fee is None
    assert "builder" not in hl_server.actions("order")[-1]
    approve(hl_server, hl_user, platform)
    second = place(venue, account, _order(2))  # within the TTL: still the cached "not approved"
    assert second.builder_fee is None and "builder" not in hl_server.actions("order")[-1]
    assert len(hl_server.info_requests("maxBuilderFee")) == 1

    clock.now += 60
    third = place(venue, account, _order(3))
    assert hl_server.actions("order")[-1]["builder"] == {"b": platform.lower(), "f": FEE}
    fill = hl_server.fills(hl_user.address)[-1]
    assert third.builder_fee == Decimal(fill["builderFee"]) == builder_fee(Decimal(30), FEE)
    place(venue, account, _order(4))
    assert hl_server.actions("order")[-1]["builder"] == {"b": platform.lower(), "f": FEE}
    assert len(hl_server.info_requests("maxBuilderFee")) == 2  # one read per user per TTL
    # A crash between the fill and its record: the fill found again still says what the venue collected.
    assert fill_of(venue, account, f"0x{3:032x}").builder_fee == third.builder_fee

    # Exits never carry the fee: a revoked approval can never stop a close.
    closed = reduce(venue, account, _order(5, reduce_only=True))
    assert closed.builder_fee is None and "builder" not in hl_server.actions("order")[-1]


def test_an_approval_below_the_fee_or_for_another_builder_leaves_the_field_out(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount, platform: str
) -> None:
    hl_server.set_mid("ETH", Decimal(3000))
    approve(hl_server, hl_user, platform, tenths=FEE - 1)
    approve(hl_server, hl_user, Account.create().address)
    venue = _venue(hl_server, platform, Clock())
    fill = place(venue, VenueAccount(1, hl_user.address, hl_agent), _order(1))
    assert fill.builder_fee is None and "builder" not in hl_server.actions("order")[-1]


def test_a_revoked_approval_is_noticed_and_the_order_goes_without_the_fee(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount, platform: str
) -> None:
    hl_server.set_mid("ETH", Decimal(3000))
    approve(hl_server, hl_user, platform)
    venue = _venue(hl_server, platform, Clock())
    account = VenueAccount(1, hl_user.address, hl_agent)
    assert place(venue, account, _order(1)).builder_fee == Decimal("0.003")
    assert Exchange(hl_user, hl_server.url).approve_builder_fee(platform, "0%")["status"] == "ok"

    fill = place(venue, account, _order(2))

    assert fill.builder_fee is None
    tried, sent = hl_server.actions("order")[-2:]
    assert "builder" in tried and "builder" not in sent
    assert len(hl_server.fills(hl_user.address)) == 2
    place(venue, account, _order(3))
    assert "builder" not in hl_server.actions("order")[-1]  # remembered, not tried again
    assert len(hl_server.info_requests("maxBuilderFee")) == 1


def test_an_unreadable_maximum_never_fails_the_order(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount, platform: str
) -> None:
    hl_server.set_mid("ETH", Decimal(3000))
    approve(hl_server, hl_user, platform)
    venue = _venue(hl_server, platform, Clock())
    hl_server.fail_next(503, path="/info")

    fill = place(venue, VenueAccount(1, hl_user.address, hl_agent), _order(1))

    assert fill.builder_fee is None and "builder" not in hl_server.actions("order")[-1]
    place(venue, VenueAccount(1, hl_user.address, hl_agent), _order(2))  # not cached: read again
    assert hl_server.actions("order")[-1]["builder"] == {"b": platform.lower(), "f": FEE}


def test_without_a_builder_configured_nothing_is_read_or_sent(
    hl_server: HyperliquidServer, hl_user: LocalAccount, hl_agent: LocalAccount, platform: str
) -> None:
    hl_server.set_mid("ETH", Decimal(3000))
    approve(hl_server, hl_user, platform)
    venue = HyperliquidVenue(hl_server.url, timeout=2)
    assert place(venue, VenueAccount(1, hl_user.address, hl_agent), _order(1)).builder_fee is None
    assert "builder" not in hl_server.actions("order")[-1]
    assert hl_server.info_requests("maxBuilderFee") == []
