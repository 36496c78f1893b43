"""Fixtures for the local Hyperliquid server: a running server, a funded user, and an agent it approved.

Registered for the whole suite from tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.utils.signing import get_timestamp_ms, sign_agent

from backend.sandbox.hyperliquid.server import HyperliquidServer

HL_USER_BALANCE = Decimal(10_000)


@pytest.fixture
def hl_server() -> Iterator[HyperliquidServer]:
    """A fresh testnet server on a free port, stopped after the test."""
    with HyperliquidServer() as server:
        yield server


@pytest.fixture
def hl_user(hl_server: HyperliquidServer) -> LocalAccount:
    """A user's own wallet with $10,000 on the server."""
    user = Account.create()
    hl_server.fund(user.address, HL_USER_BALANCE)
    return user


@pytest.fixture
def hl_agent(hl_server: HyperliquidServer, hl_user: LocalAccount) -> LocalAccount:
    """An agent wallet `hl_user` approved through the SDK's own `Exchange.approve_agent`."""
    return approve_agent(hl_server, hl_user)


def approve_agent(server: HyperliquidServer, user: LocalAccount, name: str | None = None) -> LocalAccount:
    """Approve a fresh agent for `user` exactly as the SDK does it; the agent's account."""
    reply, agent_key = Exchange(user, server.url).approve_agent(name)
    assert reply == {"status": "ok", "response": {"type": "default"}}, reply
    return Account.from_key(agent_key)


def approve_agent_address(server: HyperliquidServer, user: LocalAccount, agent: str, name: str) -> None:
    """`user` approves the agent at `agent` under `name`, signed as the SDK signs it.

    As on Hyperliquid, approving another agent under a name revokes the one that held it: that is how a
    test revokes an agent (approve a fresh one under its name) and re-approves it (this, with its address).
    """
    nonce = get_timestamp_ms()
    action = {"type": "approveAgent", "agentAddress": agent, "agentName": name, "nonce": nonce}
    signature = sign_agent(user, action, is_mainnet=False)
    reply = Exchange(user, server.url)._post_action(action, signature, nonce)
    assert reply == {"status": "ok", "response": {"type": "default"}}, reply
