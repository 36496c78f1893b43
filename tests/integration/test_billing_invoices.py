"""Invoices: numbering, month boundaries and paying one (lines, audit, subscriptions coming back)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from backend.audit import Action
from backend.billing.errors import BillingConflict, BillingNotFound
from backend.billing.invoices import (
    InvoiceRunReport,
    generate_invoices,
    invoice_number,
    issue_running_month,
    mark_paid,
    month_start,
)
from backend.models import BillingEvent, Invoice, Subscription, User
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
    inv = invoice(session, user, NOV, status=InvoiceStatus.OPEN, number="MX-test", total=Decimal("20.2"))
    lines = [
        line(session, user, "20", at=NOV, kind=BillingKind.SUBSCRIPTION, status=BillingStatus.INVOICED),
        line(session, user, "0.2", at=NOV, status=BillingStatus.INVOICED),
        line(session, user, "0.5", at=NOV, status=BillingStatus.WAIVED),
        line(session, user, "0.03", at=NOV, status=BillingStatus.COLLECTED),
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
        at=datetime(2026, 10, 2, tzinfo=UTC),
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


# --- generation: drafts, issue, exactly once with racing or crashing workers ---

NOW = DEC + timedelta(days=4, hours=3)  # December 5th: November's invoices are due to be issued


class Crash(BaseException):
    """Stands in for the worker dying at a crash point: nothing after it runs."""


def crash_at(point: str):
    def fault(reached: str) -> None:
        if reached == point:
            raise Crash(point)

    return fault


def month_of_lines(session: Session, factory: Factory, users: int = 3):
    """Per user: November's lines (a subscription, a trade fee, a profit share, plus a collected builder fee
    and a waived line that never count) and one December line. The lines expected on each invoice."""
    expected: dict[tuple[int, datetime], Decimal] = {}
    for _ in range(users):
        user = factory.user()
        line(session, user, "20", at=NOV + timedelta(days=1), kind=BillingKind.SUBSCRIPTION)
        line(session, user, "0.2", at=NOV + timedelta(days=10))
        line(session, user, "15", at=DEC - timedelta(microseconds=1), kind=BillingKind.PROFIT_SHARE)
        line(session, user, "0.03", at=NOV + timedelta(days=11), status=BillingStatus.COLLECTED)
        line(session, user, "5", at=NOV + timedelta(days=12), status=BillingStatus.WAIVED)
        line(session, user, "0.2", at=DEC + timedelta(days=2))
        expected[(user.id, NOV)] = Decimal("35.2")
        expected[(user.id, DEC)] = Decimal("0.2")
    return expected


def assert_generated(session: Session, expected: dict[tuple[int, datetime], Decimal]) -> None:
    """One invoice per user and month, every owed line on its month's invoice once, totals their sums."""
    session.expire_all()
    invoices = session.exec(select(Invoice).order_by(col(Invoice.id))).all()
    assert {(inv.user_id, inv.month): inv.total_usd for inv in invoices} == expected
    for inv in invoices:
        lines = session.exec(select(BillingEvent).where(BillingEvent.invoice_id == inv.id)).all()
        assert {month_start(row.created_at) for row in lines} == {inv.month}
        assert sum(row.amount for row in lines) == inv.total_usd
        if inv.month == NOV:
            assert (inv.status, inv.number, inv.issued_at) == (InvoiceStatus.OPEN, invoice_number(inv), NOW)
            assert inv.due_at == NOW + timedelta(days=14)
            assert {row.status for row in lines} == {BillingStatus.INVOICED}
            assert actions(session, "invoice", inv.id) == [Action.INVOICE_ISSUED]
        else:
            assert (inv.status, inv.number, inv.issued_at) == (InvoiceStatus.DRAFT, None, None)
            assert {row.status for row in lines} == {BillingStatus.PENDING}
    unattached = session.exec(
        select(BillingEvent.status)
        .where(col(BillingEvent.invoice_id).is_(None))
        .order_by(col(BillingEvent.id))
    ).all()
    assert set(unattached) <= {BillingStatus.COLLECTED, BillingStatus.WAIVED}


def test_past_months_are_issued_and_the_running_month_stays_a_draft(
    session: Session, factory: Factory
) -> None:
    expected = month_of_lines(session, factory)

    report = generate_invoices(session, now=NOW, due_days=14)

    assert (report.attached, report.issued) == (12, 3)
    assert_generated(session, expected)
    assert generate_invoices(session, now=NOW + timedelta(minutes=10), due_days=14) == InvoiceRunReport(0, 0)
    assert_generated(session, expected)


