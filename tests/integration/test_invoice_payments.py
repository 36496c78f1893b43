"""Paying an invoice from the holder's own wallet: a usdSend signed as a browser wallet signs it, checked,
sent to the local Hyperliquid server with the real SDK, and confirmed from the ledger."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.signing import sign_usd_transfer_action
from sqlmodel import Session, col, select

from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.billing.errors import BillingConflict, BillingNotFound, BillingUnavailable, PaymentRejected
from backend.billing.payments import (
    NONCE_WINDOW,
    PAYMENT_WINDOW,
    confirm_payments,
    prepare_payment,
    submit_payment,
)
from backend.billing.schemas import PaymentRequest, PaymentSubmit
from backend.billing.usd_send import (
    ledger_sends,
    recover_sender,
    submit_usd_send,
    usd_amount,
    usd_send_action,
    usd_send_typed_data,
)
from backend.config import Settings
from backend.models import AuditLog, Invoice, InvoicePayment, User
from backend.models.enums import BillingStatus, InvoiceStatus, PaymentStatus, Role
from backend.venues.base import InvalidOrder
from tests import billing_support as billing
from tests.factories import Factory
from tests.hyperliquid_server import HyperliquidServer
from tests.hyperliquid_server.pytest_plugin import approve_agent

ARBITRUM = 42161
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
TOTAL = Decimal("20.500000")


def browser_sign(wallet: LocalAccount, typed_data: dict) -> str:
    """What eth_signTypedData_v4 returns: 0x + r || s || v, from the JSON the page hands the wallet."""
    signed = Account.sign_typed_data(wallet.key, full_message=json.loads(json.dumps(typed_data)))
    return "0x" + bytes(signed.signature).hex()


@pytest.fixture
def platform() -> LocalAccount:
    return Account.create()


@pytest.fixture
def settings(hl_server: HyperliquidServer, platform: LocalAccount) -> Settings:
    hl_server.state.clock = NOW.timestamp  # the venue's clock is the test's: nonces are judged against NOW
    return Settings(
        hyperliquid_api=hl_server.url, platform_address=platform.address, hyperliquid_timeout_seconds=5
    )


@pytest.fixture
def holder(factory: Factory, hl_user: LocalAccount) -> User:
    return factory.user(address=hl_user.address.lower())


@pytest.fixture
def me(holder: User) -> CurrentUser:
    return CurrentUser(holder.id, holder.address, Role.TRADER)


def open_invoice(session: Session, user: User, month: datetime = NOVEMBER, total: Decimal = TOTAL) -> Invoice:
    invoice = billing.invoice(
        session, user, month, status=InvoiceStatus.OPEN, total=total, number=f"MX-{month:%Y-%m}-000001"
    )
    billing.line(session, user, str(total), at=month, status=BillingStatus.INVOICED, invoice_id=invoice.id)
    return invoice


@pytest.fixture
def invoice(session: Session, holder: User) -> Invoice:
    return open_invoice(session, holder)


def prepared(session: Session, me: CurrentUser, invoice: Invoice, settings: Settings) -> PaymentRequest:
    return prepare_payment(session, me, invoice.id, settings=settings, chain_id=ARBITRUM, now=NOW)


def signed(request: PaymentRequest, wallet: LocalAccount, **changes: object) -> PaymentSubmit:
    """The holder's (or another) wallet signs the prepared send, or one with `changes` to its fields."""
    typed = usd_send_typed_data({**request.action, **changes})
    return PaymentSubmit(
        payment_id=request.payment_id, signature=browser_sign(wallet, typed), chain_id=ARBITRUM
    )


def payment_actions(session: Session) -> list[str]:
    rows = session.exec(
        select(AuditLog.action).where(AuditLog.entity_type == "invoice_payment").order_by(col(AuditLog.id))
    )
    return list(rows)


def withdrawable(hl_server: HyperliquidServer, address: str) -> Decimal:
    with hl_server.state.lock:
        account = hl_server.state.account(address)
        return Decimal(0) if account is None else account.withdrawable(hl_server.state.mids())


