"""Event names, the channels each is sent to by default, and `emit`, which writes one into the outbox.

An event is written in the caller's transaction, next to the change it reports, so either both are
committed or neither is; the consumer finds it afterwards. Its `key` makes writing it idempotent: a retried
close writes `position.closed:<id>` once. After a commit that wrote events, the configured sink
(`NOTIFY_EVENTS`) is told, so the consumer starts at once instead of at its next sweep.

Payloads are JSON: Decimals as strings (exact), times as ISO 8601 UTC. What each type carries:

- position.opened: position_id, deployment_id, agent_name, venue, market, side, size, entry_price, leverage
- position.closed: the above, plus exit_price, realized_pnl (net of fees), fees, reason (a CloseReason)
- position.stop_moved: position_id, deployment_id, agent_name, market, side, entry_price, stop_price,
  milestone ("trailing_armed" or "break_even")
- position.needs_attention: position_id, deployment_id, agent_name, venue, market, side, reason, attempts,
  next_attempt_at (the venue refused a close; it is retried)
- deployment.paused / .resumed / .cancelled / .suspended: deployment_id, agent_name, by ("web",
  "telegram", "billing", "operator"), reason (optional)
- execution.skipped: deployment_id, agent_name, signal_id, market, side, category, reason
  (only categories the user can act on: `ACTIONABLE_SKIPS`; at most one per deployment, category and UTC hour)
- agent.version_available: deployment_id, agent_id, agent_name, version
- invoice.issued / .due / .overdue: invoice_id, number, total_usd, due_at
- account.new_sign_in: ip, at
- webhook.disabled: endpoint_id, url, failures, reason
- webhook.test: endpoint_id (sent to that endpoint only, never fanned out)

Keys (one event per): `position.opened:<position>`, `position.closed:<position>`,
`position.stop_moved:<position>:<milestone>`, `position.needs_attention:<position>:<attempts>` (1st refusal,
then every 5th), `deployment.<paused|resumed|cancelled|suspended>:<deployment>:<ISO time of the change>`,
`execution.skipped:<deployment>:<category slug>:<YYYYMMDDHH UTC>`, `agent.version_available:<deployment>:
<version id>`, `invoice.<issued|due|overdue>:<invoice>`, `account.new_sign_in:<audit row id>`. The writers
are in backend/notify/positions.py and accounts.py; reference books are never told.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from backend.db import dialect_insert
from backend.execution.reasons import SkipCategory  # a leaf module (an enum): no import cycle
from backend.models import NotificationEvent
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel

logger = logging.getLogger(__name__)

EMITTED = "notify_emitted"  # session.info flag: this transaction wrote events


class EventType(StrEnum):
    POSITION_OPENED = "position.opened"
    POSITION_CLOSED = "position.closed"
    STOP_MOVED = "position.stop_moved"
    NEEDS_ATTENTION = "position.needs_attention"
    DEPLOYMENT_PAUSED = "deployment.paused"
    DEPLOYMENT_RESUMED = "deployment.resumed"
    DEPLOYMENT_CANCELLED = "deployment.cancelled"
    DEPLOYMENT_SUSPENDED = "deployment.suspended"
    EXECUTION_SKIPPED = "execution.skipped"
    VERSION_AVAILABLE = "agent.version_available"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_DUE = "invoice.due"
    INVOICE_OVERDUE = "invoice.overdue"
    NEW_SIGN_IN = "account.new_sign_in"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_TEST = "webhook.test"


# Why a signal was not traded that the user can fix: fund the account, raise the size, approve the agent
# wallet, pay the invoice. ORDER_REFUSED is in because a revoked agent approval reaches us only as the
# venue refusing the order in its own words. Paused/cancelled deployments, expired signals, unlisted
# markets and opposite positions are the platform working as told: no message.
ACTIONABLE_SKIPS: frozenset[SkipCategory] = frozenset(
    {
        SkipCategory.INSUFFICIENT_BALANCE,
        SkipCategory.BELOW_MINIMUM,
        SkipCategory.AWAITING_APPROVAL,
        SkipCategory.ORDER_REFUSED,
        SkipCategory.SUBSCRIPTION_SUSPENDED,
    }
)

# What a user can choose on the settings page, in the order it lists them, with the words it uses.
DESCRIPTIONS: dict[EventType, str] = {
    EventType.POSITION_OPENED: "A position opened",
    EventType.POSITION_CLOSED: "A position closed (reason and net PnL)",
    EventType.STOP_MOVED: "Stop moved to break-even, or trailing stop armed",
    EventType.NEEDS_ATTENTION: "A close needs attention (the venue refused it)",
    EventType.DEPLOYMENT_PAUSED: "A deployment was paused",
    EventType.DEPLOYMENT_RESUMED: "A deployment was resumed",
    EventType.DEPLOYMENT_CANCELLED: "A deployment was cancelled",
    EventType.DEPLOYMENT_SUSPENDED: "A deployment was suspended (unpaid invoice)",
    EventType.EXECUTION_SKIPPED: "A signal was not traded for a reason you can fix",
    EventType.VERSION_AVAILABLE: "A new version of an agent you run",
    EventType.INVOICE_ISSUED: "An invoice was issued",
    EventType.INVOICE_DUE: "An invoice is due soon",
    EventType.INVOICE_OVERDUE: "An invoice is overdue",
    EventType.NEW_SIGN_IN: "A sign-in from a new network address",
    EventType.WEBHOOK_DISABLED: "A webhook endpoint was turned off after failures",
}
CONFIGURABLE: tuple[EventType, ...] = tuple(DESCRIPTIONS)

_ALL = frozenset(NotificationChannel)
_PERSONAL = frozenset({NotificationChannel.IN_APP, NotificationChannel.TELEGRAM, NotificationChannel.EMAIL})
_QUIET = frozenset({NotificationChannel.IN_APP, NotificationChannel.TELEGRAM})

# Channels on by default per type (a user's preference rows override them). Closes and anything needing
# attention go everywhere; opens go nowhere: a busy agent opens many positions and nobody wants a message
# for each. For webhooks this is the set a new endpoint subscribes to when it names no events; subscribing
# one to `position.opened` is how a user asks for opens there.
DEFAULTS: dict[EventType, frozenset[NotificationChannel]] = {
    EventType.POSITION_OPENED: frozenset(),
    EventType.POSITION_CLOSED: _ALL,
    EventType.STOP_MOVED: _QUIET | {NotificationChannel.WEBHOOK},
    EventType.NEEDS_ATTENTION: _ALL,
    EventType.DEPLOYMENT_PAUSED: _ALL,
    EventType.DEPLOYMENT_RESUMED: _ALL,
    EventType.DEPLOYMENT_CANCELLED: _ALL,
    EventType.DEPLOYMENT_SUSPENDED: _ALL,
    EventType.EXECUTION_SKIPPED: _ALL,
    EventType.VERSION_AVAILABLE: _ALL,
    EventType.INVOICE_ISSUED: _ALL,
    EventType.INVOICE_DUE: _ALL,
    EventType.INVOICE_OVERDUE: _ALL,
    EventType.NEW_SIGN_IN: _PERSONAL,
    EventType.WEBHOOK_DISABLED: _PERSONAL,
    EventType.WEBHOOK_TEST: frozenset({NotificationChannel.WEBHOOK}),
}


@dataclass(frozen=True)
class NewEvent:
    """One event to write; `key` is unique across all events (`<type>:<entity id>[:<detail>]`)."""

    user_id: int
    type: EventType
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    entity_type: str | None = None
    entity_id: str | int | None = None


def emit(
    session: Session,
    *,
    user_id: int,
    type: EventType,
    key: str,
    payload: Mapping[str, Any] | None = None,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
) -> None:
    """Write one event in the caller's transaction; a key written before is ignored (retries are safe)."""
    emit_many(session, [NewEvent(user_id, type, key, payload or {}, entity_type, entity_id)])


