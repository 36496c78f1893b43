"""A user's webhook endpoints: create (the secret shown once), list, update, delete, rotate the secret, send a
test, redeliver, and the delivery log. What the REST API and the settings page call.

Every function acts for one user: another user's endpoint or delivery is `WebhookNotFound`, the same as none.
Bad input is `WebhookError(field, message)` and changes nothing. Each change is audited and committed here.

Redeliver does not make a new delivery (one row per event and endpoint is what keeps sending exactly-once):
it puts the delivery back to PENDING, due now, keeping its attempt log; the attempt numbers go on from there
and the `webhook-id` stays the same, so a receiver that already has the event can drop it.
"""

from __future__ import annotations

import logging
import secrets as random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import Counter, check_quota, shared_counter
from backend.config import Settings, get_settings
from backend.models import DeliveryAttempt, NotificationDelivery, NotificationEvent, WebhookEndpoint
from backend.models.common import utcnow
from backend.models.enums import DeliveryStatus, NotificationChannel
from backend.notify.events import DEFAULTS, EMITTED, EventType
from backend.notify.webhooks import urls
from backend.notify.webhooks.secrets import new_secret, secret_cipher

logger = logging.getLogger(__name__)

MAX_ENDPOINTS = 10  # per user, deleted ones not counted
MAX_DESCRIPTION = 200
MAX_LOG = 200
HOUR = 3600
UNPRINTABLE = frozenset({"Cc", "Cs"})  # control characters and lone surrogates (which no database stores)
ENTITY = "webhook_endpoint"
# What an endpoint may subscribe to: every type but the test, which goes only where it is sent.
SUBSCRIBABLE: tuple[str, ...] = tuple(t.value for t in EventType if t != EventType.WEBHOOK_TEST)
# What an endpoint naming no events subscribes to: what `events.DEFAULTS` turns on for webhooks (not opens).
DEFAULT_EVENTS: tuple[str, ...] = tuple(
    t for t in SUBSCRIBABLE if NotificationChannel.WEBHOOK in DEFAULTS[EventType(t)]
)


class WebhookError(ValueError):
    """Input a user can fix, on one field; the message is safe to show."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class WebhookNotFound(LookupError):
    """No such endpoint or delivery for this user (another user's looks the same)."""


@dataclass(frozen=True)
class EndpointOut:
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: EndpointOut
    secret: str  # shown once; only its ciphertext is kept

    def __repr__(self) -> str:
        return f"CreatedEndpoint(endpoint={self.endpoint!r}, secret=<hidden>)"


@dataclass(frozen=True)
class AttemptOut:
    """One row of an endpoint's log: a try of a delivery, or a delivery not tried yet (attempt 0)."""

    delivery_id: int
    event_type: str
    event_key: str
    attempt: int
    ok: bool | None
    response_code: int | None
    error: str | None
    latency_ms: int | None
    at: datetime
    status: str  # the delivery's current status


def list_endpoints(session: Session, user_id: int) -> list[EndpointOut]:
    rows = session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == user_id, col(WebhookEndpoint.deleted_at).is_(None))
        .order_by(col(WebhookEndpoint.id))
    ).all()
    return [_out(row) for row in rows]


def get_endpoint(session: Session, user_id: int, endpoint_id: int) -> EndpointOut:
    return _out(_owned(session, user_id, endpoint_id))