# -- the usdSend helpers ------------------------------------------------------------------------------


def test_action_shape_and_amount_strings() -> None:
    destination = Account.create().address
    action = usd_send_action(
        destination, Decimal("20.500000"), 1_700_000_000_000, base_url="http://x", chain_id=1
    )
    assert action == {
        "type": "usdSend",
        "hyperliquidChain": "Testnet",
        "signatureChainId": "0x1",
        "destination": destination.lower(),
        "amount": "20.5",
        "time": 1_700_000_000_000,
    }
    assert usd_send_action(destination, Decimal(1), 1, base_url=MAINNET_API_URL, chain_id=1)[
        "hyperliquidChain"
    ] == ("Mainnet")
    assert [usd_amount(Decimal(v)) for v in ("20", "0.000001", "1234.560000")] == [
        "20.0",
        "0.000001",
        "1234.56",
    ]
    for bad in ("0", "-1", "0.0000001", "NaN"):
        with pytest.raises(ValueError):
            usd_amount(Decimal(bad))
    with pytest.raises(ValueError):
        usd_send_action("0x1234", Decimal(1), 1, base_url="http://x", chain_id=1)


def test_typed_data_is_what_the_sdk_signs() -> None:
    user, destination = Account.create(), Account.create().address.lower()
    action = usd_send_action(
        destination, Decimal("12.5"), 1_700_000_000_000, base_url="http://x", chain_id=0x66EEE
    )
    typed = usd_send_typed_data(action)
    assert typed["primaryType"] == "HyperliquidTransaction:UsdSend" and typed["domain"]["chainId"] == 0x66EEE
    assert set(typed["message"]) == {"hyperliquidChain", "destination", "amount", "time"}
    sdk = sign_usd_transfer_action(
        user,
        {"type": "usdSend", "destination": destination, "amount": "12.5", "time": 1_700_000_000_000},
        False,
    )
    ours = browser_sign(user, typed)
    assert (int(ours[2:66], 16), int(ours[66:130], 16), int(ours[130:], 16)) == (
        int(sdk["r"], 16),
        int(sdk["s"], 16),
        sdk["v"],
    )
    assert recover_sender(action, ours) == user.address
    with pytest.raises(ValueError):
        recover_sender(action, "0x" + "00" * 65)


# -- the local server's usdSend and ledger ------------------------------------------------------------


def test_the_server_moves_usdc_and_shows_it_in_both_ledgers(
    hl_server: HyperliquidServer, hl_user: LocalAccount, platform: LocalAccount
) -> None:
    hl_server.state.clock = NOW.timestamp
    nonce = int(NOW.timestamp() * 1000)
    action = usd_send_action(platform.address, TOTAL, nonce, base_url=hl_server.url, chain_id=ARBITRUM)
    submit_usd_send(hl_server.url, action, browser_sign(hl_user, usd_send_typed_data(action)), timeout=5)
    assert withdrawable(hl_server, hl_user.address) == Decimal(10_000) - TOTAL
    assert withdrawable(hl_server, platform.address) == TOTAL  # a new destination gets an account
    for who in (hl_user.address, platform.address):
        (send,) = ledger_sends(hl_server.url, who, nonce - 1000, timeout=5)
        assert (send.sender, send.destination, send.amount, send.nonce, send.time) == (
            hl_user.address.lower(),
            platform.address.lower(),
            TOTAL,
            nonce,
            nonce,
        )
    assert ledger_sends(hl_server.url, hl_user.address, nonce + 1, timeout=5) == []
    body = {"type": "userNonFundingLedgerUpdates", "user": platform.address, "startTime": 0}
    raw = API(hl_server.url, 5).post("/info", body)
    assert raw[0]["delta"] | {"user": "", "destination": ""} == {
        "type": "send", "user": "", "destination": "", "sourceDex": "", "destinationDex": "", "token": "USDC",
        "amount": "20.5", "usdcValue": "20.5", "fee": "0.0", "nativeTokenFee": "0.0", "nonce": nonce,
    }  # fmt: skip

    with pytest.raises(InvalidOrder, match="duplicate nonce"):  # a replay
        submit_usd_send(hl_server.url, action, browser_sign(hl_user, usd_send_typed_data(action)), timeout=5)
    too_much = usd_send_action(
        platform.address, Decimal(20_000), nonce + 1, base_url=hl_server.url, chain_id=1
    )
    with pytest.raises(InvalidOrder, match="Insufficient balance"):
        submit_usd_send(
            hl_server.url, too_much, browser_sign(hl_user, usd_send_typed_data(too_much)), timeout=5
        )
    assert withdrawable(hl_server, hl_user.address) == Decimal(10_000) - TOTAL