def test_a_line_arriving_after_its_month_was_issued_joins_the_running_month(
    session: Session, factory: Factory
) -> None:
    expected = month_of_lines(session, factory, users=1)
    generate_invoices(session, now=NOW, due_days=14)
    ((user_id, _),) = [key for key in expected if key[1] == NOV]
    late = line(session, session.get(User, user_id), "0.2", at=DEC - timedelta(seconds=1))

    generate_invoices(session, now=NOW + timedelta(minutes=10), due_days=14)

    december = session.exec(select(Invoice).where(Invoice.user_id == user_id, Invoice.month == DEC)).one()
    assert fresh(session, BillingEvent, late.id).invoice_id == december.id
    assert december.total_usd == Decimal("0.4")


def test_an_invoice_with_nothing_owed_is_issued_paid(session: Session, factory: Factory) -> None:
    user = factory.user()
    only = line(session, user, "0.2", at=NOV + timedelta(days=3))
    generate_invoices(session, now=NOV + timedelta(days=4), due_days=14)  # November's draft holds it
    waived = fresh(session, BillingEvent, only.id)
    waived.status = BillingStatus.WAIVED
    session.add(waived)
    session.commit()

    generate_invoices(session, now=NOW, due_days=14)

    issued = session.exec(select(Invoice).where(Invoice.user_id == user.id)).one()
    assert (issued.status, issued.total_usd, issued.paid_at) == (InvoiceStatus.PAID, Decimal("0"), NOW)
    assert issued.number == invoice_number(issued)
    assert fresh(session, BillingEvent, only.id).status == BillingStatus.WAIVED


@pytest.mark.parametrize("point", ["draft_created", "lines_attached", "issuing"])
def test_a_worker_killed_mid_generation_is_completed_by_the_next_run(
    session: Session, factory: Factory, point: str
) -> None:
    expected = month_of_lines(session, factory)

    with pytest.raises(Crash):
        generate_invoices(session, now=NOW, due_days=14, fault=crash_at(point))
    session.rollback()
    generate_invoices(session, now=NOW, due_days=14)

    assert_generated(session, expected)


def test_racing_workers_make_one_invoice_per_user_and_month(engine, factory: Factory) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks race on PostgreSQL; SQLite has one writer")
    expected = month_of_lines(factory.session, factory, users=6)
    workers = 4
    barrier = threading.Barrier(workers)
    reports: list[InvoiceRunReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait()
                reports.append(generate_invoices(own, now=NOW, due_days=14))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.attached for r in reports) == 24 and sum(r.issued for r in reports) == 6
    assert_generated(factory.session, expected)


def test_a_worker_killed_while_another_runs_leaves_nothing_undone(engine, factory: Factory) -> None:
    """A worker dies after creating drafts while a second one runs the whole pass: one invoice each."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks race on PostgreSQL; SQLite has one writer")
    expected = month_of_lines(factory.session, factory, users=4)
    barrier = threading.Barrier(2)
    crashed: list[BaseException] = []

    def run(fault) -> None:
        try:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait()
                generate_invoices(own, now=NOW, due_days=14, fault=fault)
        except Crash as error:
            crashed.append(error)

    threads = [
        threading.Thread(target=run, args=(crash_at("draft_created"),)),
        threading.Thread(target=run, args=(lambda _: None,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    generate_invoices(factory.session, now=NOW, due_days=14)  # the next periodic run

    assert len(crashed) == 1
    assert_generated(factory.session, expected)


def test_the_sandbox_issues_the_running_month_at_once_and_later_lines_wait_for_the_next(session, factory):
    user, other = factory.user(), factory.user()
    mid_dec = DEC + timedelta(days=5)
    line(session, user, "0.2", at=mid_dec)
    line(session, user, "1.25", at=mid_dec + timedelta(hours=1), kind=BillingKind.PROFIT_SHARE)
    line(session, other, "0.2", at=mid_dec)
    issued = issue_running_month(session, user.id, now=mid_dec + timedelta(hours=2), due_days=14)
    assert issued is not None
    assert (issued.status, issued.total_usd, issued.month) == (InvoiceStatus.OPEN, Decimal("1.45"), DEC)
    assert issued.number == f"MX-2026-12-{issued.id:06d}"
    theirs = session.exec(select(Invoice).where(Invoice.user_id == other.id)).one()
    assert theirs.status == InvoiceStatus.DRAFT  # only the asking user's month is issued early
    assert issue_running_month(session, user.id, now=mid_dec + timedelta(hours=3), due_days=14) is None

    late = line(session, user, "0.2", at=mid_dec + timedelta(days=1))
    generate_invoices(session, now=mid_dec + timedelta(days=1, hours=1), due_days=14)
    assert (
        fresh(session, BillingEvent, late.id).invoice_id is None
    )  # December's invoice is issued; January's not begun
    generate_invoices(session, now=datetime(2027, 1, 2, tzinfo=UTC), due_days=14)
    january = session.exec(
        select(Invoice).where(Invoice.user_id == user.id, Invoice.month == datetime(2027, 1, 1, tzinfo=UTC))
    ).one()
    assert (fresh(session, BillingEvent, late.id).invoice_id, january.status) == (
        january.id,
        InvoiceStatus.DRAFT,
    )
