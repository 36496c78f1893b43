"""Invoices: numbering, month boundaries and paying one (lines, audit, subscriptions coming back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from backend.audit import Action
from backend.billing.errors import BillingConflict, BillingNotFound
from backend.billing.invoices import invoice_number, mark_paid, month_start
from backend.models import BillingEvent, Invoice, Subscription
from backend.models.enums import BillingKind, BillingStatus, InvoiceStatus, SubscriptionStatus
from tests.billing_support import actions, fresh, invoice, line, live_deployment, subscription
from tests.factories import Factory

DEC = datetime(2026, 12, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)


def test_month_start_is_the_first_instant_of_the_utc_month() -> None:
    assert month_start(datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == DEC
    assert month_start(DEC) == DEC
    # 00:30 on January 1st in UTC+2 is still December in UTC.
    assert month_start(datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == DEC


def test_invoice_number_names_month_and_id() -> None:
    assert invoice_number(Invoice(id=123, user_id=1, month=DEC)) == "MX-2026-12-000123"
    assert invoice_number(Invoice(id=1234567, user_id=1, month=NOV)) == "MX-2026-11-1234567"


def _open_invoice(session: Session, factory: Factory, *, due_at: datetime):
    user = factory.user()
    inv = invoice(session, user, NOV, status=InvoiceStatus.OPEN, number="MX-test", total_usd=Decimal("20.2"))
    lines = [
        line(
            session, user, "20", created_at=NOV, kind=BillingKind.SUBSCRIPTION, status=BillingStatus.INVOICED
        ),
        line(session, user, "0.2", created_at=NOV, status=BillingStatus.INVOICED),
        line(session, user, "0.5", created_at=NOV, status=BillingStatus.WAIVED),
        line(session, user, "0.03", created_at=NOV, status=BillingStatus.COLLECTED),
    ]
    for row in lines:
        row.invoice_id = inv.id if row.status != BillingStatus.COLLECTED else None
        session.add(row)
    inv.due_at = due_at
    session.add(inv)
    session.commit()
    return user, inv, lines


def test_mark_paid_pays_invoice_and_its_invoiced_lines_once(session: Session, factory: Factory) -> None:
    now = DEC + timedelta(days=3)
    _user, inv, lines = _open_invoice(session, factory, due_at=now + timedelta(days=10))

    paid = mark_paid(session, inv.id, now=now, payment_id=None)
    session.commit()

    assert paid.status == InvoiceStatus.PAID and paid.paid_at == now
    assert paid.total_usd == Decimal("20.2")  # the waived and the collected lines never count
    statuses = [fresh(session, BillingEvent, row.id).status for row in lines]
    assert statuses == [BillingStatus.PAID, BillingStatus.PAID, BillingStatus.WAIVED, BillingStatus.COLLECTED]
    assert actions(session, "invoice", inv.id) == [Action.INVOICE_PAID]

    again = mark_paid(session, inv.id, now=now + timedelta(hours=1))
    session.commit()
    assert again.paid_at == now
    assert actions(session, "invoice", inv.id) == [Action.INVOICE_PAID]


def test_mark_paid_refuses_unknown_and_draft_invoices(session: Session, factory: Factory) -> None:
    with pytest.raises(BillingNotFound):
        mark_paid(session, 999999, now=DEC)
    draft = invoice(session, factory.user(), DEC)
    with pytest.raises(BillingConflict):
        mark_paid(session, draft.id, now=DEC)


def test_paying_reactivates_subscriptions_with_nothing_else_overdue(
    session: Session, factory: Factory
) -> None:
    now = DEC + timedelta(days=20)
    user, inv, lines = _open_invoice(session, factory, due_at=DEC + timedelta(days=5))
    suspended_sub = subscription(
        session,
        live_deployment(factory, user),
        trial_ends_at=NOV - timedelta(days=1),
        status=SubscriptionStatus.SUSPENDED,
        past_due_since=DEC + timedelta(days=5),
    )
    lines[0].subscription_id = suspended_sub.id
    session.add(lines[0])
    # Another subscription whose own period sits on another overdue invoice stays past due.
    other_sub = subscription(
        session,
        live_deployment(factory, user),
        trial_ends_at=NOV - timedelta(days=1),
        status=SubscriptionStatus.PAST_DUE,
        past_due_since=DEC + timedelta(days=5),
    )
    older = invoice(
        session,
        user,
        datetime(2026, 10, 1, tzinfo=UTC),
        status=InvoiceStatus.OPEN,
        due_at=DEC + timedelta(days=1),
    )
    line(
        session,
        user,
        "20",
        created_at=datetime(2026, 10, 2, tzinfo=UTC),
        kind=BillingKind.SUBSCRIPTION,
        status=BillingStatus.INVOICED,
        subscription_id=other_sub.id,
        invoice_id=older.id,
    )
    session.commit()

    mark_paid(session, inv.id, now=now)
    session.commit()

    back = fresh(session, Subscription, suspended_sub.id)
    assert back.status == SubscriptionStatus.ACTIVE and back.past_due_since is None
    assert actions(session, "subscription", suspended_sub.id) == [Action.SUBSCRIPTION_REACTIVATED]
    assert fresh(session, Subscription, other_sub.id).status == SubscriptionStatus.PAST_DUE
    assert actions(session, "subscription", other_sub.id) == []
    paid_lines = session.exec(
        select(BillingEvent.amount)
        .where(BillingEvent.invoice_id == inv.id, BillingEvent.status == BillingStatus.PAID)
        .order_by(col(BillingEvent.id))
    ).all()
    assert paid_lines == [Decimal("20"), Decimal("0.2")]