def test_an_agent_wallet_cannot_send_the_users_money(
    hl_server: HyperliquidServer, hl_user: LocalAccount
) -> None:
    agent = approve_agent(hl_server, hl_user)
    reply = Exchange(agent, hl_server.url, account_address=hl_user.address).usd_transfer(
        1.0, Account.create().address
    )
    assert reply["status"] == "err" and reply["response"].startswith("Must deposit before performing actions")
    assert withdrawable(hl_server, hl_user.address) == Decimal(10_000)
    reply = Exchange(hl_user, hl_server.url).usd_transfer(1.0, Account.create().address)  # the SDK's own send
    assert reply == {"status": "ok", "response": {"type": "default"}}


# -- paying ------------------------------------------------------------------------------------------


def test_the_holder_pays_and_the_invoice_is_paid_once_the_ledger_shows_it(
    session, hl_server, hl_user, platform, settings, me, invoice
) -> None:
    request = prepared(session, me, invoice, settings)
    assert (request.amount, request.destination, request.invoice_id) == (
        TOTAL,
        platform.address.lower(),
        invoice.id,
    )
    assert request.expires_at == NOW + PAYMENT_WINDOW
    assert request.typed_data["message"]["amount"] == "20.5"

    out = submit_payment(session, me, invoice.id, signed(request, hl_user), settings=settings, now=NOW)

    assert out.status == PaymentStatus.CONFIRMED and out.tx_hash and out.confirmed_at == NOW
    assert billing.fresh(session, Invoice, invoice.id).status == InvoiceStatus.PAID
    assert billing.fresh(session, Invoice, invoice.id).paid_at == NOW
    assert len(hl_server.actions("usdSend")) == 1
    assert withdrawable(hl_server, platform.address) == TOTAL
    assert payment_actions(session) == [Action.PAYMENT_SUBMITTED, Action.PAYMENT_CONFIRMED]
    assert billing.actions(session, "invoice", invoice.id) == [Action.INVOICE_PAID]
    assert confirm_payments(session, settings=settings, now=NOW + timedelta(minutes=1)) == 0

    # A second Pay is refused before anything is sent: no new request, no replayed signature.
    with pytest.raises(BillingConflict, match="already paid"):
        prepared(session, me, invoice, settings)
    with pytest.raises(BillingConflict, match="already paid"):
        submit_payment(session, me, invoice.id, signed(request, hl_user), settings=settings, now=NOW)
    assert len(hl_server.actions("usdSend")) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("another account", "signature"),
        ("another amount", "signature"),
        ("another destination", "signature"),
        ("another network", "signature"),
        ("expired", "payment_id"),
        ("another invoice's payment", "payment_id"),
        ("replaced by a newer request", "payment_id"),
    ],
)
def test_a_signature_for_anything_else_is_refused_and_changes_nothing(
    session, hl_server, hl_user, settings, me, holder, invoice, change, field
) -> None:
    request = prepared(session, me, invoice, settings)
    body, target, now = signed(request, hl_user), invoice.id, NOW + timedelta(minutes=1)
    if change == "another account":
        body = signed(request, Account.create())
    elif change == "another amount":
        body = signed(request, hl_user, amount="2.05")
    elif change == "another destination":
        body = signed(request, hl_user, destination=Account.create().address.lower())
    elif change == "another network":
        body = signed(request, hl_user, hyperliquidChain="Mainnet")
    elif change == "expired":
        now = NOW + PAYMENT_WINDOW + timedelta(seconds=1)
    elif change == "another invoice's payment":
        target = open_invoice(session, holder, OCTOBER).id
    else:
        prepared(session, me, invoice, settings)

    with pytest.raises(PaymentRejected) as refused:
        submit_payment(session, me, target, body, settings=settings, now=now)

    assert refused.value.field == field, refused.value.message
    assert hl_server.actions("usdSend") == []
    assert billing.fresh(session, Invoice, target).status == InvoiceStatus.OPEN
    statuses = session.exec(select(InvoicePayment.status).order_by(col(InvoicePayment.id))).all()
    assert PaymentStatus.SUBMITTED not in statuses
    assert payment_actions(session) == []


