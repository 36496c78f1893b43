"""Reading billing for pages and the API: every figure is a sum over the same billing lines.

Owner-only: another user's invoice is BillingNotFound (404), as an unknown one is.

Each total is one SQL sum over `billing_events` with the same conditions as the rows it summarises, so a page
never shows a figure its lines do not add up to:
- a line's month is the UTC month of its `created_at`;
- an invoice's total is the sum of its PENDING, INVOICED and PAID lines (UNCOLLECTIBLE ones on a written-off
  invoice), as the ledger stores it: never WAIVED lines (a voided invoice totals zero) nor ones COLLECTED at
  the source; what is outstanding is the open invoices' totals;
- collected means PAID (its invoice was paid), or COLLECTED by the venue where revenue is concerned.
The conditions and the queries they go into are `backend.billing.reads`.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.billing import reads
from backend.billing.errors import BillingNotFound
from backend.billing.schemas import (
    BillingOverview,
    CreatorBalanceRow,
    EarningRow,
    EarningsOut,
    InvoiceOut,
    InvoiceSummary,
    LineOut,
    OperatorSummary,
    PayoutOut,
    RevenueRow,
    SourcePoolRow,
    SubscriptionOut,
)
from backend.config import Settings, get_settings
from backend.models import (
    Agent,
    AgentDeployment,
    BillingEvent,
    CtAccount,
    Invoice,
    InvoicePayment,
    Payout,
    Subscription,
    User,
)
from backend.models.common import utcnow
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from backend.trading.money import ZERO, money

MAX_INVOICES = reads.MAX_ROWS


# -- a trader's billing --------------------------------------------------------------------------------------


def billing_overview(
    session: Session, user: CurrentUser, *, now: datetime, settings: Settings | None = None
) -> BillingOverview:
    """Subscriptions, this month's running charges and the invoices.

    The running charges are this month's lines not on an issued invoice, and whatever else sits on this
    month's draft (a late line of a month already invoiced joins the running month's draft)."""
    start, end = reads.month_bounds(now)
    this_month = sa.and_(
        BillingEvent.created_at >= start,
        BillingEvent.created_at < end,
        sa.or_(col(BillingEvent.invoice_id).is_(None), Invoice.status == InvoiceStatus.DRAFT),
    )
    on_this_draft = sa.and_(Invoice.month == start, Invoice.status == InvoiceStatus.DRAFT)
    current = (BillingEvent.user_id == user.id, sa.or_(this_month, on_this_draft))
    return BillingOverview(
        subscriptions=list_subscriptions(session, user, settings=settings),
        current_month=reads.month_label(start),
        current_lines=reads.lines(session, *current),
        current_total_usd=reads.line_sum(session, *current, reads.OWED),
        collected_at_source_usd=reads.line_sum(
            session, *current, BillingEvent.status == BillingStatus.COLLECTED
        ),
        invoices=list_invoices(session, user, now=now),
        outstanding_usd=reads.line_sum(
            session, Invoice.user_id == user.id, Invoice.status == InvoiceStatus.OPEN, reads.OWED
        ),
    )


def list_invoices(
    session: Session,
    user: CurrentUser,
    *,
    now: datetime,
    status: InvoiceStatus | None = None,
    limit: int = MAX_INVOICES,
    offset: int = 0,
) -> list[InvoiceSummary]:
    """The user's invoices, newest month first, drafts included."""
    where: list[Any] = [Invoice.user_id == user.id]
    if status is not None:
        where.append(Invoice.status == status)
    order = (col(Invoice.month).desc(), col(Invoice.id).desc())
    return [row for row, _ in reads.invoices(session, where, order, now=now, limit=limit, offset=offset)]


