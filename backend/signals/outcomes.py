"""What became of signals, told in aggregates a visitor may read, and in full to the deployments' owner.

An agent's signals are public; the deployments that follow it are their traders' own. So a public page
reads counts ("Partly traded: 3 positions, 2 skipped (insufficient balance)") with each skip reason reduced to
its category (the stored detail can hold a trader's balance), and the viewer's own executions separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple, Protocol

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


class OutcomeKind(StrEnum):
    """What became of a signal, in one word a page can colour: every page says it the same way."""

    TRADED = "traded"  # every deployment that acted on it opened a position
    PARTLY_TRADED = "partly_traded"  # some opened a position, some skipped it
    NOT_TRADED = "not_traded"  # executed, but no deployment opened a position
    SKIPPED = "skipped"  # the signal itself was skipped (no deployments, agent paused, ...)
    AWAITING = "awaiting"  # not executed yet


class Outcome(NamedTuple):
    kind: OutcomeKind
    sentence: str


class OutcomeFacts(Protocol):
    """What a signal's outcome is told from; `SignalView` and the agent page's `SignalOut` both carry it."""

    status: str
    skip_reason: str | None
    positions_opened: int
    skipped: dict[str, int]


def describe(
    status: str, skip_reason: str | None, positions: int, skipped: Mapping[str, int] | None = None
) -> Outcome:
    """What became of a signal: its kind and the words a trader reads at a glance; reasons are public
    categories ("Partly traded: 1 position, 2 skipped (insufficient balance)")."""
    total = sum((skipped or {}).values())
    if status == SignalStatus.PENDING:
        return Outcome(OutcomeKind.AWAITING, "Awaiting execution")
    if status == SignalStatus.SKIPPED:
        return Outcome(OutcomeKind.SKIPPED, f"Skipped: {skip_reason or 'no reason recorded'}")
    if status != SignalStatus.EXECUTED:
        return Outcome(OutcomeKind.AWAITING, str(status).capitalize())
    if positions == 0:
        if not total:
            return Outcome(OutcomeKind.NOT_TRADED, "Not traded: no position opened")
        return Outcome(
            OutcomeKind.NOT_TRADED, f"Not traded: {_plural(total, 'deployment')} skipped ({_why(skipped)})"
        )
    opened = _plural(positions, "position")
    if total:
        return Outcome(
            OutcomeKind.PARTLY_TRADED, f"Partly traded: {opened}, {total} skipped ({_why(skipped)})"
        )
    return Outcome(OutcomeKind.TRADED, f"Traded: {opened}")


def outcome_of(signal: OutcomeFacts) -> Outcome:
    return describe(signal.status, signal.skip_reason, signal.positions_opened, signal.skipped)


def outcome_sentence(
    status: str, skip_reason: str | None, positions: int, skipped: Mapping[str, int] | None = None
) -> str:
    return describe(status, skip_reason, positions, skipped).sentence


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


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
