"""Invoices: one per user per calendar month (UTC), gathering that month's billing lines.

The running month's invoice is a DRAFT that lines join as they accrue; once the month is over it is issued
(OPEN): numbered `MX-<year>-<month>-<id:06d>`, dated, due `INVOICE_DUE_DAYS` later, its lines INVOICED and
its total their sum. An invoice with nothing to pay is issued as PAID. Unique (user, month) and the lines'
`invoice_id` make generation exactly once with racing workers or a worker killed midway. Issuing one with
something to pay tells its owner (`invoice.issued`); each pass then tells, once per invoice, those due
within three days (`invoice.due`) and those past due (`invoice.overdue`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend import audit
from backend.billing import subscriptions
from backend.billing.errors import BillingConflict, BillingNotFound
from backend.db import insert_or_ignore
from backend.execution.faults import no_fault
from backend.models import BillingEvent, Invoice
from backend.models.enums import BillingStatus, InvoiceStatus
from backend.notify import accounts
from backend.trading.money import ZERO, money

logger = logging.getLogger(__name__)

# Lines that count in an invoice's total: owed (PENDING on a draft, INVOICED on an issued one) or paid.
# COLLECTED (taken by the venue), WAIVED and UNCOLLECTIBLE lines never do.
OWED_STATUSES = (BillingStatus.PENDING, BillingStatus.INVOICED, BillingStatus.PAID)
ATTACH_BATCH = 500


@dataclass(frozen=True)
class InvoiceRunReport:
    attached: int  # lines that joined a draft
    issued: int  # drafts of past months now open (or paid when nothing was owed)
    reminded: int = 0  # open invoices told due soon (3 days) or overdue, once each


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of `moment`'s month."""
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def invoice_number(invoice: Invoice) -> str:
    """MX-2026-12-000123: the invoice's month and id."""
    month = month_start(invoice.month)
    return f"MX-{month.year}-{month.month:02d}-{invoice.id:06d}"


def generate_invoices(
    session: Session, *, now: datetime, due_days: int, fault: Callable[[str], None] = no_fault
) -> InvoiceRunReport:
    """The periodic pass: attach PENDING lines to their month's draft, issue drafts of months before
    `now`'s. Commits in small steps; every step is safe to repeat (`fault` lets the crash tests stop the
    worker between them: "draft_created", "lines_attached", "issuing")."""
    attached = _attach_pending(session, now=now, fault=fault)
    issued = 0
    for invoice_id in _drafts_to_issue(session, now=now):
        if _issue(session, invoice_id, now=now, due_days=due_days, fault=fault):
            issued += 1
    reminded = accounts.invoice_reminders(session, now=now)
    session.commit()
    return InvoiceRunReport(attached=attached, issued=issued, reminded=reminded)


def issue_running_month(session: Session, user_id: int, *, now: datetime, due_days: int) -> Invoice | None:
    """The sandbox's shortcut through the month: the user's running-month draft issued now, so the demo can
    show an invoice and its payment without waiting for the 1st. Lines of the month that arrive later join
    next month's invoice. None when nothing of this month is left to issue. Never offered outside the
    sandbox (its callers check)."""
    _attach_pending(session, now=now, fault=no_fault)
    draft = session.exec(
        select(Invoice.id).where(
            Invoice.user_id == user_id,
            Invoice.month == month_start(now),
            Invoice.status == InvoiceStatus.DRAFT,
        )
    ).first()
    session.rollback()
    if draft is None or not _issue(session, draft, now=now, due_days=due_days, fault=no_fault):
        return None
    return session.get(Invoice, draft)


def invoice_total(session: Session, invoice_id: int) -> Decimal:
    """What an invoice's lines add up to (never COLLECTED, WAIVED or UNCOLLECTIBLE ones)."""
    total = session.exec(
        select(sa.func.sum(BillingEvent.amount)).where(
            BillingEvent.invoice_id == invoice_id, col(BillingEvent.status).in_(OWED_STATUSES)
        )
    ).one()
    return money(Decimal(total or ZERO))


def lock_invoice(session: Session, invoice_id: int) -> Invoice | None:
    """The invoice, its row locked until the caller's commit (attaching, issuing, paying, voiding queue)."""
    return session.exec(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def mark_paid(session: Session, invoice_id: int, *, now: datetime, payment_id: int | None = None) -> Invoice:
    """The venue confirmed a payment: the invoice and its lines are PAID, subscriptions reactivate;
    audited. Paying a paid invoice again is a no-op (the caller commits)."""
    invoice = lock_invoice(session, invoice_id)
    if invoice is None:
        raise BillingNotFound(f"invoice {invoice_id} not found")
    if invoice.status == InvoiceStatus.PAID:
        return invoice
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE):
        raise BillingConflict(f"invoice {invoice_id} is {invoice.status.lower()} and cannot be paid")
    session.execute(
        sa.update(BillingEvent)
        .where(
            col(BillingEvent.invoice_id) == invoice_id,
            col(BillingEvent.status).in_((BillingStatus.INVOICED, BillingStatus.UNCOLLECTIBLE)),
        )
        .values(status=BillingStatus.PAID, updated_at=now)
    )
    previous = invoice.status
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = now
    invoice.updated_at = now
    invoice.total_usd = invoice_total(session, invoice_id)
    session.add(invoice)
    audit.record(
        session,
        action=audit.Action.INVOICE_PAID,
        entity_type="invoice",
        entity_id=invoice_id,
        details={
            "number": invoice.number,
            "total_usd": str(invoice.total_usd),
            "payment_id": payment_id,
            "was": previous,
        },
    )
    session.flush()
    subscriptions.reactivate_paid(session, invoice.user_id, now=now)
    return invoice


