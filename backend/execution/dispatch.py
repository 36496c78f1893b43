"""From one signal to the deployments that should act on it, and the sweep that finishes a crash's work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from backend.agents.versions import latest_version
from backend.execution.reasons import SkipCategory, skip_reason
from backend.execution.service import SIGNAL_TTL
from backend.models import AgentDeployment, Signal, SignalExecution
from backend.models.enums import DeploymentStatus, ExecutionStatus, SignalStatus


def deployments_for_signal(session: Session, signal_id: int) -> list[int]:
    """Every live deployment of the signal's agent trading the signal's version that existed when it was made.

    The reference book is one of them whenever the signal is of the newest version. A deployment pinned to
    no version (made before versions) trades the newest; a signal of no version (likewise) goes to all.
    Paused ones are included so their skip is stored with its reason. The signal is marked as handed out
    (or skipped when nobody runs the agent) in the caller's transaction.
    """
    signal = session.get(Signal, signal_id)
    if signal is None:
        raise LookupError(f"no signal {signal_id}")
    ids = list(
        session.exec(
            select(AgentDeployment.id)
            .where(
                AgentDeployment.agent_id == signal.agent_id,
                AgentDeployment.status != DeploymentStatus.CANCELLED,
                AgentDeployment.created_at <= signal.created_at,
                *_same_version(session, signal),
            )
            .order_by(AgentDeployment.id)
        )
    )
    if signal.status == SignalStatus.PENDING:
        signal.status = SignalStatus.EXECUTED if ids else SignalStatus.SKIPPED
        signal.skip_reason = None if ids else skip_reason(SkipCategory.NO_DEPLOYMENTS)
    return ids


def _same_version(session: Session, signal: Signal) -> list[sa.ColumnElement[bool]]:
    if signal.agent_version_id is None:
        return []
    pinned = col(AgentDeployment.agent_version_id)
    newest = latest_version(session, signal.agent_id)
    if newest is not None and newest.id == signal.agent_version_id:
        return [sa.or_(pinned == signal.agent_version_id, pinned.is_(None))]
    return [pinned == signal.agent_version_id]


@dataclass(frozen=True)
class UnfinishedExecutions:
    signals: list[int]
    executions: list[tuple[int, int]]  # (signal id, deployment id)


def find_unfinished_executions(session: Session, *, now: datetime, grace: timedelta) -> UnfinishedExecutions:
    """Signals never handed out and executions claimed but never finished, older than `grace`."""
    cutoff, oldest = now - grace, now - SIGNAL_TTL
    signals = session.exec(
        select(Signal.id).where(
            Signal.status == SignalStatus.PENDING,
            col(Signal.created_at) <= cutoff,
            col(Signal.created_at) >= oldest,
        )
    ).all()
    executions = session.exec(
        select(SignalExecution.signal_id, SignalExecution.deployment_id).where(
            SignalExecution.status == ExecutionStatus.PENDING, col(SignalExecution.updated_at) <= cutoff
        )
    ).all()
    return UnfinishedExecutions(list(signals), [(s, d) for s, d in executions])
