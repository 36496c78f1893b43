"""Billing changes over HTTP, on SQLite and PostgreSQL: a trader cancels a subscription; an operator voids an
invoice, writes one off, waives a line and records payouts. Each answers the changed thing as every page reads
it, is audited, and refuses what does not fit (404 someone else's, 409 the wrong state, 422 on the field)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from backend.audit import Action
from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import AuditLog, BillingEvent, Invoice, Payout, Subscription, User
from backend.models.common import utcnow
from backend.models.enums import BillingStatus, PaymentStatus, SubscriptionStatus
from tests.billing_support import Ledger, build_ledger, payment, subscription

Headers = dict[str, str]
D = Decimal
REASON = {"reason": "goodwill gesture"}


def tx(n: int) -> str:
    return f"0x{n:064x}"


@pytest.fixture
def ledger(session: Session, factory) -> Ledger:
    return build_ledger(session, factory)


@pytest.fixture
def signed_in(session: Session, api_settings: Settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        return {"Authorization": f"Bearer {create_session(session, user.id, settings=api_settings).token}"}

    return headers


@pytest.fixture
def operator(ledger, signed_in) -> Headers:
    return signed_in(ledger.operator)


def _audits(session: Session, action: str) -> int:
    return session.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).one()


def _totals_agree(client, ledger: Ledger, headers: Headers, session: Session) -> None:
    """Every invoice's total as read is the total the ledger stored: both are sums of the same lines."""
    session.expire_all()
    for summary in client.get("/api/v1/billing/invoices", headers=headers).json():
        assert D(summary["total_usd"]) == session.get(Invoice, summary["id"]).total_usd, summary["month"]


def _statuses(session: Session, invoice_id: int) -> set[str]:
    session.expire_all()
    return set(session.exec(select(BillingEvent.status).where(BillingEvent.invoice_id == invoice_id)).all())


# -- subscriptions -------------------------------------------------------------------------------------------


def test_a_paid_period_is_canceled_at_its_end_and_a_trial_at_once(
    client, ledger, signed_in, session, factory
):
    trader = signed_in(ledger.trader)
    now = utcnow()
    sub = session.get(Subscription, ledger.subscription.id)
    sub.current_period_start, sub.current_period_end = now - timedelta(days=5), now + timedelta(days=25)
    session.add(sub)
    session.commit()

    reply = client.post(f"/api/v1/billing/subscriptions/{sub.id}/cancel", headers=trader)

    assert reply.status_code == 200, reply.text
    assert (reply.json()["status"], reply.json()["cancel_at_period_end"]) == ("ACTIVE", True)
    assert _audits(session, Action.SUBSCRIPTION_CANCEL_REQUESTED) == 1
    again = client.post(f"/api/v1/billing/subscriptions/{sub.id}/cancel", headers=trader)
    assert again.status_code == 409

    other = factory.deployment(ledger.agent, ledger.trader, venue="HYPERLIQUID")
    trial = subscription(session, other, SubscriptionStatus.TRIALING, trial_ends_at=now + timedelta(days=20))
    reply = client.post(f"/api/v1/billing/subscriptions/{trial.id}/cancel", headers=trader)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "CANCELED" and reply.json()["canceled_at"] is not None
    assert client.post(f"/api/v1/billing/subscriptions/{trial.id}/cancel", headers=trader).status_code == 409


def test_someone_elses_subscription_is_404_and_unchanged(client, ledger, signed_in, session):
    reply = client.post(
        f"/api/v1/billing/subscriptions/{ledger.subscription.id}/cancel", headers=signed_in(ledger.stranger)
    )
    assert reply.status_code == 404
    assert (
        client.post(
            "/api/v1/billing/subscriptions/999999/cancel", headers=signed_in(ledger.trader)
        ).status_code
        == 404
    )
    session.expire_all()
    sub = session.get(Subscription, ledger.subscription.id)
    assert (sub.status, sub.cancel_at_period_end) == (SubscriptionStatus.ACTIVE, False)


# -- invoices and lines --------------------------------------------------------------------------------------


