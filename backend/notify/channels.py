"""What a channel does for the consumer (`dispatch`): which targets a user has, how one delivery is made
ready from the database, how it is sent (no database, bounded by a timeout), and any bookkeeping after.

The consumer owns claims, attempts, retries and the attempt log; a channel only knows its own protocol.
Channels: `telegram.sender.TelegramSender`, `email.sender.EmailSender`, `webhooks.sender.WebhookSender`;
the in-app inbox needs no sender (its delivery row is the inbox item, delivered when it is created).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel import Session

from backend.models import NotificationDelivery, NotificationEvent
from backend.models.enums import NotificationChannel

# Attempts after the first, by channel: webhooks back off over about a day (the Standard Webhooks
# schedule); a chat or an inbox is worth retrying for a few hours, after which the alert is stale.
WEBHOOK_RETRIES: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MESSAGE_RETRIES: tuple[timedelta, ...] = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)


@dataclass(frozen=True)
class Outgoing:
    """One delivery ready to send: the event and the channel's resolved target (chat, address, endpoint)."""

    delivery_id: int
    attempt: int  # 1 for the first try
    event_id: int
    event_key: str
    event_type: str
    user_id: int
    payload: dict[str, Any]
    created_at: datetime
    target: Any  # the channel's own: a chat id, an email address, a webhook endpoint's url and secret

    @classmethod
    def of(cls, delivery: NotificationDelivery, event: NotificationEvent, target: Any) -> Outgoing:
        """A claimed delivery of `event` ready to send to `target` (its user is the event's)."""
        assert delivery.id is not None and event.id is not None
        return cls(
            delivery_id=delivery.id,
            attempt=max(1, delivery.attempts),  # the consumer counted this try when it claimed it
            event_id=event.id,
            event_key=event.key,
            event_type=event.type,
            user_id=event.user_id,
            payload=dict(event.payload or {}),
            created_at=event.created_at,
            target=target,
        )


@dataclass(frozen=True)
class SendResult:
    ok: bool
    response_code: int | None = None
    error: str | None = None  # short, safe to show the user (no secrets)
    permanent: bool = False  # retrying cannot help (chat blocked the bot, 410 Gone): no further attempts


class Sender(Protocol):
    channel: NotificationChannel
    retry_delays: tuple[timedelta, ...]
    # Seconds a send may take before the channel gives up (its client's timeout). The consumer starts a
    # send only while its claim has that long left, so a claim never lapses under a send still running.
    send_timeout: float

    def targets(self, session: Session, user_id: int, event_type: str) -> list[int]:
        """The target ids this user has on this channel for this type: [0] for their one chat or address,
        the endpoints' ids for webhooks; [] when not linked, not verified or not subscribed."""
        ...

    def hold_for_digest(self, session: Session, user_id: int) -> bool:
        """True when this user's deliveries on this channel wait for a digest (email, daily)."""
        ...

    def prepare(
        self, session: Session, delivery: NotificationDelivery, event: NotificationEvent
    ) -> Outgoing | None:
        """The delivery ready to send, or None when its target is gone (it is then SKIPPED)."""
        ...

    def send(self, outgoing: Outgoing) -> SendResult:
        """Send it. Never touches the database; returns within the channel's timeout."""
        ...

    def after(self, session: Session, delivery: NotificationDelivery, result: SendResult) -> None:
        """Bookkeeping in the transaction that records the attempt (a webhook's failure count)."""
        ...
