"""Billing rows for tests, written straight through the models: lines, subscriptions, invoices, payments and
payouts with explicit dates, and a `Ledger`.

A `Ledger` builds one realistic month-by-month picture: a trader's live deployment of a creator's agent that
follows a CT account, and the lines, invoices, subscription and payouts around it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from backend.auth.identity import CurrentUser
from backend.models import (
    Agent,
    AgentDeployment,
    AuditLog,
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
    ExecutionVenue,
    InvoiceStatus,
    Role,
    SubscriptionStatus,
    Venue,
)
from tests.factories import Factory

_keys = itertools.count(1)
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def as_current(user: User) -> CurrentUser:
    return CurrentUser(id=user.id, address=user.address, role=Role(user.role))


def live_deployment(factory: Factory, user: User | None = None, **kw: Any) -> AgentDeployment:
    kw.setdefault("venue", ExecutionVenue.HYPERLIQUID)
    return factory.deployment(factory.agent(), user or factory.user(), **kw)


def _save(session: Session, row: Any) -> Any:
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def line(
    session: Session,
    user: User,
    amount: str,
    *,
    at: datetime,
    kind: BillingKind = BillingKind.TRADE_FEE,
    status: BillingStatus = BillingStatus.PENDING,
    invoice: Invoice | None = None,
    deployment: AgentDeployment | None = None,
    position: Position | None = None,
    **kw: Any,
) -> BillingEvent:
    """A billing line created `at`; the invoice, deployment and position as rows or as `*_id=` keywords."""
    for name, row in (("invoice_id", invoice), ("deployment_id", deployment), ("position_id", position)):
        if row is not None:
            kw[name] = row.id
    kw.setdefault("description", f"{kind.value.lower()} line")
    return _save(
        session,
        BillingEvent(
            idempotency_key=f"test-line:{next(_keys)}",
            kind=kind,
            status=status,
            user_id=user.id,
            amount=Decimal(amount),
            created_at=at,
            **kw,
        ),
    )


def invoice(
    session: Session,
    user: User,
    month: datetime,
    status: InvoiceStatus = InvoiceStatus.DRAFT,
    total: str | Decimal = "0",
    **kw: Any,
) -> Invoice:
    """The user's invoice for `month`; one past DRAFT gets a number unless `number=` is given."""
    row = _save(session, Invoice(user_id=user.id, month=month, status=status, total_usd=Decimal(total), **kw))
    if status != InvoiceStatus.DRAFT and row.number is None:
        row.number = f"MX-{month.year}-{month.month:02d}-{row.id:06d}"
        row = _save(session, row)
    return row


def subscription(
    session: Session,
    deployment: AgentDeployment,
    status: SubscriptionStatus = SubscriptionStatus.TRIALING,
    *,
    trial_ends_at: datetime = NOW - timedelta(days=20),
    **kw: Any,
) -> Subscription:
    return _save(
        session,
        Subscription(
            deployment_id=deployment.id,
            user_id=deployment.user_id,
            status=status,
            trial_ends_at=trial_ends_at,
            **kw,
        ),
    )


def payout(
    session: Session, operator: User, amount: str, *, creator: User | None = None, ct: CtAccount | None = None
) -> Payout:
    return _save(
        session,
        Payout(
            beneficiary=Beneficiary.CREATOR if creator else Beneficiary.SOURCES,
            beneficiary_user_id=creator.id if creator else None,
            ct_account_id=ct.id if ct else None,
            amount=Decimal(amount),
            tx_hash=f"0x{next(_keys):064x}",
            recorded_by_user_id=operator.id,
        ),
    )


def payment(session: Session, inv: Invoice, payer: User, status: str, **kw: Any) -> InvoicePayment:
    return _save(
        session,
        InvoicePayment(
            invoice_id=inv.id,
            status=status,
            payer=payer.address,
            destination="0x" + "ab" * 20,
            amount=inv.total_usd,
            nonce=next(_keys),
            hyperliquid_chain="Testnet",
            **kw,
        ),
    )


def fresh(session: Session, model: type, row_id: int) -> Any:
    """The row as the database holds it now."""
    session.expire_all()
    return session.get(model, row_id)


def actions(session: Session, entity_type: str, entity_id: int) -> list[str]:
    return list(
        session.exec(
            select(AuditLog.action)
            .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == str(entity_id))
            .order_by(col(AuditLog.id))
        )
    )


@dataclass
class Ledger:
    """Who is who, and the invoices of the picture `build_ledger` writes."""

    trader: User
    creator: User
    operator: User
    stranger: User
    source: CtAccount
    agent: Agent
    deployment: AgentDeployment
    position: Position
    subscription: Subscription
    september: Invoice  # void
    october: Invoice  # open, overdue
    november: Invoice  # paid
    december: Invoice  # the running draft
    december_lines: list[BillingEvent]