def test_an_operator_voids_an_open_invoice_and_it_owes_nothing(client, ledger, signed_in, operator, session):
    path = f"/api/v1/admin/billing/invoices/{ledger.october.id}/void"

    reply = client.post(path, json=REASON, headers=operator)

    assert reply.status_code == 200, reply.text
    voided = reply.json()
    assert (voided["status"], voided["closed_reason"], D(voided["total_usd"])) == (
        "VOID",
        REASON["reason"],
        D(0),
    )
    assert {x["status"] for x in voided["lines"]} == {"WAIVED"}
    assert _statuses(session, ledger.october.id) == {BillingStatus.WAIVED}
    assert _audits(session, Action.INVOICE_VOIDED) == 1
    overview = client.get("/api/v1/billing", headers=signed_in(ledger.trader)).json()
    assert D(overview["outstanding_usd"]) == D(0)

    assert client.post(path, json=REASON, headers=operator).status_code == 409
    assert _audits(session, Action.INVOICE_VOIDED) == 1
    _totals_agree(client, ledger, signed_in(ledger.trader), session)


def test_an_invoice_with_a_payment_awaiting_confirmation_is_left_alone(client, ledger, operator, session):
    payment(session, ledger.october, ledger.trader, PaymentStatus.SUBMITTED)
    for action in ("void", "uncollectible"):
        reply = client.post(
            f"/api/v1/admin/billing/invoices/{ledger.october.id}/{action}", json=REASON, headers=operator
        )
        assert reply.status_code == 409, action
        assert "confirmation" in reply.json()["detail"]
    assert _statuses(session, ledger.october.id) == {BillingStatus.INVOICED, BillingStatus.WAIVED}


def test_a_paid_invoice_cannot_be_voided_or_written_off(client, ledger, operator, session):
    for action in ("void", "uncollectible"):
        reply = client.post(
            f"/api/v1/admin/billing/invoices/{ledger.november.id}/{action}", json=REASON, headers=operator
        )
        assert reply.status_code == 409, action
    assert _statuses(session, ledger.november.id) == {BillingStatus.PAID}
    assert (
        client.post("/api/v1/admin/billing/invoices/999999/void", json=REASON, headers=operator).status_code
        == 404
    )


def test_an_operator_writes_an_open_invoice_off(client, ledger, signed_in, operator, session):
    reply = client.post(
        f"/api/v1/admin/billing/invoices/{ledger.october.id}/uncollectible", json=REASON, headers=operator
    )

    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "UNCOLLECTIBLE"
    assert D(reply.json()["total_usd"]) == D("20.20")  # what was written off
    session.expire_all()
    assert session.get(Invoice, ledger.october.id).total_usd == D("20.20")
    assert BillingStatus.UNCOLLECTIBLE in _statuses(session, ledger.october.id)
    assert _audits(session, Action.INVOICE_UNCOLLECTIBLE) == 1
    _totals_agree(client, ledger, signed_in(ledger.trader), session)
    summary = client.get("/api/v1/admin/billing", headers=operator).json()
    assert summary["overdue"] == []
    assert summary["invoices_by_status"]["UNCOLLECTIBLE"] == 1


def test_an_operator_waives_a_running_charge(client, ledger, signed_in, operator, session):
    fee = ledger.december_lines[0]
    before = client.get("/api/v1/billing", headers=signed_in(ledger.trader)).json()

    reply = client.post(f"/api/v1/admin/billing/lines/{fee.id}/waive", json=REASON, headers=operator)

    assert reply.status_code == 200, reply.text
    assert (reply.json()["id"], reply.json()["status"]) == (fee.id, "WAIVED")
    assert _audits(session, Action.BILLING_LINE_WAIVED) == 1
    trader = signed_in(ledger.trader)
    draft = client.get(f"/api/v1/billing/invoices/{ledger.december.id}", headers=trader).json()
    assert D(draft["total_usd"]) == D(0)
    session.expire_all()
    assert session.get(Invoice, ledger.december.id).total_usd == D(0)  # the stored total agrees
    after = client.get("/api/v1/billing", headers=trader).json()
    if before["current_month"] == "2026-12":  # the running month is the ledger's (the API reads the clock)
        assert D(before["current_total_usd"]) - D(after["current_total_usd"]) == D("0.20")

    again = client.post(f"/api/v1/admin/billing/lines/{fee.id}/waive", json=REASON, headers=operator)
    assert again.status_code == 409
    _totals_agree(client, ledger, trader, session)