def _attach_pending(session: Session, *, now: datetime, fault: Callable[[str], None]) -> int:
    """Every PENDING line without an invoice joins its month's draft; one commit per (user, month)."""
    rows = session.exec(
        select(BillingEvent.id, BillingEvent.user_id, BillingEvent.created_at)
        .where(col(BillingEvent.invoice_id).is_(None), BillingEvent.status == BillingStatus.PENDING)
        .order_by(col(BillingEvent.id))
    ).all()
    session.rollback()  # end the read: each group below is its own short transaction
    groups: dict[tuple[int, datetime], list[int]] = defaultdict(list)
    for line_id, user_id, created_at in rows:
        groups[(user_id, month_start(created_at))].append(line_id)
    attached = 0
    for (user_id, month), line_ids in sorted(groups.items()):
        for start in range(0, len(line_ids), ATTACH_BATCH):
            batch = line_ids[start : start + ATTACH_BATCH]
            attached += _attach_group(session, user_id, month, batch, now=now, fault=fault)
    return attached


def _attach_group(
    session: Session,
    user_id: int,
    month: datetime,
    line_ids: list[int],
    *,
    now: datetime,
    fault: Callable[[str], None],
) -> int:
    """Lines of one user and month join that month's draft, or the running month's when that month's
    invoice was issued (or voided) before they arrived; left PENDING when neither takes lines."""
    invoice = _draft_for(session, user_id, month, now=now)
    if invoice is None and month < month_start(now):
        invoice = _draft_for(session, user_id, month_start(now), now=now)
    if invoice is None:
        session.rollback()
        return 0
    fault("draft_created")
    result = session.execute(
        sa.update(BillingEvent)
        .where(
            col(BillingEvent.id).in_(line_ids),
            col(BillingEvent.invoice_id).is_(None),
            BillingEvent.status == BillingStatus.PENDING,
        )
        .values(invoice_id=invoice.id, updated_at=now)
    )
    invoice.total_usd = invoice_total(session, invoice.id)
    invoice.updated_at = now
    session.add(invoice)
    session.commit()
    fault("lines_attached")
    return result.rowcount or 0


def _draft_for(session: Session, user_id: int, month: datetime, *, now: datetime) -> Invoice | None:
    """The (user, month) invoice locked when it is still a DRAFT, created if missing (committed at once, so
    a racing worker finds the same one); None when that month's invoice is already issued or closed."""
    invoice = _locked_month(session, user_id, month)
    if invoice is None:
        insert_or_ignore(
            session,
            Invoice,
            {
                "user_id": user_id,
                "month": month,
                "status": InvoiceStatus.DRAFT.value,
                "total_usd": ZERO,
                "created_at": now,
                "updated_at": now,
            },
            ["user_id", "month"],
        )
        session.commit()
        invoice = _locked_month(session, user_id, month)
    return invoice if invoice.status == InvoiceStatus.DRAFT else None


def _locked_month(session: Session, user_id: int, month: datetime) -> Invoice | None:
    return session.exec(
        select(Invoice)
        .where(Invoice.user_id == user_id, Invoice.month == month)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _drafts_to_issue(session: Session, *, now: datetime) -> list[int]:
    ids = list(
        session.exec(
            select(Invoice.id)
            .where(Invoice.status == InvoiceStatus.DRAFT, Invoice.month < month_start(now))
            .order_by(col(Invoice.id))
        )
    )
    session.rollback()
    return ids


def _issue(
    session: Session, invoice_id: int, *, now: datetime, due_days: int, fault: Callable[[str], None]
) -> bool:
    """A past month's draft becomes OPEN (or PAID with nothing owed), in one transaction under its lock."""
    invoice = lock_invoice(session, invoice_id)
    if invoice is None or invoice.status != InvoiceStatus.DRAFT:
        session.rollback()
        return False  # a racing worker issued it, or an operator voided it
    session.execute(
        sa.update(BillingEvent)
        .where(col(BillingEvent.invoice_id) == invoice_id, BillingEvent.status == BillingStatus.PENDING)
        .values(status=BillingStatus.INVOICED, updated_at=now)
    )
    total = invoice_total(session, invoice_id)
    invoice.number = invoice_number(invoice)
    invoice.total_usd = total
    invoice.issued_at = now
    invoice.due_at = now + timedelta(days=due_days)
    invoice.updated_at = now
    if total == ZERO:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = now
        session.execute(
            sa.update(BillingEvent)
            .where(col(BillingEvent.invoice_id) == invoice_id, BillingEvent.status == BillingStatus.INVOICED)
            .values(status=BillingStatus.PAID, updated_at=now)
        )
    else:
        invoice.status = InvoiceStatus.OPEN
    session.add(invoice)
    accounts.invoice_issued(session, invoice)
    audit.record(
        session,
        action=audit.Action.INVOICE_ISSUED,
        entity_type="invoice",
        entity_id=invoice_id,
        details={"number": invoice.number, "total_usd": str(total), "status": invoice.status},
    )
    fault("issuing")  # a crash here rolls the whole issue back
    session.commit()
    logger.info("issued invoice %s: %s USDC", invoice.number, total)
    return True