def create_endpoint(
    session: Session,
    user: CurrentUser,
    url: str,
    events: Sequence[str] | None,
    description: str | None,
    settings: Settings,
    cipher: object | None = None,
    *,
    ip: str | None = None,
) -> CreatedEndpoint:
    """A new endpoint and its signing secret, which the caller shows once and nobody can read again."""
    checked_url = _url(url, settings)
    wanted = _events(events)
    text = _description(description)
    count = session.exec(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == user.id, col(WebhookEndpoint.deleted_at).is_(None))
    ).one()
    if count >= MAX_ENDPOINTS:
        raise WebhookError("url", f"at most {MAX_ENDPOINTS} webhook endpoints; delete one first")
    endpoint = WebhookEndpoint(
        user_id=user.id, url=checked_url, events=wanted, description=text, secret_encrypted=b""
    )
    session.add(endpoint)
    session.flush()  # the id is bound into the ciphertext
    assert endpoint.id is not None
    secret = new_secret()
    endpoint.secret_encrypted = secret_cipher(cipher, settings).encrypt(endpoint.id, secret)
    _audit(session, user, audit.Action.WEBHOOK_CREATED, endpoint.id, {"events": wanted}, ip)
    session.commit()
    logger.info("user %s created webhook endpoint %s", user.id, endpoint.id)
    return CreatedEndpoint(_out(endpoint), secret)


def update_endpoint(
    session: Session,
    user: CurrentUser,
    endpoint_id: int,
    *,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    settings: Settings,
    ip: str | None = None,
) -> EndpointOut:
    """Change what is given; turning a disabled endpoint on again clears its failure count."""
    endpoint = _owned(session, user.id, endpoint_id)
    changed: list[str] = []
    if url is not None and url.strip() != endpoint.url:
        endpoint.url = _url(url, settings)
        changed.append("url")
    if events is not None:
        endpoint.events = _events(events)
        changed.append("events")
    if description is not None:
        endpoint.description = _description(description)
        changed.append("description")
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.disabled_reason = None if enabled else "turned off by you"
        changed.append("enabled")
    if enabled:
        endpoint.consecutive_failures = 0
    if changed:
        endpoint.updated_at = utcnow()
        details = {"fields": changed, "enabled": endpoint.enabled}
        _audit(session, user, audit.Action.WEBHOOK_UPDATED, endpoint_id, details, ip)
    session.commit()
    return _out(endpoint)


def delete_endpoint(session: Session, user: CurrentUser, endpoint_id: int, *, ip: str | None = None) -> None:
    """Soft delete: nothing is sent to it any more; its delivery log stays."""
    endpoint = _owned(session, user.id, endpoint_id)
    endpoint.deleted_at = endpoint.updated_at = utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = "deleted"
    _audit(session, user, audit.Action.WEBHOOK_DELETED, endpoint_id, {}, ip)
    session.commit()


def rotate_secret(
    session: Session,
    user: CurrentUser,
    endpoint_id: int,
    cipher: object | None = None,
    *,
    ip: str | None = None,
    settings: Settings | None = None,
) -> str:
    """A new secret, shown once. For WEBHOOK_SECRET_ROTATION_GRACE_HOURS the one it replaces signs too (a
    second `v1,` signature in `webhook-signature`, as the Standard Webhooks spec allows), so a receiver
    still holding it verifies until it switches; a second rotation within the grace drops the oldest."""
    settings = settings or get_settings()
    endpoint = _owned(session, user.id, endpoint_id)
    secret = new_secret()
    now = utcnow()
    grace = timedelta(hours=settings.webhook_secret_rotation_grace_hours)
    # The ciphertext moves as it is: it is bound to this endpoint's id, like the current one.
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if grace else None
    endpoint.previous_secret_until = now + grace if grace else None
    endpoint.secret_encrypted = secret_cipher(cipher, settings).encrypt(endpoint_id, secret)
    endpoint.updated_at = now
    _audit(session, user, audit.Action.WEBHOOK_SECRET_ROTATED, endpoint_id, {}, ip)
    session.commit()
    return secret


def count_manual_send(user_id: int, settings: Settings | None = None, counter: Counter | None = None) -> None:
    """One test send or redelivery asked by hand; RateLimited (429, Retry-After) over
    WEBHOOK_MANUAL_SENDS_PER_HOUR. Counted per user, not per endpoint: ten endpoints on one URL would
    otherwise multiply what that URL receives."""
    settings = settings or get_settings()
    limit = settings.webhook_manual_sends_per_hour
    check_quota(
        counter or shared_counter(settings.redis_url),
        f"webhook-send:{user_id}",
        limit=limit,
        window_seconds=HOUR,
        message=f"at most {limit} test sends and redeliveries an hour",
    )


