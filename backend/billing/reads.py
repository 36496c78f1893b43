"""The SQL every billing view is made of: which lines count as what, the lines with what caused them, sums
over them, invoices with their totals, and months in UTC.

One definition of each condition, so every figure on every page is a sum over the same lines: a total and
the rows it summarises are always read with the same condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend.billing.invoices import OWED_STATUSES, month_start
from backend.billing.schemas import InvoiceSummary, LineOut, PaymentOut, SubscriptionOut
from backend.config import Settings, get_settings
from backend.models import (
    Agent,
    AgentDeployment,
    BillingEvent,
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

MAX_ROWS = 500

# What a line adds to an invoice's total, as the ledger stores it: pending on a draft, invoiced or paid,
# and on a written-off invoice what was written off; never waived (nor voided), nor collected at the source.
OWED = col(BillingEvent.status).in_([*OWED_STATUSES, BillingStatus.UNCOLLECTIBLE])
# What a creator or a source has earned: not waived, voided or written off.
ACCRUED = col(BillingEvent.status).not_in([BillingStatus.WAIVED, BillingStatus.UNCOLLECTIBLE])
PAID = BillingEvent.status == BillingStatus.PAID
# Revenue: on an issued invoice that still stands, and actually received (paid, or taken at the source).
INVOICED = sa.and_(OWED, col(Invoice.status).in_([InvoiceStatus.OPEN, InvoiceStatus.PAID]))
RECEIVED = col(BillingEvent.status).in_([BillingStatus.PAID, BillingStatus.COLLECTED])


def lines(session: Session, *where: Any) -> list[LineOut]:
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


def line_sum(session: Session, *where: Any) -> Decimal:
    """The sum of the lines matching `where` (the invoice of each line joined, for its status)."""
    total = session.exec(
        select(func.sum(BillingEvent.amount))
        .select_from(BillingEvent)
        .outerjoin(Invoice, col(Invoice.id) == BillingEvent.invoice_id)
        .where(*where)
    ).one()
    return usd(total)


def payout_sum(session: Session, *where: Any) -> Decimal:
    return usd(session.exec(select(func.sum(Payout.amount)).where(*where)).one())


def sum_where(condition: Any) -> Any:
    """SUM(amount) of the rows meeting `condition`, zero when none do."""
    return func.coalesce(func.sum(sa.case((condition, BillingEvent.amount), else_=0)), 0)


def invoices(
    session: Session,
    where: Sequence[Any],
    order: Sequence[Any],
    *,
    now: datetime,
    limit: int = MAX_ROWS,
    offset: int = 0,
) -> list[tuple[InvoiceSummary, Invoice]]:
    """Invoices with their holder's address and their total: the sum of their owed lines."""
    totals = (
        select(BillingEvent.invoice_id, func.sum(BillingEvent.amount).label("total"))
        .where(col(BillingEvent.invoice_id).is_not(None), OWED)
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
    return [(summary(invoice, address, usd(total), now), invoice) for invoice, address, total in rows]


def summary(invoice: Invoice, address: str, total: Decimal, now: datetime) -> InvoiceSummary:
    status = InvoiceStatus(invoice.status)
    return InvoiceSummary(
        id=invoice.id,
        number=invoice.number,
        month=month_label(invoice.month),
        status=status,
        total_usd=total,
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        paid_at=invoice.paid_at,
        overdue=status == InvoiceStatus.OPEN and invoice.due_at is not None and now > invoice.due_at,
        user_address=address,
    )


def subscriptions(
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


def payment_out(p: InvoicePayment) -> PaymentOut:
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


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """[first instant of `moment`'s UTC month, first instant of the next)."""
    start = month_start(moment)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def month_label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def month_of(session: Session, column: Any) -> Any:
    """`YYYY-MM` of a UTC timestamp column, in SQL (literal formats, so PostgreSQL can group by it)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(sa.literal_column("'UTC'"), column), sa.literal_column("'YYYY-MM'"))
    return func.strftime(sa.literal_column("'%Y-%m'"), column)


def usd(value: Any) -> Decimal:
    """A summed amount (None when nothing matched; a float on SQLite) to the money quantum."""
    return money(Decimal(str(value))) if value is not None else money(ZERO)