def invoice_detail(
    session: Session,
    user: CurrentUser,
    invoice_id: int,
    *,
    now: datetime,
    settings: Settings | None = None,
) -> InvoiceOut:
    """The user's invoice with its lines and payments (operators may read any)."""
    summary, invoice = _visible_invoice(session, user, invoice_id, now=now)
    payments = session.exec(
        select(InvoicePayment)
        .where(InvoicePayment.invoice_id == invoice_id)
        .order_by(col(InvoicePayment.created_at).desc(), col(InvoicePayment.id).desc())
    ).all()
    platform_address = (settings or get_settings()).platform_address
    awaiting = any(p.status in (PaymentStatus.SUBMITTED, PaymentStatus.CONFIRMED) for p in payments)
    payable = (
        invoice.status == InvoiceStatus.OPEN
        and summary.total_usd > ZERO
        and not awaiting
        and bool(platform_address)
    )
    return InvoiceOut(
        **summary.model_dump(),
        lines=reads.lines(session, BillingEvent.invoice_id == invoice_id),
        payments=[reads.payment_out(p) for p in payments],
        payable=payable,
        closed_reason=invoice.closed_reason,
    )


def invoice_summary(session: Session, user: CurrentUser, invoice_id: int, *, now: datetime) -> InvoiceSummary:
    """The invoice's summary (number, month, status, total) under the same owner rule as `invoice_detail`."""
    return _visible_invoice(session, user, invoice_id, now=now)[0]


def csv_filename(summary: InvoiceSummary) -> str:
    """The invoice's number, or `draft-<month>-<id>` before it has one."""
    return f"{summary.number or f'draft-{summary.month}-{summary.id}'}.csv"


CSV_LINE_HEADER = (
    "line_id",
    "created_at",
    "kind",
    "status",
    "beneficiary",
    "description",
    "agent",
    "market",
    "position_id",
    "period_start",
    "period_end",
    "amount_usd",
)


def invoice_csv(session: Session, user: CurrentUser, invoice_id: int) -> str:
    """The invoice as CSV: a header block (number, month, status, dates, total) and one row per line."""
    summary, _ = _visible_invoice(session, user, invoice_id, now=utcnow())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = (
        ("invoice", summary.number or "draft"),
        ("month", summary.month),
        ("status", summary.status.value),
        ("account", summary.user_address),
        ("issued_at", _iso(summary.issued_at)),
        ("due_at", _iso(summary.due_at)),
        ("paid_at", _iso(summary.paid_at)),
        ("currency", "USDC"),
        ("total_usd", str(summary.total_usd)),
    )
    writer.writerows(header)
    writer.writerow(())
    writer.writerow(CSV_LINE_HEADER)
    for line in reads.lines(session, BillingEvent.invoice_id == invoice_id):
        writer.writerow(
            (
                line.id,
                _iso(line.created_at),
                line.kind.value,
                line.status.value,
                line.beneficiary.value,
                _cell(line.description),
                _cell(line.agent_name or ""),
                _cell(line.market or ""),
                line.position_id or "",
                _iso(line.period_start),
                _iso(line.period_end),
                str(line.amount),
            )
        )
    return out.getvalue()


def list_subscriptions(
    session: Session, user: CurrentUser, *, settings: Settings | None = None
) -> list[SubscriptionOut]:
    """The user's subscriptions, newest first."""
    return reads.subscriptions(session, (Subscription.user_id == user.id,), settings=settings)


def subscription_detail(
    session: Session, user: CurrentUser, subscription_id: int, *, settings: Settings | None = None
) -> SubscriptionOut:
    """One of the user's subscriptions; anyone else's is BillingNotFound."""
    where = (Subscription.id == subscription_id, Subscription.user_id == user.id)
    found = reads.subscriptions(session, where, settings=settings)
    if not found:
        raise BillingNotFound(f"subscription {subscription_id} not found")
    return found[0]


# -- a creator's earnings ------------------------------------------------------------------------------------