def emit_many(session: Session, events: Iterable[NewEvent]) -> None:
    """`emit` for many events: one batched insert, conflicts on the key ignored, nothing read back."""
    now = utcnow()
    rows = [_row(event, now) for event in events]
    if not rows:
        return
    table = NotificationEvent.__table__
    statement = dialect_insert(session)(table).on_conflict_do_nothing(index_elements=["key"])
    session.execute(statement, rows)
    session.info[EMITTED] = True


def _row(event: NewEvent, now: datetime) -> dict[str, Any]:
    if len(event.key) > 160:
        raise ValueError(f"event key too long: {event.key[:40]}…")
    return {
        "key": event.key,
        "user_id": event.user_id,
        "type": EventType(event.type).value,
        "entity_type": event.entity_type,
        "entity_id": None if event.entity_id is None else str(event.entity_id),
        "payload": jsonable(event.payload),
        "created_at": now,
        "dispatched_at": None,
    }


def jsonable(value: Any) -> Any:
    """A payload as JSON: Decimals as exact strings, datetimes as ISO 8601, enums as their values."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def channels_by_default(event_type: str) -> frozenset[NotificationChannel]:
    try:
        return DEFAULTS[EventType(event_type)]
    except ValueError:
        return frozenset()


@sa.event.listens_for(OrmSession, "after_commit")
def _committed(session: OrmSession) -> None:
    """Tell the configured sink that events were committed; never fails the commit (the sweep catches up)."""
    if not session.info.pop(EMITTED, False):
        return
    try:
        from backend.runtime import notify_events  # the composition root; imported late (it imports us)

        notify_events().events_committed()
    except Exception:  # a dead queue must not undo or slow a trade; the sweep delivers later
        logger.warning("notify: could not wake the consumer; the periodic sweep will deliver", exc_info=True)


@sa.event.listens_for(OrmSession, "after_rollback")
def _rolled_back(session: OrmSession) -> None:
    session.info.pop(EMITTED, None)
