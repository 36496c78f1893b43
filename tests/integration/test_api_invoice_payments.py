"""REST: paying an invoice from the wallet (owner only, 401 first), against the local Hyperliquid server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlmodel import Session

from backend.api import create_api
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import Invoice, User
from backend.models.enums import BillingStatus, InvoiceStatus
from tests import billing_support as billing
from tests.factories import Factory
from tests.hyperliquid_server import HyperliquidServer

ARBITRUM_SEPOLIA = 421614
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
Headers = dict[str, str]


@pytest.fixture
def platform() -> LocalAccount:
    return Account.create()


@pytest.fixture
def pay_settings(api_settings: Settings, hl_server: HyperliquidServer, platform: LocalAccount) -> Settings:
    return api_settings.model_copy(
        update={"hyperliquid_api": hl_server.url, "platform_address": platform.address}
    )


@pytest.fixture
def pay_client(engine: sa.Engine, pay_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_api(engine=engine, settings=pay_settings)) as c:
        yield c


@pytest.fixture
def signed_in(session: Session, pay_settings: Settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        return {"Authorization": f"Bearer {create_session(session, user.id, settings=pay_settings).token}"}

    return headers


@pytest.fixture
def holder(factory: Factory, hl_user: LocalAccount) -> User:
    return factory.user(address=hl_user.address.lower())


@pytest.fixture
def invoice(session: Session, holder: User) -> Invoice:
    row = billing.invoice(
        session,
        holder,
        NOVEMBER,
        status=InvoiceStatus.OPEN,
        total=Decimal("20"),
        number="MX-2026-11-000001",
    )
    billing.line(session, holder, "20", at=NOVEMBER, status=BillingStatus.INVOICED, invoice_id=row.id)
    return row


def paths(invoice_id: int) -> tuple[str, str]:
    base = f"/api/v1/billing/invoices/{invoice_id}/payment"
    return base, base + "/submit"


def sign(wallet: LocalAccount, typed_data: dict) -> str:
    return "0x" + bytes(Account.sign_typed_data(wallet.key, full_message=typed_data).signature).hex()


def test_signed_out_is_401_first_and_someone_elses_invoice_is_404(
    pay_client, factory, signed_in, invoice
) -> None:
    prepare, submit = paths(invoice.id)
    assert pay_client.post(prepare, json={"chain_id": 1}).status_code == 401
    assert pay_client.post(submit, json={"payment_id": "x", "extra": 1}).status_code == 401  # before the body
    stranger = signed_in(factory.user())
    assert pay_client.post(prepare, json={}, headers=stranger).status_code == 404
    body = {"payment_id": 1, "signature": "0x" + "11" * 65}
    assert pay_client.post(submit, json=body, headers=stranger).status_code == 404
    assert pay_client.post(paths(invoice.id + 999)[0], json={}, headers=stranger).status_code == 404


def test_the_holder_pays_from_the_wallet(
    pay_client, session, signed_in, holder, invoice, hl_server, hl_user, platform
) -> None:
    prepare, submit = paths(invoice.id)
    headers = signed_in(holder)
    reply = pay_client.post(prepare, json={"chain_id": ARBITRUM_SEPOLIA}, headers=headers)
    assert reply.status_code == 200, reply.text
    request = reply.json()
    assert (request["amount"], request["destination"]) == ("20.000000", platform.address.lower())
    assert request["typed_data"]["domain"]["chainId"] == ARBITRUM_SEPOLIA

    # Another wallet's signature: 422 on `signature`, nothing sent.
    stranger = sign(Account.create(), request["typed_data"])
    body = {"payment_id": request["payment_id"], "signature": stranger, "chain_id": ARBITRUM_SEPOLIA}
    reply = pay_client.post(submit, json=body, headers=headers)
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "signature", reply.text
    assert hl_server.actions("usdSend") == []

    body["signature"] = sign(hl_user, request["typed_data"])
    reply = pay_client.post(submit, json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "CONFIRMED" and reply.json()["tx_hash"]
    assert billing.fresh(session, Invoice, invoice.id).status == InvoiceStatus.PAID

    # Paying it again: 409, before anything is sent.
    assert pay_client.post(prepare, json={}, headers=headers).status_code == 409
    again = pay_client.post(submit, json=body, headers=headers)
    assert again.status_code == 409 and "already paid" in again.json()["detail"]
    assert len(hl_server.actions("usdSend")) == 1


def test_bad_bodies_and_payments_switched_off(
    engine, pay_client, pay_settings, signed_in, holder, invoice, hl_server
) -> None:
    prepare, submit = paths(invoice.id)
    headers = signed_in(holder)
    for body in ({"payment_id": 1, "signature": "0x12"}, {"payment_id": 0, "signature": "0x" + "11" * 65}):
        reply = pay_client.post(submit, json=body, headers=headers)
        assert reply.status_code == 422, reply.text
    assert pay_client.post(prepare, json={"chain_id": 0}, headers=headers).status_code == 422
    assert pay_client.post(prepare, json={"chain": 1}, headers=headers).status_code == 422
    off = pay_settings.model_copy(update={"platform_address": None})
    with TestClient(create_api(engine=engine, settings=off)) as client:
        reply = client.post(prepare, json={}, headers=headers)
    assert reply.status_code == 409 and "PLATFORM_ADDRESS" in reply.json()["detail"]
    assert hl_server.actions("usdSend") == []