def earnings(session: Session, user: CurrentUser) -> EarningsOut:
    """The creator's profit shares by agent and month, collected, paid out and pending."""
    mine = (
        BillingEvent.kind == BillingKind.PROFIT_SHARE,
        BillingEvent.beneficiary == Beneficiary.CREATOR,
        BillingEvent.beneficiary_user_id == user.id,
    )
    month = reads.month_of(session, BillingEvent.created_at).label("month")
    by_agent_month = (
        select(
            Agent.id,
            Agent.name,
            month,
            reads.sum_where(reads.ACCRUED),
            reads.sum_where(reads.PAID),
        )
        .select_from(BillingEvent)
        .join(AgentDeployment, col(AgentDeployment.id) == BillingEvent.deployment_id)
        .join(Agent, col(Agent.id) == AgentDeployment.agent_id)
        .where(*mine)
        .group_by(Agent.id, Agent.name, month)
        .order_by(month.desc(), Agent.name, Agent.id)
    )
    rows = [
        EarningRow(
            agent_id=agent_id,
            agent_name=name,
            month=m,
            accrued_usd=reads.usd(accrued),
            collected_usd=reads.usd(collected),
        )
        for agent_id, name, m, accrued, collected in session.exec(by_agent_month).all()
    ]
    accrued, collected = session.exec(
        select(reads.sum_where(reads.ACCRUED), reads.sum_where(reads.PAID))
        .select_from(BillingEvent)
        .join(AgentDeployment, col(AgentDeployment.id) == BillingEvent.deployment_id)
        .join(Agent, col(Agent.id) == AgentDeployment.agent_id)
        .where(*mine)
    ).one()
    to_me = (Payout.beneficiary == Beneficiary.CREATOR, Payout.beneficiary_user_id == user.id)
    paid_out = reads.payout_sum(session, *to_me)
    return EarningsOut(
        rows=rows,
        accrued_usd=reads.usd(accrued),
        collected_usd=reads.usd(collected),
        paid_out_usd=paid_out,
        pending_usd=money(reads.usd(collected) - paid_out),
        payouts=list_payouts(session, *to_me),
    )


# -- operators -----------------------------------------------------------------------------------------------


def operator_summary(session: Session, *, now: datetime) -> OperatorSummary:
    """Revenue by month, kind and beneficiary; invoices and subscriptions by status; what is overdue; what
    is owed to each signal source and each creator."""
    overdue = [
        row
        for row, _ in reads.invoices(
            session,
            [Invoice.status == InvoiceStatus.OPEN, col(Invoice.due_at) < now],
            (col(Invoice.due_at), col(Invoice.id)),
            now=now,
        )
    ]
    return OperatorSummary(
        revenue=_revenue(session),
        invoices_by_status=_count_by(session, Invoice.status, InvoiceStatus),
        overdue=overdue,
        subscriptions_by_state=_count_by(session, Subscription.status, SubscriptionStatus),
        sources_pool=_sources_pool(session),
        creators=_creator_balances(session),
    )


def admin_line(session: Session, line_id: int) -> LineOut:
    """One billing line, for operators (after waiving it)."""
    found = reads.lines(session, BillingEvent.id == line_id)
    if not found:
        raise BillingNotFound(f"billing line {line_id} not found")
    return found[0]


