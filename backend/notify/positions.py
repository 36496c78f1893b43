"""The trading events (opened, closed, stop moved, needs attention, execution skipped) as `NewEvent`s.

Built from what the writer already holds (a position row, the deployment's owner, the agent's name), so an
emit site adds no query but `owners` where it only has the position. The writers emit them in the same
transaction as the change; see `events` for the payload fields and keys. Reference books (the agent's own
paper book, the platform's, though its creator's user id is on it) are never told: `owners` leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from backend.execution.reasons import SkipCategory, category_of
from backend.models import Agent, AgentDeployment, Position
from backend.notify.events import ACTIONABLE_SKIPS, EventType, NewEvent, emit_many
from backend.trading.book import venue_fees


def emit_present(session: Session, events: Iterable[NewEvent | None]) -> None:
    """`emit_many` of the events a builder returned (None: nobody to tell)."""
    emit_many(session, [event for event in events if event is not None])


ATTENTION_EVERY = 5  # a refused close is told on its 1st refusal, then on every 5th attempt
Owner = tuple[int, str]  # (user id, agent name) of a deployment


def owners(session: Session, deployment_ids: Iterable[int]) -> dict[int, Owner]:
    """Each deployment's owner and agent name, in one query; reference books are left out."""
    ids = set(deployment_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(AgentDeployment.id, AgentDeployment.user_id, Agent.name)
        .join(Agent, col(Agent.id) == AgentDeployment.agent_id)
        .where(col(AgentDeployment.id).in_(ids), col(AgentDeployment.is_reference).is_(False))
    ).all()
    return {deployment_id: (user_id, name) for deployment_id, user_id, name in rows}


def owner(session: Session, deployment_id: int) -> Owner | None:
    """The deployment's owner and agent name; None for a reference book (nobody to tell)."""
    return owners(session, [deployment_id]).get(deployment_id)


def _position(position_id: int, agent_name: str, row: Any) -> dict[str, Any]:
    """The fields every position event starts with; `row` is a Position or a row mapping's namespace."""
    return {
        "position_id": position_id,
        "deployment_id": row.deployment_id,
        "agent_name": agent_name,
        "venue": row.venue,
        "market": row.market,
        "side": row.side,
    }


def opened(deployment: Any, agent_name: str, position_id: int, row: Mapping[str, Any]) -> NewEvent | None:
    """position.opened from the row the executor inserted (`execution.service.position_row`); None for a
    reference book. `deployment` is an AgentDeployment (or a row with its user_id and is_reference)."""
    if deployment.is_reference:
        return None
    payload = {
        "position_id": position_id,
        "deployment_id": row["deployment_id"],
        "agent_name": agent_name,
        "venue": row["venue"],
        "market": row["market"],
        "side": row["side"],
        "size": row["size"],
        "entry_price": row["entry_price"],
        "leverage": row["leverage"],
    }
    key = f"position.opened:{position_id}"
    return _event(deployment.user_id, EventType.POSITION_OPENED, key, payload, position_id)


def opened_position(user_id: int, agent_name: str, position: Position) -> NewEvent:
    """position.opened for a Position object (one reconciliation discovered)."""
    payload = {
        **_position(position.id, agent_name, position),
        "size": position.size,
        "entry_price": position.entry_price,
        "leverage": position.leverage,
    }
    return _event(user_id, EventType.POSITION_OPENED, f"position.opened:{position.id}", payload, position.id)


def closed(user_id: int, agent_name: str, position: Position) -> NewEvent:
    """position.closed: realized_pnl is net of both fees, `fees` their sum."""
    payload = {
        **_position(position.id, agent_name, position),
        "size": position.size,
        "entry_price": position.entry_price,
        "leverage": position.leverage,
        "exit_price": position.exit_price,
        "realized_pnl": position.realized_pnl,
        "fees": venue_fees(position.entry_fee, position.exit_fee),
        "reason": position.close_reason,
    }
    return _event(user_id, EventType.POSITION_CLOSED, f"position.closed:{position.id}", payload, position.id)


def stop_moved(owner: Owner, row: Any, stop_price: Any, milestone: str) -> NewEvent:
    """position.stop_moved from a monitor row (id, deployment_id, market, side, entry_price)."""
    user_id, agent_name = owner
    payload = {
        "position_id": row.id,
        "deployment_id": row.deployment_id,
        "agent_name": agent_name,
        "market": row.market,
        "side": row.side,
        "entry_price": row.entry_price,
        "stop_price": stop_price,
        "milestone": milestone,
    }
    key = f"position.stop_moved:{row.id}:{milestone}"
    return _event(user_id, EventType.STOP_MOVED, key, payload, row.id)


def attention_due(attempts: int) -> bool:
    """A refused close is told on its 1st refusal and every 5th attempt after: a stuck close is retried
    every few minutes for as long as the venue says no, and one message per try would be spam."""
    return attempts == 1 or attempts % ATTENTION_EVERY == 0


def needs_attention(user_id: int, agent_name: str, position: Position) -> NewEvent:
    """position.needs_attention, keyed by attempt (call it when `attention_due`)."""
    attempts = position.close_attempts
    payload = {
        **_position(position.id, agent_name, position),
        "reason": position.close_error,
        "attempts": attempts,
        "next_attempt_at": position.next_close_attempt_at,
    }
    key = f"position.needs_attention:{position.id}:{attempts}"
    return _event(user_id, EventType.NEEDS_ATTENTION, key, payload, position.id)


def skipped(deployment: Any, agent_name: str, signal: Any, reason: str, now: datetime) -> NewEvent | None:
    """execution.skipped for a reason the user can act on, at most one per deployment, category and UTC
    hour (a broke account hears it once an hour, not once per signal); None for any other reason and for a
    reference book."""
    category = category_of(reason)
    if category not in ACTIONABLE_SKIPS or deployment.is_reference:
        return None
    deployment_id = deployment.id
    assert isinstance(category, SkipCategory)
    payload = {
        "deployment_id": deployment_id,
        "agent_name": agent_name,
        "signal_id": signal.id,
        "market": signal.token,
        "side": signal.side,
        "category": category.value,
        "reason": reason,
    }
    hour = (now.astimezone(UTC) if now.tzinfo else now).strftime("%Y%m%d%H")
    key = f"execution.skipped:{deployment_id}:{category.name.lower()}:{hour}"
    return NewEvent(
        deployment.user_id, EventType.EXECUTION_SKIPPED, key, payload, "deployment", deployment_id
    )


def _event(user_id: int, type: EventType, key: str, payload: dict[str, Any], position_id: int) -> NewEvent:
    return NewEvent(user_id, type, key, payload, "position", position_id)