def build_ledger(session: Session, f: Factory) -> Ledger:
    """A trader billed over four months, as of NOW (2026-12-15):

    - September: VOID, one waived 5.00 line.
    - October: OPEN, due 2026-11-14 (overdue): 0.20 fee and 20.00 subscription invoiced, 0.20 fee waived.
    - November: PAID: 0.20 fee, 1.50 to the creator, 1.50 to the source, 20.00 subscription.
    - December (draft, running): 0.20 fee on the draft, 0.75 to the creator not yet attached, a 0.033 builder
      fee collected at the source, a waived 0.20 fee.
    The creator was paid out 1.00; a stranger has a December line of their own.
    """
    trader, creator, operator, stranger = f.user(), f.user(), f.user(role=Role.ADMIN), f.user()
    source = f.ct_account()
    agent = f.agent(creator=creator, follows=[source], venue=Venue.HYPERLIQUID)
    deployment = f.deployment(agent, trader, venue=ExecutionVenue.HYPERLIQUID)
    position = f.closed_position(deployment, Decimal("15"), market="ETH", entry_price=Decimal("3000"))
    sub = subscription(session, deployment, SubscriptionStatus.ACTIVE)
    on = {"deployment": deployment}
    share = {"kind": BillingKind.PROFIT_SHARE, "position": position, **on}
    to_creator = {"beneficiary": Beneficiary.CREATOR, "beneficiary_user_id": creator.id, **share}
    to_source = {"beneficiary": Beneficiary.SOURCES, "ct_account_id": source.id, **share}
    subscribed = {"kind": BillingKind.SUBSCRIPTION, "subscription_id": sub.id, **on}

    sep = invoice(
        session, trader, datetime(2026, 9, 1, tzinfo=UTC), InvoiceStatus.VOID, "0", closed_reason="test void"
    )
    line(
        session,
        trader,
        "5.00",
        at=datetime(2026, 9, 3, tzinfo=UTC),
        status=BillingStatus.WAIVED,
        invoice=sep,
        **on,
    )

    octo = invoice(
        session, trader, datetime(2026, 10, 1, tzinfo=UTC), InvoiceStatus.OPEN, "20.20",
        issued_at=datetime(2026, 11, 1, tzinfo=UTC), due_at=datetime(2026, 11, 14, tzinfo=UTC),
    )  # fmt: skip
    oct_day = datetime(2026, 10, 10, 9, tzinfo=UTC)
    line(session, trader, "0.20", at=oct_day, status=BillingStatus.INVOICED, invoice=octo, **on)
    line(session, trader, "20.00", at=oct_day, status=BillingStatus.INVOICED, invoice=octo, **subscribed)
    line(session, trader, "0.20", at=oct_day, status=BillingStatus.WAIVED, invoice=octo, **on)

    nov = invoice(
        session, trader, datetime(2026, 11, 1, tzinfo=UTC), InvoiceStatus.PAID, "23.20",
        issued_at=datetime(2026, 12, 1, tzinfo=UTC), due_at=datetime(2026, 12, 14, tzinfo=UTC),
        paid_at=datetime(2026, 12, 2, tzinfo=UTC),
    )  # fmt: skip
    nov_day = datetime(2026, 11, 20, 18, tzinfo=UTC)
    paid = {"status": BillingStatus.PAID, "invoice": nov, "at": nov_day}
    line(session, trader, "0.20", position=position, **paid, **on)
    line(session, trader, "1.50", **paid, **to_creator)
    line(session, trader, "1.50", **paid, **to_source)
    line(session, trader, "20.00", **paid, **subscribed)

    dec = invoice(session, trader, datetime(2026, 12, 1, tzinfo=UTC), InvoiceStatus.DRAFT, "0.20")
    dec_day = datetime(2026, 12, 10, 8, tzinfo=UTC)
    december_lines = [
        line(session, trader, "0.20", at=dec_day, invoice=dec, **on),
        line(session, trader, "0.75", at=dec_day + timedelta(hours=1), **to_creator),
        line(session, trader, "0.033", at=dec_day + timedelta(hours=2), status=BillingStatus.COLLECTED, **on),
        line(session, trader, "0.20", at=dec_day + timedelta(hours=3), status=BillingStatus.WAIVED, **on),
    ]
    line(session, stranger, "0.20", at=dec_day)
    payout(session, operator, "1.00", creator=creator)
    return Ledger(
        trader, creator, operator, stranger, source, agent, deployment, position, sub, sep, octo, nov, dec,
        december_lines,
    )  # fmt: skip
