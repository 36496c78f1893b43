"""A spot deployment's Safe on a real EVM (anvil): the owner signs the enable transactions as a browser
wallet does, the executor relays them, the deployment starts only once the chain shows the module enabled;
revoking and modules disabled outside the platform are recorded. Over HTTP, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backend.api import create_api
from backend.auth.sessions import create_session
from backend.config import Settings, get_settings
from backend.db import get_engine
from backend.models import AgentDeployment, SafeExecutor, User
from backend.models.enums import DeploymentStatus, Venue
from backend.spot.accounts import safe_account
from backend.spot.safe_setup import reconcile_executors, spot_chain
from backend.venues.base import InvalidOrder
from backend.wallets.keys import WalletCipher
from tasks import spot as spot_tasks
from tests.chain_support import ChainHarness

Headers = dict[str, str]


@pytest.fixture
def settings(api_settings: Settings, chain: ChainHarness, tmp_path: Path) -> Settings:
    local_file = tmp_path / "spot_local_chain.json"
    chain.deployment.write(local_file)
    return api_settings.model_copy(
        update={
            "arbitrum_rpc_url": chain.anvil.url,
            "spot_chain": "local",
            "spot_local_chain_file": local_file,
        }
    )


@pytest.fixture
def app(engine: sa.Engine, settings: Settings) -> FastAPI:
    """conftest's API (and `client`), on the spot chain's settings."""
    return create_api(engine=engine, settings=settings)


@pytest.fixture
def owner(chain: ChainHarness) -> LocalAccount:
    return chain.new_account()


@pytest.fixture
def user(factory, owner: LocalAccount) -> User:
    return factory.user(address=owner.address.lower())


@pytest.fixture
def headers(session: Session, settings: Settings, user: User) -> Headers:
    issued = create_session(session, user.id, settings=settings)
    return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
def deploy(client: TestClient, factory, headers: Headers) -> Callable[..., Any]:
    agent = factory.agent(venue=Venue.SPOT)

    def post(safe: str, expect: int = 201) -> dict[str, Any]:
        body = {"agent_id": agent.id, "venue": "SPOT", "safe_address": safe}
        reply = client.post("/api/v1/deployments", json=body, headers=headers)
        assert reply.status_code == expect, reply.text
        return reply.json()

    return post


def _executor(session: Session, deployment_id: int) -> SafeExecutor:
    session.expire_all()
    return session.exec(select(SafeExecutor).where(SafeExecutor.deployment_id == deployment_id)).one()


def _sign_all(state: dict[str, Any], signer: LocalAccount) -> dict[str, Any]:
    """What the page posts: each typed data exactly as received, signed as eth_signTypedData_v4 does."""
    signatures = [
        Account.sign_typed_data(signer.key, full_message=tx["typed_data"]).signature.to_0x_hex()
        for tx in state["transactions"]
    ]
    return {"nonce": state["transactions"][0]["nonce"], "signatures": signatures}


@pytest.fixture
def enabled(client, chain, owner, deploy, headers, session) -> tuple[str, dict[str, Any], str, SafeExecutor]:
    """(safe, deployment, its /safe path, executor): the owner signed the module on in the page."""
    safe, _ = chain.new_safe([owner])
    created = deploy(safe)
    path = f"/api/v1/deployments/{created['id']}/safe"
    executor = _executor(session, created["id"])
    chain.deployment.fund_eth(executor.address, 10**17)
    state = client.get(path, headers=headers).json()
    reply = client.post(path, json=_sign_all(state, owner), headers=headers)
    assert reply.status_code == 200, reply.text
    return safe, created, path, executor


def _on_chain(chain: ChainHarness, safe: str, executor: str) -> tuple[bool, bool]:
    module = chain.deployment.module_contract()
    enabled = chain.deployment.safe_contract(safe).functions.isModuleEnabled(module.address).call()
    return enabled, module.functions.isExecutor(safe, executor).call()


def test_an_owner_signing_as_a_browser_wallet_enables_the_module_and_starts_the_deployment(
    client, chain, owner, deploy, headers, session, settings
):
    safe, _ = chain.new_safe([owner])
    created = deploy(safe)
    assert created["status"] == DeploymentStatus.PENDING_APPROVAL
    path = f"/api/v1/deployments/{created['id']}/safe"
    state = client.get(path, headers=headers).json()
    executor = _executor(session, created["id"])
    assert state["executor_address"] == executor.address and state["safe_address"] == safe
    assert state["module_address"] == chain.deployment.module and state["threshold"] == 1
    assert [t["purpose"] for t in state["transactions"]] == ["enable_module", "set_executor"]
    assert [t["nonce"] for t in state["transactions"]] == [0, 1]
    assert sorted(state["tokens"]) == ["ARB", "BTC", "ETH"]
    chain.deployment.fund_eth(executor.address, 10**17)  # the executor pays the relaying gas

    replies = [
        client.get(path, headers=headers),
        client.get(f"{path}/transactions", headers=headers),
        client.post(path, json=_sign_all(state, owner), headers=headers),
        client.get(f"/api/v1/deployments/{created['id']}", headers=headers),
    ]

    assert [r.status_code for r in replies] == [200, 200, 200, 200], [r.text for r in replies]
    done = replies[2].json()
    assert done["enabled"] and done["transactions"] == [] and done["deployment_status"] == "ACTIVE"
    assert _on_chain(chain, safe, executor.address) == (True, True)
    assert replies[3].json()["status"] == DeploymentStatus.ACTIVE
    assert _executor(session, created["id"]).enabled_at is not None
    # The executor's key is in no answer, in any form.
    key = WalletCipher.from_settings(settings).decrypt(executor.address, executor.encrypted_private_key).key
    for reply in replies:
        text = reply.text.lower()
        assert key.hex().lower() not in text and bytes(key).hex() not in text


def test_a_non_owners_signature_is_refused_and_nothing_changes(
    client, chain, owner, deploy, headers, session
):
    safe, _ = chain.new_safe([owner])
    created = deploy(safe)
    path = f"/api/v1/deployments/{created['id']}/safe"
    state = client.get(path, headers=headers).json()
    executor = _executor(session, created["id"])
    chain.deployment.fund_eth(executor.address, 10**17)

    reply = client.post(path, json=_sign_all(state, Account.create()), headers=headers)

    assert reply.status_code == 422, reply.text
    [error] = reply.json()["detail"]
    assert error["field"] == "signatures" and "not an owner" in error["message"]
    assert _on_chain(chain, safe, executor.address) == (False, False)
    assert chain.deployment.safe_contract(safe).functions.nonce().call() == 0
    assert _executor(session, created["id"]).enabled_at is None
    assert session.get(AgentDeployment, created["id"]).status == DeploymentStatus.PENDING_APPROVAL


def test_an_executor_without_gas_is_refused_with_its_address(client, chain, owner, deploy, headers, session):
    safe, _ = chain.new_safe([owner])
    created = deploy(safe)
    path = f"/api/v1/deployments/{created['id']}/safe"
    state = client.get(path, headers=headers).json()
    assert state["executor_has_gas"] is False and Decimal(state["executor_balance_eth"]) == 0

    reply = client.post(path, json=_sign_all(state, owner), headers=headers)

    assert reply.status_code == 409, reply.text
    assert state["executor_address"] in reply.json()["detail"] and "ETH" in reply.json()["detail"]
    assert _on_chain(chain, safe, state["executor_address"]) == (False, False)


def test_cancelling_offers_the_revocation_and_signing_it_disables_the_module(
    enabled, client, chain, owner, headers, session
):
    safe, created, path, executor = enabled
    client.post(f"/api/v1/deployments/{created['id']}/cancel", headers=headers)
    state = client.get(path, headers=headers).json()
    assert [t["purpose"] for t in state["transactions"]] == ["revoke_executor", "disable_module"]

    reply = client.post(path, json=_sign_all(state, owner), headers=headers)

    assert reply.status_code == 200, reply.text
    assert reply.json()["disabled"] and reply.json()["transactions"] == []
    assert _on_chain(chain, safe, executor.address) == (False, False)
    assert _executor(session, created["id"]).disabled_at is not None


def test_a_module_disabled_outside_the_platform_is_noticed_and_the_executor_stops(
    enabled, chain, owner, session, settings
):
    safe, created, _path, executor = enabled
    cipher = WalletCipher.from_settings(settings)
    session.expire_all()  # the API wrote through its own sessions
    deployment = session.get(AgentDeployment, created["id"])
    assert safe_account(session, deployment, cipher).address == safe
    chain.disable_module(safe, [owner])  # in the Safe app, say

    changed = reconcile_executors(session, spot_chain(settings), trial_days=settings.trial_days)

    assert changed == [executor.id]
    assert _executor(session, created["id"]).disabled_at is not None
    with pytest.raises(InvalidOrder, match="Safe module not enabled"):
        safe_account(session, deployment, cipher)


def test_a_safe_needing_two_signatures_goes_through_the_safe_app_and_the_chain_is_followed(
    client, chain, owner, deploy, headers, session
):
    other = chain.new_account()
    safe, _ = chain.new_safe([owner, other], threshold=2)
    created = deploy(safe)
    path = f"/api/v1/deployments/{created['id']}/safe"
    state = client.get(path, headers=headers).json()
    assert state["needs_safe_app"] and state["threshold"] == 2 and "Safe app" in state["message"]
    refused = client.post(path, json=_sign_all(state, owner), headers=headers)
    assert refused.status_code == 409, refused.text
    for tx in state["transactions"]:  # what the owners do in the Safe app
        chain.exec_safe_tx(safe, tx["to"], tx["data"], [owner, other])

    followed = client.get(path, headers=headers).json()

    assert followed["enabled"] and followed["deployment_status"] == DeploymentStatus.ACTIVE


def test_a_safe_the_user_does_not_own_or_no_safe_at_all_is_422_on_safe_address(chain, deploy, session):
    someone_elses, _ = chain.new_safe()
    not_a_safe = chain.new_account().address

    replies = [deploy(someone_elses, expect=422), deploy(not_a_safe, expect=422)]

    assert [[e["field"] for e in r["detail"]] for r in replies] == [["safe_address"], ["safe_address"]]
    assert "not an owner" in replies[0]["detail"][0]["message"]
    assert session.exec(select(AgentDeployment)).first() is None
    assert session.exec(select(SafeExecutor)).first() is None


def test_spot_setup_routes_ask_for_a_session_first(client):
    path = "/api/v1/deployments/1/safe"
    replies = [
        client.get(path),
        client.get(f"{path}/transactions"),
        client.post(path, json={"nonce": 0, "signatures": ["0x" + "ab" * 65]}),
    ]
    assert [r.status_code for r in replies] == [401, 401, 401]


def test_spot_without_a_configured_chain_is_refused_on_venue(api_settings, engine, factory, user, session):
    agent = factory.agent(venue=Venue.SPOT)
    token = create_session(session, user.id, settings=api_settings).token
    body = {"agent_id": agent.id, "venue": "SPOT", "safe_address": Account.create().address}
    with TestClient(create_api(engine=engine, settings=api_settings)) as plain:
        reply = plain.post("/api/v1/deployments", json=body, headers={"Authorization": f"Bearer {token}"})
        owned = plain.get("/api/v1/deployments/1/safe", headers={"Authorization": f"Bearer {token}"})

    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["field"] == "venue"
    assert "no spot chain is configured" in reply.json()["detail"][0]["message"]
    assert owned.status_code in (404, 409)
    assert json.loads(owned.text)["detail"]


def test_the_periodic_task_notices_a_module_disabled_outside_the_platform(
    enabled, chain, owner, session, settings, engine, monkeypatch
):
    safe, created, _path, executor = enabled
    chain.disable_module(safe, [owner])
    for name, value in {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "ARBITRUM_RPC_URL": settings.arbitrum_rpc_url,
        "SPOT_CHAIN": "local",
        "SPOT_LOCAL_CHAIN_FILE": str(settings.spot_local_chain_file),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    get_engine.cache_clear()  # the task's engine is cached by URL: built afresh for this backend
    try:
        assert spot_tasks.reconcile_spot_executors_task.call_local() == [executor.id]
        assert spot_tasks.reconcile_spot_executors_task.call_local() == []  # settled: nothing more to do
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    session.expire_all()
    assert _executor(session, created["id"]).disabled_at is not None
