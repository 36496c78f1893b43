"""Reading billing for pages and the API: every figure is a sum over the same billing lines.

Owner-only: another user's invoice is BillingNotFound (404), as an unknown one is.

Each total is one SQL sum over `billing_events` with the same conditions as the rows it summarises, so a page
never shows a figure its lines do not add up to:
- a line's month is the UTC month of its `created_at`;
- a line counts towards what is owed unless it was WAIVED or COLLECTED at the source (an invoice's total is
  the sum of its other lines, so a voided invoice, its lines all waived, totals zero);
- collected means PAID (its invoice was paid), or COLLECTED by the venue where revenue is concerned.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
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
    PaymentOut,
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
    Position,
    Subscription,
    User,
)
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from backend.trading.money import ZERO, money

MAX_INVOICES = 500

# What a line adds to a total owed: not waived (nor voided) and not taken by the venue at the source.
_OWED = col(BillingEvent.status).not_in([BillingStatus.WAIVED, BillingStatus.COLLECTED])
# What a creator or a source has earned: not waived, voided or written off.
_ACCRUED = col(BillingEvent.status).not_in([BillingStatus.WAIVED, BillingStatus.UNCOLLECTIBLE])
_PAID = BillingEvent.status == BillingStatus.PAID
# Revenue: on an issued invoice that still stands, and actually received (paid, or taken at the source).
_INVOICED = sa.and_(_OWED, col(Invoice.status).in_([InvoiceStatus.OPEN, InvoiceStatus.PAID]))
_RECEIVED = col(BillingEvent.status).in_([BillingStatus.PAID, BillingStatus.COLLECTED])


# -- a trader's billing --------------------------------------------------------------------------------------


def billing_overview(
    session: Session, user: CurrentUser, *, now: datetime, settings: Settings | None = None
) -> BillingOverview:
    """Subscriptions, this month's running charges (lines not yet on an issued invoice) and the invoices."""
    start, end = _month_bounds(now)
    current = (
        BillingEvent.user_id == user.id,
        BillingEvent.created_at >= start,
        BillingEvent.created_at < end,
        sa.or_(col(BillingEvent.invoice_id).is_(None), Invoice.status == InvoiceStatus.DRAFT),
    )
    return BillingOverview(
        subscriptions=list_subscriptions(session, user, settings=settings),
        current_month=_label(start),
        current_lines=_lines(session, *current),
        current_total_usd=_line_sum(session, *current, _OWED),
        collected_at_source_usd=_line_sum(session, *current, BillingEvent.status == BillingStatus.COLLECTED),
        invoices=list_invoices(session, user, now=now),
        outstanding_usd=_line_sum(
            session, Invoice.user_id == user.id, Invoice.status == InvoiceStatus.OPEN, _OWED
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
    return [row for row, _ in _invoices(session, where, order, now=now, limit=limit, offset=offset)]


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
        lines=_lines(session, BillingEvent.invoice_id == invoice_id),
        payments=[_payment(p) for p in payments],
        payable=payable,
        closed_reason=invoice.closed_reason,
    )


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
    summary, _ = _visible_invoice(session, user, invoice_id, now=datetime.now(UTC))
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
    for line in _lines(session, BillingEvent.invoice_id == invoice_id):
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
    return _subscriptions(session, (Subscription.user_id == user.id,), settings=settings)


def subscription_detail(
    session: Session, user: CurrentUser, subscription_id: int, *, settings: Settings | None = None
) -> SubscriptionOut:
    """One of the user's subscriptions; anyone else's is BillingNotFound."""
    where = (Subscription.id == subscription_id, Subscription.user_id == user.id)
    found = _subscriptions(session, where, settings=settings)
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
    month = _month_of(session, BillingEvent.created_at).label("month")
    by_agent_month = (
        select(
            Agent.id,
            Agent.name,
            month,
            _sum_where(_ACCRUED),
            _sum_where(_PAID),
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
            accrued_usd=_usd(accrued),
            collected_usd=_usd(collected),
        )
        for agent_id, name, m, accrued, collected in session.exec(by_agent_month).all()
    ]
    accrued, collected = session.exec(
        select(_sum_where(_ACCRUED), _sum_where(_PAID))
        .select_from(BillingEvent)
        .join(AgentDeployment, col(AgentDeployment.id) == BillingEvent.deployment_id)
        .join(Agent, col(Agent.id) == AgentDeployment.agent_id)
        .where(*mine)
    ).one()
    to_me = (Payout.beneficiary == Beneficiary.CREATOR, Payout.beneficiary_user_id == user.id)
    paid_out = _payout_sum(session, *to_me)
    return EarningsOut(
        rows=rows,
        accrued_usd=_usd(accrued),
        collected_usd=_usd(collected),
        paid_out_usd=paid_out,
        pending_usd=money(_usd(collected) - paid_out),
        payouts=list_payouts(session, *to_me),
    )


# -- operators -----------------------------------------------------------------------------------------------


def operator_summary(session: Session, *, now: datetime) -> OperatorSummary:
    """Revenue by month, kind and beneficiary; invoices and subscriptions by status; what is overdue; what
    is owed to each signal source and each creator."""
    overdue = [
        row
        for row, _ in _invoices(
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
    found = _lines(session, BillingEvent.id == line_id)
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
    month = _month_of(session, BillingEvent.created_at).label("month")
    invoiced, received = _sum_where(_INVOICED).label("invoiced"), _sum_where(_RECEIVED).label("received")
    grouped = (
        select(month, BillingEvent.kind, BillingEvent.beneficiary, invoiced, received)
        .select_from(BillingEvent)
        .outerjoin(Invoice, col(Invoice.id) == BillingEvent.invoice_id)
        .where(sa.or_(_INVOICED, _RECEIVED))
        .group_by(month, BillingEvent.kind, BillingEvent.beneficiary)
        .order_by(month, BillingEvent.kind, BillingEvent.beneficiary)
    )
    return [
        RevenueRow(
            month=m,
            kind=BillingKind(kind),
            beneficiary=Beneficiary(beneficiary),
            invoiced_usd=_usd(inv),
            paid_usd=_usd(rec),
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
        select(key, _sum_where(_ACCRUED), _sum_where(_PAID))
        .where(BillingEvent.beneficiary == beneficiary, col(key).is_not(None))
        .group_by(key)
    ).all()
    for target, accrued, collected in lines:
        balances[target] = [_usd(accrued), _usd(collected), ZERO]
    paid = session.exec(
        select(payout_key, func.sum(Payout.amount))
        .where(Payout.beneficiary == beneficiary, col(payout_key).is_not(None))
        .group_by(payout_key)
    ).all()
    for target, amount in paid:
        balances.setdefault(target, [ZERO, ZERO, ZERO])[2] = _usd(amount)
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


# -- shared pieces -------------------------------------------------------------------------------------------


def _lines(session: Session, *where: Any) -> list[LineOut]:
    """Lines with what caused them (the deployment's agent, the position's market), oldest first."""
    rows = session.exec(
        select(BillingEvent, Agent.name, Position.market)
        .outerjoin(Invoice, col(Invoice.id) == BillingEvent.invoice_id)
        .outerjoin(AgentDeployment, col(AgentDeployment.id) == BillingEvent.deployment_id)
        .outerjoin(Agent, col(Agent.id) == AgentDeployment.agent_id)
        .outerjoin(Position, col(Position.id) == BillingEvent.position_id)
        .where(*where)
        .order_by(col(BillingEvent.created_at), col(BillingEvent.id))
    ).all()
    return [
        LineOut(
            id=line.id,
            kind=BillingKind(line.kind),
            status=BillingStatus(line.status),
            beneficiary=Beneficiary(line.beneficiary),
            amount=money(line.amount),
            description=line.description,
            created_at=line.created_at,
            deployment_id=line.deployment_id,
            agent_name=agent_name,
            position_id=line.position_id,
            market=market,
            subscription_id=line.subscription_id,
            period_start=line.period_start,
            period_end=line.period_end,
            invoice_id=line.invoice_id,
            collected_at_source=line.status == BillingStatus.COLLECTED,
        )
        for line, agent_name, market in rows
    ]


def _line_sum(session: Session, *where: Any) -> Decimal:
    """The sum of the lines matching `where` (the invoice of each line joined, for its status)."""
    total = session.exec(
        select(func.sum(BillingEvent.amount))
        .select_from(BillingEvent)
        .outerjoin(Invoice, col(Invoice.id) == BillingEvent.invoice_id)
        .where(*where)
    ).one()
    return _usd(total)


def _payout_sum(session: Session, *where: Any) -> Decimal:
    return _usd(session.exec(select(func.sum(Payout.amount)).where(*where)).one())


def _sum_where(condition: Any) -> Any:
    """SUM(amount) of the rows meeting `condition`, zero when none do."""
    return func.coalesce(func.sum(sa.case((condition, BillingEvent.amount), else_=0)), 0)


def _invoices(
    session: Session,
    where: Sequence[Any],
    order: Sequence[Any],
    *,
    now: datetime,
    limit: int = MAX_INVOICES,
    offset: int = 0,
) -> list[tuple[InvoiceSummary, Invoice]]:
    """Invoices with their holder's address and their total: the sum of their owed lines."""
    totals = (
        select(BillingEvent.invoice_id, func.sum(BillingEvent.amount).label("total"))
        .where(col(BillingEvent.invoice_id).is_not(None), _OWED)
        .group_by(BillingEvent.invoice_id)
        .subquery()
    )
    rows = session.exec(
        select(Invoice, User.address, totals.c.total)
        .join(User, col(User.id) == Invoice.user_id)
        .outerjoin(totals, totals.c.invoice_id == Invoice.id)
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(_summary(invoice, address, _usd(total), now), invoice) for invoice, address, total in rows]


def _summary(invoice: Invoice, address: str, total: Decimal, now: datetime) -> InvoiceSummary:
    status = InvoiceStatus(invoice.status)
    return InvoiceSummary(
        id=invoice.id,
        number=invoice.number,
        month=_label(invoice.month),
        status=status,
        total_usd=total,
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        paid_at=invoice.paid_at,
        overdue=status == InvoiceStatus.OPEN and invoice.due_at is not None and now > invoice.due_at,
        user_address=address,
    )


def _visible_invoice(
    session: Session, user: CurrentUser, invoice_id: int, *, now: datetime
) -> tuple[InvoiceSummary, Invoice]:
    """The invoice if `user` holds it or is an operator; anyone else gets the unknown invoice's 404."""
    where: list[Any] = [Invoice.id == invoice_id]
    if not user.is_admin:
        where.append(Invoice.user_id == user.id)
    found = _invoices(session, where, (col(Invoice.id),), now=now)
    if not found:
        raise BillingNotFound(f"invoice {invoice_id} not found")
    return found[0]


def _subscriptions(
    session: Session, where: Sequence[Any], *, settings: Settings | None
) -> list[SubscriptionOut]:
    price = (settings or get_settings()).subscription_usd
    rows = session.exec(
        select(Subscription, Agent.name, AgentDeployment.venue)
        .join(AgentDeployment, col(AgentDeployment.id) == Subscription.deployment_id)
        .join(Agent, col(Agent.id) == AgentDeployment.agent_id)
        .where(*where)
        .order_by(col(Subscription.created_at).desc(), col(Subscription.id).desc())
    ).all()
    return [
        SubscriptionOut(
            id=sub.id,
            deployment_id=sub.deployment_id,
            agent_name=agent_name,
            venue=str(getattr(venue, "value", venue)),
            status=SubscriptionStatus(sub.status),
            trial_ends_at=sub.trial_ends_at,
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            past_due_since=sub.past_due_since,
            cancel_at_period_end=sub.cancel_at_period_end,
            canceled_at=sub.canceled_at,
            price_usd=money(price),
        )
        for sub, agent_name, venue in rows
    ]


def _payment(p: InvoicePayment) -> PaymentOut:
    return PaymentOut(
        id=p.id,
        status=PaymentStatus(p.status),
        amount=money(p.amount),
        destination=p.destination,
        nonce=p.nonce,
        tx_hash=p.tx_hash,
        reason=p.reason,
        created_at=p.created_at,
        submitted_at=p.submitted_at,
        confirmed_at=p.confirmed_at,
    )


def _month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """[first instant of `moment`'s UTC month, first instant of the next)."""
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def _label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def _month_of(session: Session, column: Any) -> Any:
    """`YYYY-MM` of a UTC timestamp column, in SQL (literal formats, so PostgreSQL can group by it)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(sa.literal_column("'UTC'"), column), sa.literal_column("'YYYY-MM'"))
    return func.strftime(sa.literal_column("'%Y-%m'"), column)


def _usd(value: Any) -> Decimal:
    """A summed amount (None when nothing matched; a float on SQLite) to the money quantum."""
    return money(Decimal(str(value))) if value is not None else money(ZERO)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