def list_payouts(
    session: Session, *where: Any, limit: int = MAX_INVOICES, offset: int = 0
) -> list[PayoutOut]:
    """Payouts, newest first (operators see all; a creator's earnings pass their own condition)."""
    rows = session.exec(
        select(Payout, User.address, CtAccount.handle)
        .outerjoin(User, col(User.id) == Payout.beneficiary_user_id)
        .outerjoin(CtAccount, col(CtAccount.id) == Payout.ct_account_id)
        .where(*where)
        .order_by(col(Payout.created_at).desc(), col(Payout.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        PayoutOut(
            id=p.id,
            beneficiary=Beneficiary(p.beneficiary),
            beneficiary_user_id=p.beneficiary_user_id,
            beneficiary_address=address,
            ct_account_id=p.ct_account_id,
            ct_handle=handle,
            amount=money(p.amount),
            tx_hash=p.tx_hash,
            note=p.note,
            created_at=p.created_at,
        )
        for p, address, handle in rows
    ]


def _revenue(session: Session) -> list[RevenueRow]:
    month = reads.month_of(session, BillingEvent.created_at).label("month")
    invoiced, received = (
        reads.sum_where(reads.INVOICED).label("invoiced"),
        reads.sum_where(reads.RECEIVED).label("received"),
    )
    grouped = (
        select(month, BillingEvent.kind, BillingEvent.beneficiary, invoiced, received)
        .select_from(BillingEvent)
        .outerjoin(Invoice, col(Invoice.id) == BillingEvent.invoice_id)
        .where(sa.or_(reads.INVOICED, reads.RECEIVED))
        .group_by(month, BillingEvent.kind, BillingEvent.beneficiary)
        .order_by(month, BillingEvent.kind, BillingEvent.beneficiary)
    )
    return [
        RevenueRow(
            month=m,
            kind=BillingKind(kind),
            beneficiary=Beneficiary(beneficiary),
            invoiced_usd=reads.usd(inv),
            paid_usd=reads.usd(rec),
        )
        for m, kind, beneficiary, inv, rec in session.exec(grouped).all()
    ]


def _count_by(session: Session, column: Any, kinds: type[Any]) -> dict[str, int]:
    counts = {kind.value: 0 for kind in kinds}
    for status, n in session.exec(select(column, func.count()).group_by(column)).all():
        counts[str(getattr(status, "value", status))] = n
    return counts


def _balances(
    session: Session, beneficiary: Beneficiary, key: Any, payout_key: Any
) -> dict[int, list[Decimal]]:
    """Per beneficiary id: [accrued, collected, paid out], each a SQL sum."""
    balances: dict[int, list[Decimal]] = {}
    lines = session.exec(
        select(key, reads.sum_where(reads.ACCRUED), reads.sum_where(reads.PAID))
        .where(BillingEvent.beneficiary == beneficiary, col(key).is_not(None))
        .group_by(key)
    ).all()
    for target, accrued, collected in lines:
        balances[target] = [reads.usd(accrued), reads.usd(collected), ZERO]
    paid = session.exec(
        select(payout_key, func.sum(Payout.amount))
        .where(Payout.beneficiary == beneficiary, col(payout_key).is_not(None))
        .group_by(payout_key)
    ).all()
    for target, amount in paid:
        balances.setdefault(target, [ZERO, ZERO, ZERO])[2] = reads.usd(amount)
    return balances


def _sources_pool(session: Session) -> list[SourcePoolRow]:
    balances = _balances(session, Beneficiary.SOURCES, BillingEvent.ct_account_id, Payout.ct_account_id)
    handles = dict(
        session.exec(
            select(CtAccount.id, CtAccount.handle).where(col(CtAccount.id).in_(list(balances)))
        ).all()
    )
    rows = [
        SourcePoolRow(
            ct_account_id=target,
            handle=handles.get(target, ""),
            accrued_usd=accrued,
            collected_usd=collected,
            paid_out_usd=paid,
            owed_usd=money(collected - paid),
        )
        for target, (accrued, collected, paid) in balances.items()
    ]
    return sorted(rows, key=lambda r: (r.handle.lower(), r.ct_account_id))


def _creator_balances(session: Session) -> list[CreatorBalanceRow]:
    balances = _balances(
        session, Beneficiary.CREATOR, BillingEvent.beneficiary_user_id, Payout.beneficiary_user_id
    )
    addresses = dict(
        session.exec(select(User.id, User.address).where(col(User.id).in_(list(balances)))).all()
    )
    rows = [
        CreatorBalanceRow(
            user_id=target,
            address=addresses.get(target, ""),
            accrued_usd=accrued,
            collected_usd=collected,
            paid_out_usd=paid,
            owed_usd=money(collected - paid),
        )
        for target, (accrued, collected, paid) in balances.items()
    ]
    return sorted(rows, key=lambda r: (r.address, r.user_id))


def _visible_invoice(
    session: Session, user: CurrentUser, invoice_id: int, *, now: datetime
) -> tuple[InvoiceSummary, Invoice]:
    """The invoice if `user` holds it or is an operator; anyone else gets the unknown invoice's 404."""
    where: list[Any] = [Invoice.id == invoice_id]
    if not user.is_admin:
        where.append(Invoice.user_id == user.id)
    found = reads.invoices(session, where, (col(Invoice.id),), now=now)
    if not found:
        raise BillingNotFound(f"invoice {invoice_id} not found")
    return found[0]


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
