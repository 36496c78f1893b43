"""Operators' billing actions: waive a line, void or write off an invoice, record a payout; each audited
with its reason, totals recomputed from the lines, refused (404/409/422) without changing anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from backend.audit import Action
from backend.auth.identity import CurrentUser
from backend.billing.errors import BillingConflict, BillingNotFound, PaymentRejected
from backend.billing.invoices import mark_paid
from backend.billing.operations import (
    mark_uncollectible,
    owed_to,
    record_payout,
    void_invoice,
    waive_line,
)
from backend.billing.schemas import PayoutIn
from backend.models import AuditLog, BillingEvent, Invoice, InvoicePayment, Payout, Subscription
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
    Role,
    SubscriptionStatus,
)
from tests.billing_support import actions, fresh, invoice, line, live_deployment, subscription
from tests.factories import Factory

NOV = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 20, tzinfo=UTC)
TX = "0x" + "ab" * 32


@pytest.fixture
def operator(factory: Factory) -> CurrentUser:
    admin = factory.user(role=Role.ADMIN)
    return CurrentUser(admin.id, admin.address, Role.ADMIN)


def open_invoice(
    session: Session, factory: Factory, *amounts: str, due_at: datetime = NOW - timedelta(days=1)
):
    user = factory.user()
    inv = invoice(session, user, NOV, status=InvoiceStatus.OPEN, number=f"MX-T-{user.id}", due_at=due_at)
    rows = [
        line(session, user, amount, at=NOV, status=BillingStatus.INVOICED, invoice_id=inv.id)
        for amount in amounts
    ]
    inv.total_usd = sum(Decimal(a) for a in amounts)
    session.add(inv)
    session.commit()
    return user, inv, rows


def audit_details(session: Session, action: str) -> list[dict]:
    return [
        (row.actor_user_id, row.details)
        for row in session.exec(select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id)))
    ]


def test_a_waived_line_leaves_its_invoices_total(session: Session, factory: Factory, operator: CurrentUser):
    _, inv, (_fee, share) = open_invoice(session, factory, "0.2", "15")

    waived = waive_line(session, operator, share.id, "goodwill after an outage", now=NOW, ip="10.0.0.1")

    assert waived.status == BillingStatus.WAIVED
    assert fresh(session, Invoice, inv.id).total_usd == Decimal("0.2")
    assert audit_details(session, Action.BILLING_LINE_WAIVED) == [
        (
            operator.id,
            {
                "reason": "goodwill after an outage",
                "amount": "15.000000",
                "kind": "TRADE_FEE",
                "invoice_id": inv.id,
            },
        )
    ]
    with pytest.raises(BillingConflict):
        waive_line(session, operator, share.id, "again", now=NOW)
    with pytest.raises(BillingNotFound):
        waive_line(session, operator, 999999, "nothing", now=NOW)


def test_waiving_what_is_settled_is_refused(session: Session, factory: Factory, operator: CurrentUser):
    user = factory.user()
    collected = line(session, user, "0.03", at=NOV, status=BillingStatus.COLLECTED)
    paid = line(session, user, "0.2", at=NOV, status=BillingStatus.PAID)
    for row in (collected, paid):
        with pytest.raises(BillingConflict):
            waive_line(session, operator, row.id, "no", now=NOW)
        assert fresh(session, BillingEvent, row.id).status == row.status
    assert audit_details(session, Action.BILLING_LINE_WAIVED) == []


def test_waiving_a_pending_line_updates_the_draft(session: Session, factory: Factory, operator: CurrentUser):
    user = factory.user()
    draft = invoice(session, user, NOV, total=Decimal("0.4"))
    rows = [line(session, user, "0.2", at=NOV, invoice_id=draft.id) for _ in range(2)]

    waive_line(session, operator, rows[0].id, "test trade", now=NOW)

    assert fresh(session, Invoice, draft.id).total_usd == Decimal("0.2")
    assert fresh(session, Invoice, draft.id).status == InvoiceStatus.DRAFT


def test_waiving_the_last_owed_line_settles_the_invoice_and_lifts_a_suspension(
    session: Session, factory: Factory, operator: CurrentUser
):
    user, inv, (period,) = open_invoice(session, factory, "20")
    sub = subscription(
        session, live_deployment(factory, user), trial_ends_at=NOV, status=SubscriptionStatus.SUSPENDED
    )
    period.kind, period.subscription_id = BillingKind.SUBSCRIPTION, sub.id
    session.add(period)
    session.commit()

    waive_line(session, operator, period.id, "first month on us", now=NOW)

    settled = fresh(session, Invoice, inv.id)
    assert (settled.status, settled.total_usd, settled.paid_at) == (InvoiceStatus.PAID, Decimal("0"), NOW)
    assert fresh(session, Subscription, sub.id).status == SubscriptionStatus.ACTIVE


def test_voiding_waives_every_owed_line(session: Session, factory: Factory, operator: CurrentUser):
    user, inv, rows = open_invoice(session, factory, "0.2", "20")
    sub = subscription(
        session, live_deployment(factory, user), trial_ends_at=NOV, status=SubscriptionStatus.PAST_DUE
    )
    rows[1].kind, rows[1].subscription_id = BillingKind.SUBSCRIPTION, sub.id
    session.add(rows[1])
    session.commit()

    voided = void_invoice(session, operator, inv.id, "billed twice by mistake", now=NOW, ip="10.0.0.2")

    assert (voided.status, voided.total_usd, voided.closed_reason) == (
        InvoiceStatus.VOID,
        Decimal("0"),
        "billed twice by mistake",
    )
    assert {fresh(session, BillingEvent, row.id).status for row in rows} == {BillingStatus.WAIVED}
    assert actions(session, "invoice", inv.id) == [Action.INVOICE_VOIDED]
    assert audit_details(session, Action.INVOICE_VOIDED)[0][1]["reason"] == "billed twice by mistake"
    assert fresh(session, Subscription, sub.id).status == SubscriptionStatus.ACTIVE
    with pytest.raises(BillingConflict):
        void_invoice(session, operator, inv.id, "again", now=NOW)
    with pytest.raises(BillingNotFound):
        void_invoice(session, operator, 999999, "none", now=NOW)


def test_a_paid_invoice_or_one_being_paid_is_not_voided(
    session: Session, factory: Factory, operator: CurrentUser
):
    user, paying, rows = open_invoice(session, factory, "0.2")
    session.add(
        InvoicePayment(
            invoice_id=paying.id,
            status=PaymentStatus.SUBMITTED,
            payer=user.address,
            destination="0x" + "cd" * 20,
            amount=Decimal("0.2"),
            nonce=1,
            hyperliquid_chain="Testnet",
        )
    )
    session.commit()
    _, paid, _ = open_invoice(session, factory, "0.2")
    mark_paid(session, paid.id, now=NOW)
    session.commit()

    for inv in (paying, paid):
        with pytest.raises(BillingConflict):
            void_invoice(session, operator, inv.id, "no", now=NOW)
        with pytest.raises(BillingConflict):
            mark_uncollectible(session, operator, inv.id, "no", now=NOW)
    with pytest.raises(BillingConflict):
        waive_line(session, operator, rows[0].id, "no", now=NOW)
    assert fresh(session, Invoice, paying.id).status == InvoiceStatus.OPEN
    assert fresh(session, BillingEvent, rows[0].id).status == BillingStatus.INVOICED


def test_a_written_off_invoice_keeps_its_total_and_can_still_be_paid(
    session: Session, factory: Factory, operator: CurrentUser
):
    user, inv, rows = open_invoice(session, factory, "0.2", "20")
    with pytest.raises(BillingConflict):
        mark_uncollectible(session, operator, invoice(session, user, NOW).id, "a draft", now=NOW)

    written_off = mark_uncollectible(session, operator, inv.id, "wallet abandoned", now=NOW)

    assert (written_off.status, written_off.total_usd) == (InvoiceStatus.UNCOLLECTIBLE, Decimal("20.2"))
    assert {fresh(session, BillingEvent, r.id).status for r in rows} == {BillingStatus.UNCOLLECTIBLE}
    assert actions(session, "invoice", inv.id) == [Action.INVOICE_UNCOLLECTIBLE]
    mark_paid(session, inv.id, now=NOW + timedelta(days=1))
    session.commit()
    assert fresh(session, Invoice, inv.id).total_usd == Decimal("20.2")
    assert {fresh(session, BillingEvent, r.id).status for r in rows} == {BillingStatus.PAID}


def _earned(session: Session, factory: Factory):
    """A creator and a CT account, each with 15 collected and 15 still on an open invoice."""
    creator, account, trader = factory.user(), factory.ct_account(), factory.user()
    for status in (BillingStatus.PAID, BillingStatus.INVOICED):
        line(session, trader, "15", at=NOV, kind=BillingKind.PROFIT_SHARE, status=status,
             beneficiary=Beneficiary.CREATOR, beneficiary_user_id=creator.id)  # fmt: skip
        line(session, trader, "15", at=NOV, kind=BillingKind.PROFIT_SHARE, status=status,
             beneficiary=Beneficiary.SOURCES, ct_account_id=account.id)  # fmt: skip
    return creator, account


def test_payouts_up_to_what_was_collected(session: Session, factory: Factory, operator: CurrentUser):
    creator, account = _earned(session, factory)
    assert owed_to(session, user_id=creator.id) == Decimal("15")

    body = PayoutIn(beneficiary=Beneficiary.CREATOR, user_address=creator.address.upper().replace("0X", "0x"),
                    amount=Decimal("10"), tx_hash=TX, note="December")  # fmt: skip
    payout = record_payout(session, operator, body, now=NOW, ip="10.0.0.3")
    source = record_payout(
        session,
        operator,
        PayoutIn(
            beneficiary=Beneficiary.SOURCES,
            ct_account_id=account.id,
            amount=Decimal("15"),
            tx_hash="0x" + "01" * 32,
        ),
        now=NOW,
    )

    assert (payout.beneficiary_user_id, payout.amount, payout.tx_hash) == (creator.id, Decimal("10"), TX)
    assert (source.ct_account_id, source.beneficiary_user_id) == (account.id, None)
    assert owed_to(session, user_id=creator.id) == Decimal("5")
    assert owed_to(session, ct_account_id=account.id) == Decimal("0")
    assert [d["amount"] for _, d in audit_details(session, Action.PAYOUT_RECORDED)] == [
        "10.000000",
        "15.000000",
    ]
    with pytest.raises(PaymentRejected) as more:
        record_payout(
            session,
            operator,
            body.model_copy(update={"amount": Decimal("6"), "tx_hash": "0x" + "02" * 32}),
            now=NOW,
        )
    assert more.value.field == "amount"
    with pytest.raises(BillingConflict):
        record_payout(session, operator, body.model_copy(update={"amount": Decimal("1")}), now=NOW)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"beneficiary": Beneficiary.CREATOR}, "user_address"),
        ({"beneficiary": Beneficiary.CREATOR, "user_address": "0x" + "99" * 20}, "user_address"),
        ({"beneficiary": Beneficiary.CREATOR, "ct_account_id": 1}, "ct_account_id"),
        ({"beneficiary": Beneficiary.SOURCES}, "ct_account_id"),
        ({"beneficiary": Beneficiary.SOURCES, "ct_account_id": 999999}, "ct_account_id"),
        ({"beneficiary": Beneficiary.PLATFORM}, "beneficiary"),
    ],
)
def test_a_payout_without_a_known_target_is_refused_on_its_field(
    session: Session, operator: CurrentUser, fields: dict, field: str
):
    body = PayoutIn(amount=Decimal("1"), tx_hash=TX, **fields)

    with pytest.raises(PaymentRejected) as refused:
        record_payout(session, operator, body, now=NOW)

    assert refused.value.field == field
    assert session.exec(select(Payout)).all() == []
