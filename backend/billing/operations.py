"""What operators do to billing, each with a reason and an audit row: waive a line, void an invoice or write
it off, record a payout to a creator or for a signal source.

Locks are taken invoice first, then its lines, as everywhere in billing; totals are recomputed from the lines.
Who may call these (operators only) is the API's and the pages' check.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.billing.errors import BillingConflict, BillingNotFound, PaymentRejected
from backend.billing.invoices import invoice_total, lock_invoice
from backend.billing.schemas import PayoutIn
from backend.billing.subscriptions import reactivate_paid
from backend.models import BillingEvent, CtAccount, Invoice, InvoicePayment, Payout, User
from backend.models.enums import Beneficiary, BillingKind, BillingStatus, InvoiceStatus, PaymentStatus
from backend.trading.money import ZERO, money

# A line an operator may still waive: owed, not yet settled.
WAIVABLE = (BillingStatus.PENDING, BillingStatus.INVOICED)


def waive_line(
    session: Session,
    operator: CurrentUser,
    line_id: int,
    reason: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> BillingEvent:
    """A PENDING or INVOICED line becomes WAIVED and leaves its invoice's total; 409 for a paid, collected
    or already waived line, 404 for an unknown one. Audited with the reason."""
    line, invoice = _lock_line(session, line_id)
    if line.status not in WAIVABLE:
        session.rollback()
        raise BillingConflict(
            f"billing line {line_id} is {line.status.lower()}: only owed lines can be waived"
        )
    if invoice is not None:
        _refuse_while_paying(session, invoice)
    line.status = BillingStatus.WAIVED
    line.updated_at = now
    session.add(line)
    session.flush()
    details = {"reason": reason, "amount": str(line.amount), "kind": line.kind, "invoice_id": line.invoice_id}
    audit.record_by(session, operator, audit.Action.BILLING_LINE_WAIVED, "billing_line", line_id, details, ip)
    if invoice is not None:
        invoice.total_usd = invoice_total(session, invoice.id)
        invoice.updated_at = now
        if invoice.status == InvoiceStatus.OPEN and invoice.total_usd == ZERO:
            _settled_by_waiver(session, operator, invoice, now=now, ip=ip)
        session.add(invoice)
    session.commit()
    return line


def void_invoice(
    session: Session,
    operator: CurrentUser,
    invoice_id: int,
    reason: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> Invoice:
    """An OPEN (or DRAFT) invoice becomes VOID and its lines WAIVED; 409 when paid, void or a payment awaits
    confirmation. Audited with the reason."""
    invoice = _closable(session, invoice_id, (InvoiceStatus.OPEN, InvoiceStatus.DRAFT), "voided")
    waived = _set_lines(session, invoice.id, WAIVABLE, BillingStatus.WAIVED, now=now)
    before = invoice.total_usd
    invoice.status = InvoiceStatus.VOID
    invoice.closed_reason = reason
    invoice.total_usd = invoice_total(session, invoice.id)
    invoice.updated_at = now
    session.add(invoice)
    details = {"reason": reason, "number": invoice.number, "total_usd": str(before), "lines_waived": waived}
    audit.record_by(session, operator, audit.Action.INVOICE_VOIDED, "invoice", invoice.id, details, ip)
    session.flush()
    reactivate_paid(session, invoice.user_id, now=now)  # nothing of it is overdue any more
    session.commit()
    return invoice


def mark_uncollectible(
    session: Session,
    operator: CurrentUser,
    invoice_id: int,
    reason: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> Invoice:
    """An OPEN invoice is written off: UNCOLLECTIBLE, lines likewise; audited."""
    invoice = _closable(session, invoice_id, (InvoiceStatus.OPEN,), "written off")
    _set_lines(session, invoice.id, (BillingStatus.INVOICED,), BillingStatus.UNCOLLECTIBLE, now=now)
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    invoice.closed_reason = reason
    # Its total is what was written off: its uncollectible lines (paid later, they count as paid).
    invoice.total_usd = _sum_lines(session, invoice.id, BillingStatus.UNCOLLECTIBLE)
    invoice.updated_at = now
    session.add(invoice)
    details = {"reason": reason, "number": invoice.number, "total_usd": str(invoice.total_usd)}
    audit.record_by(session, operator, audit.Action.INVOICE_UNCOLLECTIBLE, "invoice", invoice.id, details, ip)
    session.commit()
    return invoice


def record_payout(
    session: Session, operator: CurrentUser, body: PayoutIn, *, now: datetime, ip: str | None = None
) -> Payout:
    """Money sent to a creator or for a CT account; 422 on the field for an unknown user or account, a
    beneficiary without its target, or more than is owed; 409 for a transaction hash already recorded."""
    user_id, account_id = _payout_target(session, body)  # locks the target: payouts to it queue
    tx_hash = body.tx_hash.lower()
    if session.exec(select(Payout.id).where(Payout.tx_hash == tx_hash)).first() is not None:
        session.rollback()
        raise BillingConflict(f"a payout with transaction {tx_hash} is already recorded")
    owed = owed_to(session, user_id=user_id, ct_account_id=account_id)
    amount = money(body.amount)
    if amount > owed:
        session.rollback()
        raise PaymentRejected("amount", f"more than is owed: {owed} USDC collected and not yet paid out")
    payout = Payout(
        beneficiary=body.beneficiary,
        beneficiary_user_id=user_id,
        ct_account_id=account_id,
        amount=amount,
        tx_hash=tx_hash,
        note=body.note,
        recorded_by_user_id=operator.id,
        created_at=now,
    )
    session.add(payout)
    try:
        session.flush()
    except IntegrityError as error:  # a racing operator recorded the same transaction
        session.rollback()
        raise BillingConflict(f"a payout with transaction {tx_hash} is already recorded") from error
    details = {
        "beneficiary": body.beneficiary,
        "user_id": user_id,
        "ct_account_id": account_id,
        "amount": str(amount),
        "tx_hash": tx_hash,
        "note": body.note,
    }
    audit.record_by(session, operator, audit.Action.PAYOUT_RECORDED, "payout", payout.id, details, ip)
    session.commit()
    return payout


def owed_to(session: Session, *, user_id: int | None = None, ct_account_id: int | None = None) -> Decimal:
    """A creator's or a CT account's profit shares collected (on paid invoices) less what was paid out."""
    if user_id is not None:
        lines = (BillingEvent.beneficiary == Beneficiary.CREATOR, BillingEvent.beneficiary_user_id == user_id)
        paid_out = (Payout.beneficiary == Beneficiary.CREATOR, Payout.beneficiary_user_id == user_id)
    else:
        lines = (BillingEvent.beneficiary == Beneficiary.SOURCES, BillingEvent.ct_account_id == ct_account_id)
        paid_out = (Payout.beneficiary == Beneficiary.SOURCES, Payout.ct_account_id == ct_account_id)
    collected = session.exec(
        select(sa.func.sum(BillingEvent.amount)).where(
            BillingEvent.kind == BillingKind.PROFIT_SHARE, BillingEvent.status == BillingStatus.PAID, *lines
        )
    ).one()
    sent = session.exec(select(sa.func.sum(Payout.amount)).where(*paid_out)).one()
    return money(Decimal(collected or ZERO) - Decimal(sent or ZERO))


def _payout_target(session: Session, body: PayoutIn) -> tuple[int | None, int | None]:
    """(creator's user id, CT account id) of a payout, its row locked; 422 on the field that is wrong."""
    if body.beneficiary == Beneficiary.CREATOR:
        if body.ct_account_id is not None:
            raise PaymentRejected("ct_account_id", "a payout to a creator names the creator's user_address")
        if not body.user_address:
            raise PaymentRejected("user_address", "a payout to a creator needs the creator's user_address")
        address = body.user_address.lower()
        user_id = session.exec(select(User.id).where(col(User.address) == address).with_for_update()).first()
        if user_id is None:
            raise PaymentRejected("user_address", f"no user has the address {address}")
        return user_id, None
    if body.beneficiary == Beneficiary.SOURCES:
        if body.user_address is not None:
            raise PaymentRejected("user_address", "a payout for a signal source names its ct_account_id")
        if body.ct_account_id is None:
            raise PaymentRejected("ct_account_id", "a payout for a signal source needs its ct_account_id")
        account_id = session.exec(
            select(CtAccount.id).where(CtAccount.id == body.ct_account_id).with_for_update()
        ).first()
        if account_id is None:
            raise PaymentRejected("ct_account_id", f"no CT account {body.ct_account_id}")
        return None, account_id
    raise PaymentRejected("beneficiary", "payouts go to a CREATOR or for SOURCES; the platform keeps its own")


def _lock_line(session: Session, line_id: int) -> tuple[BillingEvent, Invoice | None]:
    """The line and its invoice, both locked (invoice first); retried if generation attached it meanwhile."""
    for _ in range(3):
        found = session.exec(
            select(BillingEvent.id, BillingEvent.invoice_id).where(BillingEvent.id == line_id)
        ).first()
        if found is None:
            session.rollback()
            raise BillingNotFound(f"billing line {line_id} not found")
        invoice_id = found[1]
        invoice = lock_invoice(session, invoice_id) if invoice_id is not None else None
        line = session.exec(
            select(BillingEvent)
            .where(BillingEvent.id == line_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if line.invoice_id == invoice_id:
            return line, invoice
        session.rollback()
    raise BillingConflict(f"billing line {line_id} is changing; try again")


def _closable(session: Session, invoice_id: int, allowed: tuple[InvoiceStatus, ...], verb: str) -> Invoice:
    invoice = lock_invoice(session, invoice_id)
    if invoice is None:
        session.rollback()
        raise BillingNotFound(f"invoice {invoice_id} not found")
    if invoice.status not in allowed:
        session.rollback()
        raise BillingConflict(f"invoice {invoice_id} is {invoice.status.lower()} and cannot be {verb}")
    _refuse_while_paying(session, invoice)
    return invoice


def _refuse_while_paying(session: Session, invoice: Invoice) -> None:
    """A payment handed to the venue and not yet confirmed may still land: its invoice stays as it is."""
    awaiting = session.exec(
        select(InvoicePayment.id).where(
            InvoicePayment.invoice_id == invoice.id, InvoicePayment.status == PaymentStatus.SUBMITTED
        )
    ).first()
    if awaiting is not None:
        session.rollback()
        raise BillingConflict(f"a payment of invoice {invoice.id} awaits the venue's confirmation")
    if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
        session.rollback()
        raise BillingConflict(f"invoice {invoice.id} is {invoice.status.lower()}")


def _set_lines(
    session: Session,
    invoice_id: int,
    from_statuses: tuple[BillingStatus, ...],
    to: BillingStatus,
    *,
    now: datetime,
) -> int:
    result = session.execute(
        sa.update(BillingEvent)
        .where(col(BillingEvent.invoice_id) == invoice_id, col(BillingEvent.status).in_(from_statuses))
        .values(status=to, updated_at=now)
    )
    return result.rowcount or 0


def _sum_lines(session: Session, invoice_id: int, status: BillingStatus) -> Decimal:
    total = session.exec(
        select(sa.func.sum(BillingEvent.amount)).where(
            BillingEvent.invoice_id == invoice_id, BillingEvent.status == status
        )
    ).one()
    return money(Decimal(total or ZERO))


def _settled_by_waiver(
    session: Session, operator: CurrentUser, invoice: Invoice, *, now: datetime, ip: str | None
) -> None:
    """An issued invoice whose every line was waived owes nothing: paid, as one issued with nothing owed."""
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = now
    details = {"number": invoice.number, "total_usd": "0", "by": "waiver"}
    audit.record_by(session, operator, audit.Action.INVOICE_PAID, "invoice", invoice.id, details, ip)
    session.flush()
    reactivate_paid(session, invoice.user_id, now=now)
