"""From one signal to the deployments that should act on it, and the sweep that finishes a crash's work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
    return [deployment_id for _, deployment_id in deployments_for_signals(session, [signal_id])]


def deployments_for_signals(session: Session, signal_ids: list[int]) -> list[tuple[int, int]]:
    """`deployments_for_signal` for one post's signals at once: (signal, deployment) pairs, two queries."""
    signals = list(session.exec(select(Signal).where(col(Signal.id).in_(signal_ids)).order_by(Signal.id)))
    missing = set(signal_ids) - {s.id for s in signals}
    if missing:
        raise LookupError(f"no signal {', '.join(map(str, sorted(missing)))}")
    rows = session.exec(
        select(
            AgentDeployment.id,
            AgentDeployment.agent_id,
            AgentDeployment.created_at,
            AgentDeployment.agent_version_id,
        )
        .where(
            col(AgentDeployment.agent_id).in_({s.agent_id for s in signals}),
            AgentDeployment.status != DeploymentStatus.CANCELLED,
        )
        .order_by(AgentDeployment.id)
    ).all()
    newest = {agent_id: _newest_version_id(session, agent_id) for agent_id in {s.agent_id for s in signals}}
    pairs = []
    for signal in signals:
        ids = [
            d
            for d, agent_id, created, pinned in rows
            if agent_id == signal.agent_id
            and created <= signal.created_at
            and _trades_version(pinned, signal, newest[agent_id])
        ]
        pairs.extend((signal.id, d) for d in ids)
        if signal.status == SignalStatus.PENDING:
            signal.status = SignalStatus.EXECUTED if ids else SignalStatus.SKIPPED
            signal.skip_reason = None if ids else skip_reason(SkipCategory.NO_DEPLOYMENTS)
    return pairs


def _newest_version_id(session: Session, agent_id: int) -> int | None:
    newest = latest_version(session, agent_id)
    return None if newest is None else newest.id


def _trades_version(pinned: int | None, signal: Signal, newest: int | None) -> bool:
    """Whether a deployment pinned to `pinned` acts on `signal`: same version, or unpinned and the newest."""
    if signal.agent_version_id is None or pinned == signal.agent_version_id:
        return True
    return pinned is None and signal.agent_version_id == newest


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
