"""The account events (deployment status, new agent version, invoices, new sign-in address), emitted by their
writers in the transaction that makes the change; see `events` for payloads and keys.

Keys that can recur for one entity (a deployment paused on Monday and again on Friday) carry the time of the
change, so each change is told once and a retry of the same change is not told twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.audit import Action
from backend.models import Agent, AgentDeployment, AgentVersion, AuditLog, Invoice, NotificationEvent
from backend.models.enums import DeploymentStatus, InvoiceStatus
from backend.notify.events import EventType, NewEvent, emit, emit_many

DUE_SOON = timedelta(days=3)  # invoice.due is told this long before the due date
DEPLOYMENT_EVENTS = {
    DeploymentStatus.PAUSED: EventType.DEPLOYMENT_PAUSED,
    DeploymentStatus.ACTIVE: EventType.DEPLOYMENT_RESUMED,
    DeploymentStatus.CANCELLED: EventType.DEPLOYMENT_CANCELLED,
}


def deployment_changed(
    session: Session,
    deployment: AgentDeployment,
    type: EventType,
    *,
    by: str,
    at: datetime,
    reason: str | None = None,
) -> None:
    """deployment.paused / .resumed / .cancelled / .suspended to the deployment's owner."""
    agent_name = session.exec(select(Agent.name).where(Agent.id == deployment.agent_id)).one()
    payload = {"deployment_id": deployment.id, "agent_name": agent_name, "by": by, "reason": reason}
    emit(
        session,
        user_id=deployment.user_id,
        type=type,
        key=f"{type.value}:{deployment.id}:{at.isoformat()}",
        payload=payload,
        entity_type="deployment",
        entity_id=deployment.id,
    )


def version_available(session: Session, agent: Agent, version: AgentVersion) -> int:
    """agent.version_available to the owner of every running (not cancelled) deployment of `agent` that is
    not on `version`; how many were told."""
    rows = session.exec(
        select(AgentDeployment.id, AgentDeployment.user_id).where(
            AgentDeployment.agent_id == agent.id,
            AgentDeployment.status != DeploymentStatus.CANCELLED,
            col(AgentDeployment.is_reference).is_(False),  # the platform's book follows every version
            sa.or_(
                col(AgentDeployment.agent_version_id).is_(None),
                AgentDeployment.agent_version_id != version.id,
            ),
        )
    ).all()
    events = [
        NewEvent(
            user_id,
            EventType.VERSION_AVAILABLE,
            f"agent.version_available:{deployment_id}:{version.id}",
            {
                "deployment_id": deployment_id,
                "agent_id": agent.id,
                "agent_name": agent.name,
                "version": version.number,
            },
            "deployment",
            deployment_id,
        )
        for deployment_id, user_id in rows
    ]
    emit_many(session, events)
    return len(events)


def _invoice_event(invoice: Invoice, type: EventType) -> NewEvent:
    payload = {
        "invoice_id": invoice.id,
        "number": invoice.number,
        "total_usd": invoice.total_usd,
        "due_at": invoice.due_at,
    }
    return NewEvent(invoice.user_id, type, f"{type.value}:{invoice.id}", payload, "invoice", invoice.id)


def invoice_issued(session: Session, invoice: Invoice) -> None:
    """invoice.issued, for an invoice issued with something to pay (one issued as paid says nothing)."""
    if invoice.status == InvoiceStatus.OPEN:
        emit_many(session, [_invoice_event(invoice, EventType.INVOICE_ISSUED)])


def invoice_reminders(session: Session, *, now: datetime) -> int:
    """invoice.due once for each open invoice within `DUE_SOON` of its due date, invoice.overdue once for
    each past it; the caller commits. Invoices already told are left out by the query, so a pass that finds
    nothing new costs two indexed reads."""
    told = 0
    for type, window in (
        (EventType.INVOICE_OVERDUE, col(Invoice.due_at) <= now),
        (EventType.INVOICE_DUE, sa.and_(col(Invoice.due_at) > now, col(Invoice.due_at) <= now + DUE_SOON)),
    ):
        key = sa.literal(f"{type.value}:") + sa.cast(col(Invoice.id), sa.String)
        already = select(NotificationEvent.id).where(col(NotificationEvent.key) == key).exists()
        invoices = session.exec(
            select(Invoice)
            .where(Invoice.status == InvoiceStatus.OPEN, window, ~already)
            .order_by(col(Invoice.id))
        ).all()
        emit_many(session, [_invoice_event(invoice, type) for invoice in invoices])
        told += len(invoices)
    return told


def new_sign_in(session: Session, user_id: int, ip: str | None, at: datetime, audit_id: int) -> bool:
    """account.new_sign_in when `ip` is an address this user never signed in from before, unless this is
    their first sign-in ever (the audit log's sign-in rows remember every address; sessions are pruned).
    `audit_id` is this sign-in's own audit row, flushed; True when told."""
    ip = ip[:64] if ip else None  # as the audit row stores it
    if not ip:
        return False
    earlier = select(AuditLog.ip).where(
        AuditLog.entity_type == "user",
        AuditLog.entity_id == str(user_id),
        AuditLog.action == Action.SIGN_IN,
        AuditLog.id != audit_id,
    )
    ips = set(session.exec(earlier.distinct()).all())
    if not ips or ip in ips:
        return False
    emit(
        session,
        user_id=user_id,
        type=EventType.NEW_SIGN_IN,
        key=f"account.new_sign_in:{audit_id}",
        payload={"ip": ip, "at": at},
        entity_type="user",
        entity_id=user_id,
    )
    return True
