"""The audit log: who did what to which entity, written in the same transaction as the change itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.models import AuditLog
from backend.models.common import utcnow

SYSTEM_ACTOR = "system"


class Action:
    """Audit action names; one place so the admin filter and the writers agree."""

    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    SIGN_OUT = "auth.sign_out"
    USER_CREATED = "user.created"
    ROLE_CHANGED = "user.role_changed"
    AGENT_CREATED = "agent.created"
    AGENT_UPDATED = "agent.updated"
    AGENT_ARCHIVED = "agent.archived"
    DEMO_SEEDED = "demo.seed"
    CT_ACCOUNT_ADDED = "ct_account.added"
    CT_ACCOUNT_PAUSED = "ct_account.paused"
    CT_ACCOUNT_RESUMED = "ct_account.resumed"
    CT_ACCOUNT_REMOVED = "ct_account.removed"
    POST_MANUAL = "post.manual"
    DEPLOYMENT_CREATED = "deployment.created"
    DEPLOYMENT_ACTIVATED = "deployment.activated"
    DEPLOYMENT_PAUSED = "deployment.paused"
    DEPLOYMENT_RESUMED = "deployment.resumed"
    DEPLOYMENT_CANCELLED = "deployment.cancelled"
    DEPLOYMENT_VERSION_ACCEPTED = "deployment.version_accepted"
    WALLET_CREATED = "agent_wallet.created"
    WALLET_APPROVED = "agent_wallet.approved"
    POSITION_OPENED = "position.opened"
    POSITION_CLOSE_REQUESTED = "position.close_requested"
    POSITION_CLOSED = "position.closed"
    POSITION_CLOSE_REFUSED = "position.close_refused"
    RECONCILE_DISCOVERED = "reconcile.discovered"
    RECONCILE_CLOSED_OUTSIDE = "reconcile.closed_outside"
    RECONCILE_SIZE_CORRECTED = "reconcile.size_corrected"
    TELEGRAM_LINK_CODE = "telegram.link_code_created"
    TELEGRAM_LINKED = "telegram.linked"
    TELEGRAM_UNLINKED = "telegram.unlinked"
    METRICS_REBUILT = "metrics.rebuilt"
    VENUES_REFRESHED = "venues.refreshed"
    SUBSCRIPTION_STARTED = "subscription.started"  # trial begins
    SUBSCRIPTION_ACTIVATED = "subscription.activated"  # trial over, first paid period
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_PAST_DUE = "subscription.past_due"
    SUBSCRIPTION_SUSPENDED = "subscription.suspended"
    SUBSCRIPTION_REACTIVATED = "subscription.reactivated"
    SUBSCRIPTION_CANCEL_REQUESTED = "subscription.cancel_requested"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_PAID = "invoice.paid"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_UNCOLLECTIBLE = "invoice.uncollectible"
    BILLING_LINE_WAIVED = "billing_line.waived"
    PAYMENT_SUBMITTED = "payment.submitted"
    PAYMENT_CONFIRMED = "payment.confirmed"
    PAYMENT_REJECTED = "payment.rejected"
    PAYOUT_RECORDED = "payout.recorded"
    BUILDER_FEE_APPROVED = "builder_fee.approved"
    EMAIL_ADDRESS_SET = "email.address_set"  # a verification link was mailed to it
    EMAIL_VERIFIED = "email.verified"
    EMAIL_FREQUENCY_CHANGED = "email.frequency_changed"
    EMAIL_REMOVED = "email.removed"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
    WEBHOOK_TEST_SENT = "webhook.test_sent"
    WEBHOOK_REDELIVERED = "webhook.redelivered"
    WEBHOOK_DISABLED = "webhook.disabled"  # by the sender, after repeated failures
    NOTIFY_PREFERENCE_CHANGED = "notify.preference_changed"

    @classmethod
    def all(cls) -> list[str]:
        return sorted(v for k, v in vars(cls).items() if k.isupper())


def record(
    session: Session,
    *,
    action: str,
    entity_type: str,
    entity_id: str | int | None = None,
    actor: str = SYSTEM_ACTOR,
    actor_user_id: int | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    """Add an audit row to the session; the caller's commit makes it permanent with the change it records."""
    row = AuditLog(
        actor_user_id=actor_user_id,
        actor=actor[:64],
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        details=details or {},
        ip=ip[:64] if ip else None,
    )
    session.add(row)
    return row


def record_many(
    session: Session,
    *,
    action: str,
    entity_type: str,
    entries: list[tuple[str | int, dict[str, Any]]],
    actor: str = SYSTEM_ACTOR,
) -> None:
    """`record` for many entities at once (the execution fan-out): one batched insert, no ids read back."""
    if not entries:
        return
    now = utcnow()
    rows = [
        {
            "actor_user_id": None,
            "actor": actor[:64],
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "details": details,
            "ip": None,
            "created_at": now,
        }
        for entity_id, details in entries
    ]
    session.execute(sa.insert(AuditLog.__table__), rows)


def record_by(
    session: Session,
    user: CurrentUser,
    action: str,
    entity_type: str,
    entity_id: str | int | None,
    details: dict[str, Any],
    ip: str | None,
) -> AuditLog:
    """`record` for a change a signed-in user made: the actor is their address and user id."""
    return record(
        session,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        actor=user.address,
        actor_user_id=user.id,
        details=details,
        ip=ip,
    )


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str | None = Field(default=None, max_length=64)
    actor: str | None = Field(default=None, max_length=64, description="Address or 'system', exact match.")
    entity_type: str | None = Field(default=None, max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("action", "actor", "entity_type", "entity_id")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None


class AuditEntry(BaseModel):
    id: int
    created_at: datetime
    actor: str
    actor_user_id: int | None
    action: str
    entity_type: str
    entity_id: str | None
    details: dict[str, Any]
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


def list_entries(session: Session, query: AuditQuery) -> AuditPage:
    """Newest first, filtered by exact action, actor (case-insensitive address) and entity."""
    conditions: list[sa.ColumnElement[bool]] = []
    if query.action:
        conditions.append(col(AuditLog.action) == query.action)
    if query.actor:
        conditions.append(col(AuditLog.actor) == query.actor.lower())
    if query.entity_type:
        conditions.append(col(AuditLog.entity_type) == query.entity_type)
    if query.entity_id:
        conditions.append(col(AuditLog.entity_id) == query.entity_id)
    total = session.exec(select(func.count()).select_from(AuditLog).where(*conditions)).one()
    rows = session.exec(
        select(AuditLog)
        .where(*conditions)
        .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    items = [AuditEntry.model_validate(row, from_attributes=True) for row in rows]
    return AuditPage(items=items, total=total, limit=query.limit, offset=query.offset)
