"""Notifications: the outbox of events a user cares about, their deliveries to each channel, and the
channels themselves (Telegram links, verified email addresses, webhook endpoints) with per-user preferences.

An event is written in the same transaction as the change it reports (`backend.notify.events.emit`); the
consumer fans it out to deliveries, one per (event, channel, target), and sends each exactly once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from backend.models.common import UTCDateTime, created_at_field, enum_field, ts_field
from backend.models.enums import DeliveryStatus, EmailFrequency, NotificationChannel


class NotificationEvent(SQLModel, table=True):
    """One thing that happened to one user, e.g. `position.closed`; the outbox row."""

    __tablename__ = "notification_events"
    __table_args__ = (
        sa.Index("ix_notification_events_user_created", "user_id", "created_at"),
        # The consumer's scan: events not yet fanned out, oldest first.
        sa.Index("ix_notification_events_pending", "dispatched_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)  # idempotency: `position.closed:123` is written once
    user_id: int = Field(foreign_key="users.id")
    type: str = Field(max_length=48, index=True)  # an `EventType` value
    entity_type: str | None = Field(default=None, max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    created_at: datetime = created_at_field()
    dispatched_at: datetime | None = ts_field()  # when the consumer created its deliveries


class NotificationDelivery(SQLModel, table=True):
    """One event to one channel target (the chat, the address, one webhook endpoint, the inbox)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "channel", "target_id"),
        sa.Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_notification_deliveries_inbox", "user_id", "channel", "read_at"),
        sa.Index("ix_notification_deliveries_endpoint", "endpoint_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="notification_events.id")
    user_id: int = Field(foreign_key="users.id")
    channel: str = enum_field(NotificationChannel)
    # 0 for the user's one inbox / chat / address; the endpoint's id for a webhook (one per endpoint).
    target_id: int = Field(default=0, nullable=False)
    endpoint_id: int | None = Field(default=None, foreign_key="webhook_endpoints.id")
    status: str = enum_field(DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime | None = ts_field()
    claimed_until: datetime | None = ts_field()  # a SENDING claim lapses here (the consumer died)
    # An email for a daily-digest user: the digest job sends it with the day's others, not the consumer.
    held_for_digest: bool = Field(default=False, nullable=False)
    last_error: str | None = Field(default=None, max_length=500)
    response_code: int | None = None
    latency_ms: int | None = None
    delivered_at: datetime | None = ts_field()
    read_at: datetime | None = ts_field()  # the inbox: when the user marked it read
    created_at: datetime = created_at_field()
    updated_at: datetime | None = ts_field()


class DeliveryAttempt(SQLModel, table=True):
    """Each try of a delivery: what the channel answered (the webhook log shows these)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (sa.UniqueConstraint("delivery_id", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="notification_deliveries.id", index=True)
    attempt: int = Field(nullable=False)
    ok: bool = Field(nullable=False)
    response_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    latency_ms: int | None = None
    at: datetime = created_at_field()


class NotificationPreference(SQLModel, table=True):
    """A user's choice for one event type on one channel; absent rows take `events.DEFAULTS`."""

    __tablename__ = "notification_preferences"
    __table_args__ = (sa.UniqueConstraint("user_id", "event_type", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    event_type: str = Field(max_length=48)
    channel: str = enum_field(NotificationChannel)
    enabled: bool = Field(nullable=False)
    updated_at: datetime = created_at_field()


class TelegramLink(SQLModel, table=True):
    """A user's linked Telegram chat: alerts go there and commands from it act for this user only."""

    __tablename__ = "telegram_links"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True)
    chat_id: int = Field(sa_type=sa.BigInteger, unique=True, nullable=False)
    username: str | None = Field(default=None, max_length=64)
    linked_at: datetime = created_at_field()


class TelegramLinkCode(SQLModel, table=True):
    """A one-time code the settings page shows; `/start <code>` links the chat that sends it."""

    __tablename__ = "telegram_link_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the code; the code itself is not kept
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()


class EmailAddress(SQLModel, table=True):
    """A user's email address; mail goes to it only once verified through the emailed link."""

    __tablename__ = "email_addresses"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True)
    address: str = Field(max_length=254)
    verified_at: datetime | None = ts_field()
    token_hash: str | None = Field(default=None, max_length=64, unique=True)  # sha256 hex of the link's token
    token_expires_at: datetime | None = ts_field()
    frequency: str = enum_field(EmailFrequency, default=EmailFrequency.EACH)
    last_digest_at: datetime | None = ts_field()
    created_at: datetime = created_at_field()
    updated_at: datetime | None = ts_field()


class WebhookEndpoint(SQLModel, table=True):
    """A user's webhook: the URL, the event types it wants, its signing secret (encrypted at rest)."""

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)  # empty: the default set
    description: str = Field(default="", max_length=200)
    secret_encrypted: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    # After a rotation the previous secret signs too, until `previous_secret_until` (encrypted the same way).
    previous_secret_encrypted: bytes | None = Field(default=None, sa_type=sa.LargeBinary, nullable=True)
    previous_secret_until: datetime | None = ts_field()
    enabled: bool = Field(default=True, nullable=False)
    disabled_reason: str | None = Field(default=None, max_length=256)
    consecutive_failures: int = Field(default=0, nullable=False)
    deleted_at: datetime | None = ts_field()  # deleted endpoints keep their log; nothing is sent to them
    created_at: datetime = created_at_field()
    updated_at: datetime | None = ts_field()


class NotifyCursor(SQLModel, table=True):
    """A named position a consumer resumes from (Telegram's getUpdates offset)."""

    __tablename__ = "notify_cursors"

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    updated_at: datetime = created_at_field()