def test_paid_and_collected_lines_cannot_be_waived(client, ledger, operator, session):
    paid = session.exec(select(BillingEvent.id).where(BillingEvent.invoice_id == ledger.november.id)).first()
    collected = ledger.december_lines[2]
    for line_id in (paid, collected.id):
        reply = client.post(f"/api/v1/admin/billing/lines/{line_id}/waive", json=REASON, headers=operator)
        assert reply.status_code == 409, line_id
    assert (
        client.post("/api/v1/admin/billing/lines/999999/waive", json=REASON, headers=operator).status_code
        == 404
    )


# -- payouts -------------------------------------------------------------------------------------------------


def test_an_operator_pays_a_creator_what_is_owed(client, ledger, signed_in, operator, session):
    body = {
        "beneficiary": "CREATOR",
        "user_address": ledger.creator.address,
        "amount": "0.50",
        "tx_hash": tx(1),
    }

    reply = client.post("/api/v1/admin/billing/payouts", json=body, headers=operator)

    assert reply.status_code == 201, reply.text
    recorded = reply.json()
    assert (recorded["beneficiary_address"], D(recorded["amount"]), recorded["tx_hash"]) == (
        ledger.creator.address,
        D("0.5"),
        tx(1),
    )
    assert _audits(session, Action.PAYOUT_RECORDED) == 1
    mine = client.get("/api/v1/billing/earnings", headers=signed_in(ledger.creator)).json()
    assert (D(mine["paid_out_usd"]), D(mine["pending_usd"])) == (D("1.5"), D(0))
    listed = client.get("/api/v1/admin/billing/payouts", headers=operator).json()
    assert listed[0]["id"] == recorded["id"]

    twice = client.post("/api/v1/admin/billing/payouts", json=body, headers=operator)
    assert twice.status_code in (409, 422)  # the same transaction again, and nothing is owed any more
    assert session.exec(select(func.count()).select_from(Payout)).one() == 2


def test_an_operator_pays_a_signal_source(client, ledger, operator):
    body = {"beneficiary": "SOURCES", "ct_account_id": ledger.source.id, "amount": "1.5", "tx_hash": tx(2)}

    reply = client.post("/api/v1/admin/billing/payouts", json=body, headers=operator)

    assert reply.status_code == 201, reply.text
    assert (reply.json()["ct_handle"], reply.json()["beneficiary"]) == (ledger.source.handle, "SOURCES")
    summary = client.get("/api/v1/admin/billing", headers=operator).json()
    (pool,) = summary["sources_pool"]
    assert (D(pool["paid_out_usd"]), D(pool["owed_usd"])) == (D("1.5"), D(0))


def test_a_payout_hash_recorded_already_is_409(client, ledger, operator):
    first = {"beneficiary": "SOURCES", "ct_account_id": ledger.source.id, "amount": "0.5", "tx_hash": tx(3)}
    assert client.post("/api/v1/admin/billing/payouts", json=first, headers=operator).status_code == 201
    second = {
        "beneficiary": "CREATOR",
        "user_address": ledger.creator.address,
        "amount": "0.1",
        "tx_hash": tx(3),
    }
    assert client.post("/api/v1/admin/billing/payouts", json=second, headers=operator).status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0.51"}, "amount"),  # more than the 0.50 owed
        ({"user_address": "0x" + "99" * 20}, "user_address"),  # nobody
        ({"user_address": None}, "user_address"),  # a creator payout names its creator
        ({"beneficiary": "SOURCES", "user_address": None}, "ct_account_id"),
        ({"beneficiary": "SOURCES", "user_address": None, "ct_account_id": 999999}, "ct_account_id"),
    ],
)
def test_a_payout_that_does_not_fit_is_422_on_its_field(client, ledger, operator, session, change, field):
    body = {
        "beneficiary": "CREATOR",
        "user_address": ledger.creator.address,
        "amount": "0.5",
        "tx_hash": tx(4),
    }

    reply = client.post("/api/v1/admin/billing/payouts", json={**body, **change}, headers=operator)

    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["detail"]] == [field]
    assert session.exec(select(func.count()).select_from(Payout)).one() == 1
