"""approveAgent signed as a browser wallet signs it, checked, submitted to the local server, then used."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL
from hyperliquid.utils.signing import get_timestamp_ms, sign_agent

from backend.models.enums import Side
from backend.venues.base import InvalidOrder, OrderRequest, TemporaryVenueError, VenueAccount
from backend.venues.hyperliquid import HyperliquidVenue
from backend.wallets.approval import (
    approve_agent_action,
    approve_agent_typed_data,
    recover_approver,
    submit_agent_approval,
)
from tests.hyperliquid_server import HyperliquidServer
from tests.venue_support import place

ARBITRUM = 42161


def browser_sign(wallet: LocalAccount, typed_data: dict) -> str:
    """What eth_signTypedData_v4 returns: 0x + r || s || v, from the JSON the page hands the wallet."""
    signed = Account.sign_typed_data(wallet.key, full_message=json.loads(json.dumps(typed_data)))
    return "0x" + bytes(signed.signature).hex()


def test_action_shape() -> None:
    agent = Account.create().address
    action = approve_agent_action(
        agent.lower(), "maxxit-7", 1_700_000_000_000, base_url=TESTNET_API_URL, chain_id=ARBITRUM
    )
    assert action == {
        "type": "approveAgent",
        "hyperliquidChain": "Testnet",
        "signatureChainId": "0xa4b1",
        "agentAddress": agent,
        "agentName": "maxxit-7",
        "nonce": 1_700_000_000_000,
    }
    mainnet = approve_agent_action(agent, "", 1, base_url=MAINNET_API_URL + "/", chain_id=1)
    assert (mainnet["hyperliquidChain"], mainnet["signatureChainId"]) == ("Mainnet", "0x1")
    with pytest.raises(ValueError):
        approve_agent_action("0x1234", "", 1, base_url=TESTNET_API_URL, chain_id=1)


def test_typed_data_is_byte_for_byte_what_the_sdk_signs() -> None:
    user, agent = Account.create(), Account.create()
    nonce = get_timestamp_ms()
    for base_url, is_mainnet in ((TESTNET_API_URL, False), (MAINNET_API_URL, True)):
        # The SDK always signs with signatureChainId 0x66eee (421614).
        action = approve_agent_action(agent.address, "bot", nonce, base_url=base_url, chain_id=0x66EEE)
        typed = approve_agent_typed_data(action)
        assert set(typed) == {"domain", "types", "primaryType", "message"}
        assert (
            "EIP712Domain" in typed["types"] and typed["primaryType"] == "HyperliquidTransaction:ApproveAgent"
        )
        assert typed["domain"]["chainId"] == 0x66EEE
        sdk = sign_agent(
            user,
            {"type": "approveAgent", "agentAddress": agent.address, "agentName": "bot", "nonce": nonce},
            is_mainnet,
        )
        ours = browser_sign(user, typed)
        assert (int(ours[2:66], 16), int(ours[66:130], 16), int(ours[130:], 16)) == (
            int(sdk["r"], 16),
            int(sdk["s"], 16),
            sdk["v"],
        )


def test_browser_signed_approval_lets_the_agent_trade(
    hl_server: HyperliquidServer, hl_user: LocalAccount
) -> None:
    agent = Account.create()
    action = approve_agent_action(
        agent.address, "maxxit-1", get_timestamp_ms(), base_url=hl_server.url, chain_id=ARBITRUM
    )
    signature = browser_sign(hl_user, approve_agent_typed_data(action))
    assert recover_approver(action, signature) == hl_user.address

    submit_agent_approval(hl_server.url, action, signature, timeout=2)
    assert hl_server.agents(hl_user.address) == {"maxxit-1": agent.address}

    hl_server.set_mid("ETH", Decimal("3000"))
    venue = HyperliquidVenue(hl_server.url, timeout=2)
    account = VenueAccount(deployment_id=1, address=hl_user.address, signer=agent)
    fill = place(venue, account, OrderRequest("ETH", Side.LONG, Decimal("0.01"), "0x" + "5" * 32))
    assert (fill.size, fill.price) == (Decimal("0.01"), Decimal(3000))
    assert venue.positions(account)[0].size == Decimal("0.01")


def test_unnamed_agent(hl_server: HyperliquidServer, hl_user: LocalAccount) -> None:
    agent = Account.create()
    action = approve_agent_action(
        agent.address, "", get_timestamp_ms(), base_url=hl_server.url, chain_id=ARBITRUM
    )
    submit_agent_approval(
        hl_server.url, action, browser_sign(hl_user, approve_agent_typed_data(action)), timeout=2
    )
    assert hl_server.agents(hl_user.address) == {"": agent.address}
    assert (
        "agentName" not in hl_server.actions("approveAgent")[-1]
    )  # posted as the SDK posts an unnamed agent


def test_a_signature_by_another_wallet_is_detected(
    hl_server: HyperliquidServer, hl_user: LocalAccount
) -> None:
    other = Account.create()
    action = approve_agent_action(
        Account.create().address, "x", get_timestamp_ms(), base_url=hl_server.url, chain_id=ARBITRUM
    )
    signature = browser_sign(other, approve_agent_typed_data(action))
    assert recover_approver(action, signature) == other.address != hl_user.address
    with pytest.raises(InvalidOrder, match="Must deposit"):  # submitted anyway: it approves for `other`
        submit_agent_approval(hl_server.url, action, signature, timeout=2)
    assert hl_server.agents(hl_user.address) == {}


def test_a_tampered_action_recovers_someone_else(hl_user: LocalAccount) -> None:
    action = approve_agent_action(
        Account.create().address, "x", get_timestamp_ms(), base_url=TESTNET_API_URL, chain_id=ARBITRUM
    )
    signature = browser_sign(hl_user, approve_agent_typed_data(action))
    tampered = {**action, "agentAddress": Account.create().address}
    assert recover_approver(tampered, signature) != hl_user.address
    assert recover_approver({**action, "hyperliquidChain": "Mainnet"}, signature) != hl_user.address


def test_recovery_ids_0_and_1_are_accepted(hl_user: LocalAccount) -> None:
    action = approve_agent_action(
        Account.create().address, "", get_timestamp_ms(), base_url=TESTNET_API_URL, chain_id=ARBITRUM
    )
    signature = browser_sign(hl_user, approve_agent_typed_data(action))
    low_v = signature[:-2] + f"{int(signature[-2:], 16) - 27:02x}"
    assert recover_approver(action, low_v) == hl_user.address


@pytest.mark.parametrize("signature", ["0x1234", "not hex", "0x" + "00" * 65])
def test_malformed_signatures(signature: str) -> None:
    action = approve_agent_action(
        Account.create().address, "", 1, base_url=TESTNET_API_URL, chain_id=ARBITRUM
    )
    with pytest.raises(ValueError):
        recover_approver(action, signature)


def test_a_replayed_approval_nonce_is_refused(hl_server: HyperliquidServer, hl_user: LocalAccount) -> None:
    action = approve_agent_action(
        Account.create().address, "a", get_timestamp_ms(), base_url=hl_server.url, chain_id=ARBITRUM
    )
    signature = browser_sign(hl_user, approve_agent_typed_data(action))
    submit_agent_approval(hl_server.url, action, signature, timeout=2)
    with pytest.raises(InvalidOrder, match="duplicate nonce") as caught:
        submit_agent_approval(hl_server.url, action, signature, timeout=2)
    assert not caught.value.retryable


def test_an_approval_for_the_other_network_is_refused(
    hl_server: HyperliquidServer, hl_user: LocalAccount
) -> None:
    action = approve_agent_action(
        Account.create().address, "a", get_timestamp_ms(), base_url=MAINNET_API_URL, chain_id=ARBITRUM
    )
    signature = browser_sign(hl_user, approve_agent_typed_data(action))
    with pytest.raises(InvalidOrder, match="Mainnet"):
        submit_agent_approval(hl_server.url, action, signature, timeout=2)


def test_network_trouble_is_temporary(hl_server: HyperliquidServer, hl_user: LocalAccount) -> None:
    action = approve_agent_action(
        Account.create().address, "a", get_timestamp_ms(), base_url=hl_server.url, chain_id=ARBITRUM
    )
    signature = browser_sign(hl_user, approve_agent_typed_data(action))
    hl_server.fail_next(503)
    with pytest.raises(TemporaryVenueError):
        submit_agent_approval(hl_server.url, action, signature, timeout=2)
    url = hl_server.url
    hl_server.stop()
    with pytest.raises(TemporaryVenueError):
        submit_agent_approval(url, action, signature, timeout=2)
