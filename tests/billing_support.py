"""Billing rows for tests: live deployments, lines, subscriptions and invoices with explicit dates."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from backend.models import AgentDeployment, AuditLog, BillingEvent, Invoice, Subscription, User
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    ExecutionVenue,
    InvoiceStatus,
    SubscriptionStatus,
)
from tests.factories import Factory

_seq = itertools.count(1)


def live_deployment(factory: Factory, user: User | None = None, **kw: Any) -> AgentDeployment:
    kw.setdefault("venue", ExecutionVenue.HYPERLIQUID)
    return factory.deployment(factory.agent(), user or factory.user(), **kw)


def line(
    session: Session,
    user: User,
    amount: str,
    *,
    created_at: datetime,
    kind: BillingKind = BillingKind.TRADE_FEE,
    status: BillingStatus = BillingStatus.PENDING,
    **kw: Any,
) -> BillingEvent:
    row = BillingEvent(
        idempotency_key=f"test-line:{next(_seq)}",
        kind=kind,
        status=status,
        user_id=user.id,
        amount=Decimal(amount),
        beneficiary=kw.pop("beneficiary", Beneficiary.PLATFORM),
        created_at=created_at,
        **kw,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def subscription(
    session: Session, deployment: AgentDeployment, *, trial_ends_at: datetime, **kw: Any
) -> Subscription:
    kw.setdefault("status", SubscriptionStatus.TRIALING)
    row = Subscription(
        deployment_id=deployment.id, user_id=deployment.user_id, trial_ends_at=trial_ends_at, **kw
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def invoice(session: Session, user: User, month: datetime, **kw: Any) -> Invoice:
    kw.setdefault("status", InvoiceStatus.DRAFT)
    row = Invoice(user_id=user.id, month=month, **kw)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


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
