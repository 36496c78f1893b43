"""What became of signals, told in aggregates a visitor may read, and in full to the deployments' owner.

An agent's signals are public; the deployments that follow it are their traders' own. So a public page
reads counts ("Executed: 3 positions, 2 skipped (insufficient balance)") with each skip reason reduced to
its category (the stored detail can hold a trader's balance), and the viewer's own executions separately.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from backend.auth.identity import CurrentUser
from backend.execution.reasons import public_reason
from backend.models import AgentDeployment, Position, SignalExecution
from backend.models.enums import ExecutionStatus, SignalStatus


class OwnExecution(BaseModel):
    """One of the viewer's own deployments acting on a signal, with the full stored reason."""

    deployment_id: int
    status: ExecutionStatus
    reason: str | None
    position_id: int | None


def outcome_sentence(
    status: str, skip_reason: str | None, positions: int, skipped: Mapping[str, int] | None = None
) -> str:
    """What became of a signal, in words a trader reads at a glance; reasons are public categories."""
    if status == SignalStatus.PENDING:
        return "Awaiting execution"
    if status == SignalStatus.EXECUTED:
        total = sum((skipped or {}).values())
        if positions == 0 and total:
            return f"Not traded: {total} deployment{'' if total == 1 else 's'} skipped ({_why(skipped)})"
        sentence = f"Executed: {positions} position{'' if positions == 1 else 's'}"
        return sentence + (f", {total} skipped ({_why(skipped)})" if total else "")
    if status == SignalStatus.SKIPPED:
        return f"Skipped: {skip_reason}" if skip_reason else "Skipped: no reason recorded"
    return str(status).capitalize()


def _why(skipped: Mapping[str, int] | None) -> str:
    """ "insufficient balance" when one reason covers all; "2 insufficient balance, 1 deployment paused"."""
    counts = sorted((skipped or {}).items(), key=lambda item: (-item[1], item[0]))
    if len(counts) == 1:
        return counts[0][0]
    return ", ".join(f"{count} {category}" for category, count in counts)


def position_counts(session: Session, signal_ids: list[int | None]) -> dict[int, int]:
    """Positions opened per signal (every deployment opens its own), in one grouped query."""
    ids = [i for i in signal_ids if i is not None]
    if not ids:
        return {}
    rows = session.exec(
        select(Position.signal_id, func.count())
        .where(col(Position.signal_id).in_(ids))
        .group_by(col(Position.signal_id))
    ).all()
    return {signal_id: count for signal_id, count in rows if signal_id is not None}


def skip_counts(session: Session, signal_ids: list[int]) -> dict[int, dict[str, int]]:
    """Deployments that did not trade each signal (skipped or failed), counted by public reason category."""
    if not signal_ids:
        return {}
    rows = session.exec(
        select(SignalExecution.signal_id, SignalExecution.reason, func.count())
        .where(
            col(SignalExecution.signal_id).in_(signal_ids),
            col(SignalExecution.status).in_([ExecutionStatus.SKIPPED, ExecutionStatus.FAILED]),
        )
        .group_by(col(SignalExecution.signal_id), col(SignalExecution.reason))
    ).all()
    skipped: dict[int, dict[str, int]] = {}
    for signal_id, reason, count in rows:
        category = public_reason(reason) or "no reason recorded"
        by_category = skipped.setdefault(signal_id, {})
        by_category[category] = by_category.get(category, 0) + count
    return skipped


def own_executions(
    session: Session, signal_ids: list[int], viewer: CurrentUser | None
) -> dict[int, list[OwnExecution]]:
    """The viewer's own deployments' executions of these signals; nobody else's, admins included."""
    if viewer is None or not signal_ids:
        return {}
    rows = session.exec(
        select(SignalExecution)
        .join(AgentDeployment, col(AgentDeployment.id) == col(SignalExecution.deployment_id))
        .where(
            col(SignalExecution.signal_id).in_(signal_ids),
            AgentDeployment.user_id == viewer.id,
            col(AgentDeployment.is_reference).is_(False),
        )
        .order_by(col(SignalExecution.deployment_id))
    ).all()
    mine: dict[int, list[OwnExecution]] = {}
    for execution in rows:
        mine.setdefault(execution.signal_id, []).append(
            OwnExecution(
                deployment_id=execution.deployment_id,
                status=ExecutionStatus(execution.status),
                reason=execution.reason,
                position_id=execution.position_id,
            )
        )
    return mine
