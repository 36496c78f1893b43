"""What a close owes, stored: the profit share of a profitable close, one line for the agent's creator and
one per CT account whose post made the signal, each under its own idempotency key.

The amounts and the rule (live deployments only, profitable closes the agent made) are the trading core's
(`backend.trading.fees.close_lines`); this module finds who the lines are for and stores them once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from backend.billing.trade_fee import is_billable
from backend.db import insert_or_ignore
from backend.models import Agent, AgentDeployment, BillingEvent, CtPost, Position, Signal
from backend.models.enums import Beneficiary, BillingKind, BillingStatus, CloseReason
from backend.trading.fees import BillingLine, FeePolicy, close_lines


def profit_share_key(position_id: int, line: BillingLine) -> str:
    """One key per position and beneficiary: the creator's share, and each source's."""
    if line.beneficiary.value == Beneficiary.SOURCES:
        return f"profit-share:{position_id}:source:{line.source}"
    return f"profit-share:{position_id}:creator"


def signal_sources(session: Session, signal_id: int | None) -> list[int]:
    """The CT accounts whose posts made the signal: its post's author (none for a signal without a post)."""
    if signal_id is None:
        return []
    account = session.exec(
        select(CtPost.ct_account_id).join(Signal, Signal.post_id == CtPost.id).where(Signal.id == signal_id)
    ).first()
    return [] if account is None else [account]


def line_values(
    line: BillingLine,
    *,
    key: str,
    user_id: int,
    deployment_id: int | None,
    position_id: int | None,
    creator_id: int | None,
    at: datetime,
) -> dict:
    """A billing row for one of the core's lines: who pays, who it is for, what caused it."""
    beneficiary = Beneficiary(line.beneficiary.value)
    return {
        "idempotency_key": key,
        "kind": BillingKind(line.kind.value).value,
        "status": (BillingStatus.COLLECTED if line.collected else BillingStatus.PENDING).value,
        "user_id": user_id,
        "deployment_id": deployment_id,
        "position_id": position_id,
        "beneficiary": beneficiary.value,
        "beneficiary_user_id": creator_id if beneficiary == Beneficiary.CREATOR else None,
        "ct_account_id": line.source if beneficiary == Beneficiary.SOURCES else None,
        "amount": line.amount,
        "currency": "USDC",
        "description": line.description,
        "created_at": at,
    }


def bill_close(session: Session, position: Position, policy: FeePolicy) -> int:
    """The closed position's profit share in the caller's transaction, once; how many lines are new."""
    deployment = session.get(AgentDeployment, position.deployment_id)
    billable = is_billable(deployment, position.venue)
    if not billable or position.realized_pnl is None or position.realized_pnl <= 0:
        return 0  # nothing owed: no need to look up the sources
    lines = close_lines(
        policy,
        billable=billable,
        realized_pnl=position.realized_pnl,
        reason=CloseReason(position.close_reason),
        sources=signal_sources(session, position.signal_id),
    )
    if not lines:
        return 0
    creator_id = session.exec(select(Agent.creator_id).where(Agent.id == deployment.agent_id)).one()
    added = 0
    for line in lines:
        values = line_values(
            line,
            key=profit_share_key(position.id, line),
            user_id=deployment.user_id,
            deployment_id=deployment.id,
            position_id=position.id,
            creator_id=creator_id,
            at=position.closed_at,
        )
        if insert_or_ignore(session, BillingEvent, values, ["idempotency_key"]) is not None:
            added += 1
    return added