def send_test(
    session: Session,
    user: CurrentUser,
    endpoint_id: int,
    *,
    ip: str | None = None,
    settings: Settings | None = None,
    counter: Counter | None = None,
) -> int:
    """A `webhook.test` event for this endpoint only (also when it is turned off: that is how a fix is
    checked); the consumer sends it like any other delivery. Returns the delivery's id. Counted against
    the user's quota once the endpoint is found (`count_manual_send`)."""
    endpoint = _owned(session, user.id, endpoint_id)
    count_manual_send(user.id, settings, counter)
    now = utcnow()
    event = NotificationEvent(
        key=f"webhook.test:{endpoint_id}:{random.token_hex(8)}",
        user_id=user.id,
        type=EventType.WEBHOOK_TEST.value,
        entity_type=ENTITY,
        entity_id=str(endpoint_id),
        payload={"endpoint_id": endpoint_id, "message": "A test event from Maxxit."},
        created_at=now,
        dispatched_at=now,  # fanned out already: its one delivery is made here
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    delivery = NotificationDelivery(
        event_id=event.id,
        user_id=user.id,
        channel=NotificationChannel.WEBHOOK,
        target_id=endpoint_id,
        endpoint_id=endpoint_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    assert delivery.id is not None
    _audit(session, user, audit.Action.WEBHOOK_TEST_SENT, endpoint.id, {"delivery_id": delivery.id}, ip)
    session.info[EMITTED] = True  # wake the consumer after the commit
    session.commit()
    return delivery.id


def redeliver(
    session: Session,
    user: CurrentUser,
    delivery_id: int,
    *,
    endpoint_id: int | None = None,
    ip: str | None = None,
    settings: Settings | None = None,
    counter: Counter | None = None,
) -> int:
    """Send a delivery again now (see the module's docstring); its id. With `endpoint_id`, the delivery
    must be that endpoint's. Counted against the user's quota once it is allowed (`count_manual_send`)."""
    delivery = session.exec(
        select(NotificationDelivery).where(
            NotificationDelivery.id == delivery_id,
            NotificationDelivery.user_id == user.id,
            NotificationDelivery.channel == NotificationChannel.WEBHOOK,
        )
    ).one_or_none()
    if delivery is None or delivery.endpoint_id is None or endpoint_id not in (None, delivery.endpoint_id):
        raise WebhookNotFound(f"delivery {delivery_id} not found")
    endpoint = _owned(session, user.id, delivery.endpoint_id)
    event = session.get(NotificationEvent, delivery.event_id)
    is_test = event is not None and event.type == EventType.WEBHOOK_TEST
    if not endpoint.enabled and not is_test:
        raise WebhookError("delivery_id", "the endpoint is turned off; turn it on first")
    now = utcnow()
    if delivery.status == DeliveryStatus.SENDING and delivery.claimed_until and delivery.claimed_until > now:
        raise WebhookError("delivery_id", "this delivery is being sent right now")
    count_manual_send(user.id, settings, counter)
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.claimed_until = None
    delivery.updated_at = now
    details = {"delivery_id": delivery_id, "attempts": delivery.attempts}
    _audit(session, user, audit.Action.WEBHOOK_REDELIVERED, endpoint.id, details, ip)
    session.info[EMITTED] = True
    session.commit()
    return delivery_id


def delivery_log(
    session: Session, user_id: int, endpoint_id: int, *, limit: int = 50, offset: int = 0
) -> list[AttemptOut]:
    """The endpoint's attempts, newest first, with deliveries not tried yet; a deleted endpoint's too."""
    _owned(session, user_id, endpoint_id, deleted_too=True)
    at = func.coalesce(col(DeliveryAttempt.at), col(NotificationDelivery.created_at))
    rows = session.exec(
        select(NotificationDelivery, NotificationEvent, DeliveryAttempt)
        .join(NotificationEvent, col(NotificationEvent.id) == col(NotificationDelivery.event_id))
        .join(DeliveryAttempt, col(DeliveryAttempt.delivery_id) == col(NotificationDelivery.id), isouter=True)
        .where(
            NotificationDelivery.endpoint_id == endpoint_id,
            NotificationDelivery.user_id == user_id,
            NotificationDelivery.channel == NotificationChannel.WEBHOOK,
        )
        .order_by(at.desc(), col(NotificationDelivery.id).desc(), sa.desc(col(DeliveryAttempt.attempt)))
        .limit(max(1, min(limit, MAX_LOG)))
        .offset(max(0, offset))
        .execution_options(populate_existing=True)  # the log as it is now, not as this session last saw it
    ).all()
    return [_log_row(d, e, a) for d, e, a in rows]


def _log_row(
    delivery: NotificationDelivery, event: NotificationEvent, attempt: DeliveryAttempt | None
) -> AttemptOut:
    assert delivery.id is not None
    return AttemptOut(
        delivery_id=delivery.id,
        event_type=event.type,
        event_key=event.key,
        attempt=attempt.attempt if attempt else 0,
        ok=attempt.ok if attempt else None,
        response_code=attempt.response_code if attempt else None,
        error=attempt.error if attempt else None,
        latency_ms=attempt.latency_ms if attempt else None,
        at=attempt.at if attempt else delivery.created_at,
        status=str(delivery.status),
    )


def _owned(session: Session, user_id: int, endpoint_id: int, *, deleted_too: bool = False) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if (
        endpoint is None
        or endpoint.user_id != user_id
        or (endpoint.deleted_at is not None and not deleted_too)
    ):
        raise WebhookNotFound(f"webhook endpoint {endpoint_id} not found")
    return endpoint


def _url(url: str, settings: Settings) -> str:
    try:
        return urls.check_url(url, settings)
    except urls.UrlRejected as e:
        raise WebhookError("url", str(e)) from None


def _events(values: Sequence[str] | None) -> list[str]:
    """The subscribed types in a stable order, each once; none or an empty list: `DEFAULT_EVENTS`."""
    if not values:
        return list(DEFAULT_EVENTS)
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise WebhookError("events", "a list of event type names")
    unknown = sorted({v for v in values if v not in SUBSCRIBABLE})
    if unknown:
        shown = ", ".join(ascii(v)[1:-1][:64] for v in unknown[:5])[:200]
        raise WebhookError("events", f"unknown event type(s): {shown}; known: {', '.join(SUBSCRIBABLE)}")
    if len(set(values)) != len(values):
        raise WebhookError("events", "an event type is listed twice")
    return [t for t in SUBSCRIBABLE if t in set(values)]


def subscribed(events: Sequence[str] | None) -> list[str]:
    """The types an endpoint's stored list means: an empty list (saved before defaults were stored) is the
    default set."""
    return list(events) if events else list(DEFAULT_EVENTS)


def _description(value: str | None) -> str:
    """Runs of whitespace become one space; any other control character (a NUL, an escape) is refused."""
    raw = value or ""
    if any(unicodedata.category(ch) in UNPRINTABLE and ch not in "\t\n\r" for ch in raw):
        raise WebhookError("description", "may not contain control characters")
    text = " ".join(raw.split())
    if len(text) > MAX_DESCRIPTION:
        raise WebhookError("description", f"at most {MAX_DESCRIPTION} characters")
    return text


def _out(endpoint: WebhookEndpoint) -> EndpointOut:
    assert endpoint.id is not None
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=subscribed(endpoint.events),
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
    )


def _audit(
    session: Session, user: CurrentUser, action: str, endpoint_id: int, details: dict, ip: str | None
) -> None:
    audit.record_by(session, user, action, ENTITY, endpoint_id, details, ip)