def test_a_used_nonce_is_refused_without_sending_again(
    session, hl_server, hl_user, settings, me, invoice
) -> None:
    """The venue refuses the first try (not enough money): the same signature later is a replay."""
    hl_server.state.account(hl_user.address).cash = Decimal(5)
    request = prepared(session, me, invoice, settings)
    body = signed(request, hl_user)
    with pytest.raises(PaymentRejected, match="Insufficient balance"):
        submit_payment(session, me, invoice.id, body, settings=settings, now=NOW)
    assert billing.fresh(session, InvoicePayment, request.payment_id).status == PaymentStatus.REJECTED
    assert payment_actions(session) == [Action.PAYMENT_SUBMITTED, Action.PAYMENT_REJECTED]

    hl_server.fund(hl_user.address, 100)
    with pytest.raises(PaymentRejected) as refused:
        submit_payment(session, me, invoice.id, body, settings=settings, now=NOW + timedelta(minutes=1))
    assert refused.value.field == "payment_id"
    assert len(hl_server.actions("usdSend")) == 1
    again = prepared(session, me, invoice, settings)  # the invoice is still payable, with a fresh nonce
    assert again.action["time"] > request.action["time"]


def test_someone_elses_invoice_is_not_found_and_no_platform_address_means_no_payments(
    session, factory, settings, me, invoice
) -> None:
    stranger = factory.user()
    with pytest.raises(BillingNotFound):
        prepare_payment(
            session, CurrentUser(stranger.id, stranger.address, Role.TRADER), invoice.id, settings=settings,
            chain_id=ARBITRUM, now=NOW,
        )  # fmt: skip
    with pytest.raises(BillingNotFound):
        prepare_payment(session, me, invoice.id + 1000, settings=settings, chain_id=ARBITRUM, now=NOW)
    off = settings.model_copy(update={"platform_address": None})
    with pytest.raises(BillingUnavailable):
        prepare_payment(session, me, invoice.id, settings=off, chain_id=ARBITRUM, now=NOW)
    body = PaymentSubmit(payment_id=1, signature="0x" + "11" * 65)
    with pytest.raises(BillingUnavailable):
        submit_payment(session, me, invoice.id, body, settings=off, now=NOW)


@pytest.mark.parametrize("status", [InvoiceStatus.VOID, InvoiceStatus.DRAFT, InvoiceStatus.UNCOLLECTIBLE])
def test_only_an_open_invoice_can_be_paid(session, settings, me, holder, status) -> None:
    invoice = billing.invoice(session, holder, NOVEMBER, status=status, total=TOTAL)
    with pytest.raises(BillingConflict):
        prepare_payment(session, me, invoice.id, settings=settings, chain_id=ARBITRUM, now=NOW)


# -- a crash, a hiccup, a race ------------------------------------------------------------------------


