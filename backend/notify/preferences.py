"""Which channels each event type reaches for one user: `events.DEFAULTS`, overridden by the user's own rows.

A row exists only where the user chose; the defaults can then change for everyone who did not. The
consumer reads every user of a batch in one query (`overrides_for`); the settings page reads `matrix`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.db import among, dialect_insert
from backend.models import NotificationPreference
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel
from backend.notify.events import CONFIGURABLE, DESCRIPTIONS, EventType, channels_by_default

_CONFIGURABLE_NAMES = frozenset(t.value for t in CONFIGURABLE)
# (user_id, event_type, channel) -> enabled, for the rows users wrote.
Overrides = dict[tuple[int, str, str], bool]


class PreferenceError(ValueError):
    """An unknown event type or channel; `field` names which (422 on it in the API)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class PreferenceRow:
    event_type: str
    description: str
    channels: dict[str, bool]  # every channel's value, in NotificationChannel order


def overrides_for(session: Session, user_ids: Iterable[int]) -> Overrides:
    """Every preference row of these users, in one query."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(
            NotificationPreference.user_id,
            NotificationPreference.event_type,
            NotificationPreference.channel,
            NotificationPreference.enabled,
        ).where(among(col(NotificationPreference.user_id), ids))
    )
    return {(user_id, event_type, str(channel)): enabled for user_id, event_type, channel, enabled in rows}


def channels_for(overrides: Overrides, user_id: int, event_type: str) -> frozenset[NotificationChannel]:
    """The defaults for the type with the user's rows applied.

    The webhook channel is on for every type the user did not turn off here: each endpoint subscribes to
    types itself (by default to those `DEFAULTS` turns on for webhooks), so an endpoint subscribed to
    `position.opened` gets opens although they are off by default."""
    defaults = channels_by_default(event_type)
    configurable = event_type in _CONFIGURABLE_NAMES
    return frozenset(
        channel
        for channel in NotificationChannel
        if overrides.get(
            (user_id, event_type, channel.value),
            configurable if channel == NotificationChannel.WEBHOOK else channel in defaults,
        )
    )


def enabled_channels(session: Session, user_id: int, event_type: str) -> frozenset[NotificationChannel]:
    return channels_for(overrides_for(session, [user_id]), user_id, event_type)


def matrix(session: Session, user_id: int) -> list[PreferenceRow]:
    """Every type a user can choose for, in the settings page's order, with each channel on or off."""
    overrides = overrides_for(session, [user_id])
    rows = []
    for event_type in CONFIGURABLE:
        on = channels_for(overrides, user_id, event_type.value)
        channels = {channel.value: channel in on for channel in NotificationChannel}
        rows.append(PreferenceRow(event_type.value, DESCRIPTIONS[event_type], channels))
    return rows


def set_preference(session: Session, user: CurrentUser, event_type: str, channel: str, enabled: bool) -> None:
    """Turn one type on or off on one channel for this user (audited); commits."""
    kind = _configurable(event_type)
    where = _channel(channel)
    now = utcnow()
    values = {"user_id": user.id, "event_type": kind.value, "channel": where.value, "enabled": enabled}
    statement = dialect_insert(session)(NotificationPreference.__table__).values(updated_at=now, **values)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "event_type", "channel"], set_={"enabled": enabled, "updated_at": now}
    )
    session.execute(statement)
    audit.record(
        session,
        action=audit.Action.NOTIFY_PREFERENCE_CHANGED,
        entity_type="user",
        entity_id=user.id,
        actor=user.address,
        actor_user_id=user.id,
        details={"event_type": kind.value, "channel": where.value, "enabled": enabled},
    )
    session.commit()


def _configurable(event_type: str) -> EventType:
    try:
        kind = EventType(event_type)
    except ValueError:
        kind = None
    if kind is None or kind not in CONFIGURABLE:
        raise PreferenceError("event_type", f"unknown event type: {str(event_type)[:48]}")
    return kind


def _channel(channel: str) -> NotificationChannel:
    try:
        return NotificationChannel(channel)
    except ValueError:
        raise PreferenceError("channel", f"unknown channel: {str(channel)[:32]}") from None
