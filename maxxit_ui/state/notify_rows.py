"""Rows of the notification pages, formatted once on the server from the notify services' results.

The services' results are plain objects; only display-ready strings and flags reach page state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypedDict

from backend.models.enums import NotificationChannel
from maxxit_ui.components import format as fmt

NOTIFICATIONS_ROUTE = "/notifications"
SETTINGS_ROUTE = "/settings/notifications"
PAGE_SIZE = 25
# The grid's columns, in order, with the words the page uses.
CHANNELS: tuple[tuple[str, str, str], ...] = (
    (NotificationChannel.IN_APP.value, "In-app", "bell"),
    (NotificationChannel.TELEGRAM.value, "Telegram", "send"),
    (NotificationChannel.EMAIL.value, "Email", "mail"),
    (NotificationChannel.WEBHOOK.value, "Webhook", "webhook"),
)
FREQUENCIES: dict[str, str] = {"each": "Each event", "daily": "Daily digest"}
URL_MAX = 2048
EMAIL_MAX = 320
DESCRIPTION_MAX = 200
EVENT_TYPE_MAX = 64


class InboxRow(TypedDict):
    id: str
    title: str
    lines: str
    path: str
    time: str
    unread: bool


class PreferenceRow(TypedDict):
    event_type: str
    description: str
    in_app: bool
    telegram: bool
    email: bool
    webhook: bool


class EventChoice(TypedDict):
    event_type: str
    description: str
    checked: bool


class EndpointRow(TypedDict):
    id: str
    url: str
    events: str
    description: str
    enabled: bool
    status: str
    created: str
    event_types: list[str]  # what the edit form starts from


ATTEMPT_COLORS = {"DELIVERED": "green", "FAILED": "amber", "DEAD": "red", "SKIPPED": "gray"}


class AttemptRow(TypedDict):
    delivery_id: str
    event_type: str
    attempt: str
    ok: bool
    color: str
    status: str
    code: str
    error: str
    latency: str
    time: str


def when(value: datetime | None) -> str:
    return fmt.timestamp(value) if value is not None else ""


def message_lines(lines: Iterable[Any]) -> str:
    """A message's labelled figures on one line: "Market: ETH long · PnL: +$12.00"."""
    parts = []
    for line in lines:
        if isinstance(line, list | tuple) and len(line) == 2:
            parts.append(f"{line[0]}: {line[1]}")
        else:
            parts.append(str(line))
    return " · ".join(parts)


def inbox_row(item: Any) -> InboxRow:
    return InboxRow(
        id=str(item.id),
        title=item.title,
        lines=message_lines(item.lines),
        path=item.path or NOTIFICATIONS_ROUTE,
        time=when(item.created_at),
        unread=item.read_at is None,
    )


def preference_row(row: Any) -> PreferenceRow:
    channels: Mapping[str, bool] = row.channels
    return PreferenceRow(
        event_type=str(row.event_type),
        description=row.description,
        **{key: bool(channels.get(key, False)) for key, _, _ in CHANNELS},  # type: ignore[typeddict-item]
    )


def endpoint_row(endpoint: Any) -> EndpointRow:
    if endpoint.enabled:
        status = "Enabled"
    else:
        status = f"Disabled: {endpoint.disabled_reason}" if endpoint.disabled_reason else "Disabled"
    events = list(endpoint.events or [])
    return EndpointRow(
        id=str(endpoint.id),
        url=endpoint.url,
        events=", ".join(events) if events else "the default events",
        description=endpoint.description or "",
        enabled=bool(endpoint.enabled),
        status=status,
        created=when(endpoint.created_at),
        event_types=events,
    )


def attempt_row(attempt: Any) -> AttemptRow:
    status = str(getattr(attempt.status, "value", attempt.status) or "")
    return AttemptRow(
        delivery_id=str(attempt.delivery_id),
        event_type=attempt.event_type,
        attempt=f"try {attempt.attempt}" if attempt.attempt else "not tried yet",
        ok=bool(attempt.ok),
        color="green"
        if attempt.ok
        else ("red" if attempt.ok is False else ATTEMPT_COLORS.get(status, "gray")),
        status=status,
        code="" if attempt.response_code is None else str(attempt.response_code),
        error=(attempt.error or "")[:200],
        latency="" if attempt.latency_ms is None else f"{attempt.latency_ms} ms",
        time=when(attempt.at),
    )