def test_a_crash_after_sending_is_recovered_by_confirmation_never_by_sending_again(
    session, hl_server, hl_user, settings, me, invoice
) -> None:
    """The payment was committed SUBMITTED and posted, then the process died before confirming."""
    request = prepared(session, me, invoice, settings)
    body = signed(request, hl_user)
    session.execute(
        sa.update(InvoicePayment)
        .where(col(InvoicePayment.id) == request.payment_id)
        .values(status=PaymentStatus.SUBMITTED, submitted_at=NOW)
    )
    session.commit()
    submit_usd_send(hl_server.url, request.action, body.signature, timeout=5)  # ... and then the crash

    with pytest.raises(BillingConflict, match="awaiting"):  # Pay again meanwhile: refused, nothing sent
        prepared(session, me, invoice, settings)
    assert confirm_payments(session, settings=settings, now=NOW + timedelta(minutes=1)) == 1

    payment = billing.fresh(session, InvoicePayment, request.payment_id)
    assert payment.status == PaymentStatus.CONFIRMED and payment.tx_hash
    assert billing.fresh(session, Invoice, invoice.id).status == InvoiceStatus.PAID
    assert len(hl_server.actions("usdSend")) == 1


def test_an_unreadable_ledger_leaves_the_payment_for_the_periodic_check(
    session, hl_server, hl_user, settings, me, invoice
) -> None:
    request = prepared(session, me, invoice, settings)
    hl_server.fail_next(503, path="/info")
    out = submit_payment(session, me, invoice.id, signed(request, hl_user), settings=settings, now=NOW)
    assert out.status == PaymentStatus.SUBMITTED
    assert billing.fresh(session, Invoice, invoice.id).status == InvoiceStatus.OPEN
    assert confirm_payments(session, settings=settings, now=NOW + timedelta(minutes=1)) == 1
    assert billing.fresh(session, Invoice, invoice.id).status == InvoiceStatus.PAID
    assert len(hl_server.actions("usdSend")) == 1


def test_a_send_the_venue_never_got_is_given_up_after_the_nonce_window(
    session, hl_server, hl_user, settings, me, invoice
) -> None:
    """Hyperliquid timed out on the post and never executed it: once the nonce is too old to go through,
    the payment is REJECTED and the invoice can be paid again."""
    request = prepared(session, me, invoice, settings)
    hl_server.fail_next(503, path="/exchange")
    out = submit_payment(session, me, invoice.id, signed(request, hl_user), settings=settings, now=NOW)
    assert out.status == PaymentStatus.SUBMITTED
    assert confirm_payments(session, settings=settings, now=NOW + timedelta(hours=1)) == 0
    assert confirm_payments(session, settings=settings, now=NOW + NONCE_WINDOW) == 1
    payment = billing.fresh(session, InvoicePayment, request.payment_id)
    assert (payment.status, payment.reason) == (
        PaymentStatus.REJECTED,
        "never seen in the Hyperliquid ledger",
    )
    assert billing.fresh(session, Invoice, invoice.id).status == InvoiceStatus.OPEN
    assert hl_server.actions("usdSend") == []  # the 503 was answered before the server took the action
    prepared(session, me, invoice, settings)


def test_unsigned_requests_expire(session, settings, me, invoice) -> None:
    request = prepared(session, me, invoice, settings)
    assert confirm_payments(session, settings=settings, now=NOW + PAYMENT_WINDOW) == 0
    assert confirm_payments(session, settings=settings, now=NOW + PAYMENT_WINDOW + timedelta(seconds=1)) == 1
    assert billing.fresh(session, InvoicePayment, request.payment_id).status == PaymentStatus.EXPIRED


def test_two_racing_submits_send_once(engine, session, hl_server, hl_user, settings, me, invoice) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    request = prepared(session, me, invoice, settings)
    body = signed(request, hl_user)
    hl_server.stall_next(0.5, path="/exchange")  # the first sender holds on while the second arrives
    start, outcomes = threading.Barrier(2), []

    def pay() -> None:
        with Session(engine, expire_on_commit=False) as own:
            start.wait()
            try:
                outcomes.append(submit_payment(own, me, invoice.id, body, settings=settings, now=NOW).status)
            except BillingConflict as e:
                outcomes.append(type(e).__name__)

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["BillingConflict", PaymentStatus.CONFIRMED]
    assert len(hl_server.actions("usdSend")) == 1
    assert billing.fresh(session, Invoice, invoice.id).status == InvoiceStatus.PAID
    assert session.exec(select(InvoicePayment.status)).all() == [PaymentStatus.CONFIRMED]
