"""Delivering events to users' webhook endpoints, signed after the Standard Webhooks spec.

Each delivery is one POST of JSON `{"type", "timestamp", "data"}` with the headers `webhook-id`
(`msg_<delivery id>`: the same on every retry and redelivery, so a receiver drops duplicates),
`webhook-timestamp` (when this attempt was signed) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` from
`standardwebhooks.Webhook(secret).sign`; for a while after a rotation also the previous secret's, after a
space). 2xx is delivered; 410 Gone is final (and turns the endpoint off);
any other answer, a redirect (never followed) or a network error is retried on `WEBHOOK_RETRIES`.

`after` keeps each endpoint's count of consecutive failed attempts; at WEBHOOK_DISABLE_AFTER_FAILURES the
endpoint is turned off, audited, and a `webhook.disabled` event tells the user on their other channels.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from backend import audit
from backend.config import Settings
from backend.models import NotificationDelivery, NotificationEvent, WebhookEndpoint
from backend.models.common import utcnow
from backend.models.enums import NotificationChannel
from backend.notify import events
from backend.notify.channels import WEBHOOK_RETRIES, Outgoing, SendResult
from backend.notify.webhooks import urls
from backend.notify.webhooks.endpoints import subscribed
from backend.notify.webhooks.secrets import SecretCipher, secret_cipher

logger = logging.getLogger(__name__)

USER_AGENT = "Maxxit-Webhooks/1"
EXCERPT_BYTES = 200  # of a failed answer's body, kept in the log as the error; the rest is never read
GONE = 410


@dataclass(frozen=True)
class WebhookTarget:
    """An endpoint ready to receive: the secret is clear here only, and never in a repr."""

    endpoint_id: int
    url: str
    secret: str = field(repr=False)
    previous_secret: str | None = field(default=None, repr=False)  # signs too during a rotation's grace


def message_id(delivery_id: int) -> str:
    """The `webhook-id` of a delivery: stable across its retries and redeliveries."""
    return f"msg_{delivery_id}"


def body_of(outgoing: Outgoing) -> str:
    """The JSON body: the event's type, when it happened, and its payload plus its id and key."""
    created = outgoing.created_at if outgoing.created_at.tzinfo else outgoing.created_at.replace(tzinfo=UTC)
    data = {**outgoing.payload, "event_id": outgoing.event_id, "key": outgoing.event_key}
    document = {"type": outgoing.event_type, "timestamp": created.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


class WebhookSender:
    """The webhook channel for the notification consumer (`backend.notify.channels.Sender`)."""

    channel = NotificationChannel.WEBHOOK
    retry_delays = WEBHOOK_RETRIES

    def __init__(self, settings: Settings, cipher: object | None = None) -> None:
        self._settings = settings
        self._cipher: SecretCipher = secret_cipher(cipher, settings)
        self._ssl = ssl.create_default_context()  # built once: a context per request costs milliseconds

    def __repr__(self) -> str:
        return "WebhookSender()"

    @property
    def send_timeout(self) -> float:
        return self._settings.webhook_timeout_seconds

    def targets(self, session: Session, user_id: int, event_type: str) -> list[int]:
        """The user's live endpoints subscribed to this type (`endpoints.subscribed`: an empty list is the
        default set); `webhook.test` is never fanned out (`endpoints.send_test` addresses one endpoint)."""
        if event_type == events.EventType.WEBHOOK_TEST:
            return []
        rows = session.exec(
            select(WebhookEndpoint.id, WebhookEndpoint.events)
            .where(WebhookEndpoint.user_id == user_id)
            .where(col(WebhookEndpoint.enabled).is_(True))
            .where(col(WebhookEndpoint.deleted_at).is_(None))
            .order_by(col(WebhookEndpoint.id))
        ).all()
        return [endpoint_id for endpoint_id, wanted in rows if event_type in subscribed(wanted)]

    def hold_for_digest(self, session: Session, user_id: int) -> bool:
        return False

    def prepare(
        self, session: Session, delivery: NotificationDelivery, event: NotificationEvent
    ) -> Outgoing | None:
        """The delivery with its endpoint's URL and clear secret; None when the endpoint was deleted or
        turned off since (a test send still goes to a turned-off endpoint: that is how one checks a fix)."""
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id or delivery.target_id)
        if endpoint is None or endpoint.deleted_at is not None or endpoint.user_id != delivery.user_id:
            return None
        if not endpoint.enabled and event.type != events.EventType.WEBHOOK_TEST:
            return None
        assert endpoint.id is not None
        secret = self._cipher.decrypt(endpoint.id, endpoint.secret_encrypted)
        previous = None
        until = endpoint.previous_secret_until
        if endpoint.previous_secret_encrypted and until is not None and until > utcnow():
            previous = self._cipher.decrypt(endpoint.id, endpoint.previous_secret_encrypted)
        return Outgoing.of(delivery, event, WebhookTarget(endpoint.id, endpoint.url, secret, previous))

    def send(self, outgoing: Outgoing) -> SendResult:
        """POST the signed event; no database. The URL is checked (and in prod pinned) again right here."""
        target: WebhookTarget = outgoing.target
        try:
            pinned = urls.pin(target.url, self._settings)
        except urls.UrlRejected as e:
            # The URL passed when it was saved; now it does not (DNS rebinding, or the rules changed).
            # The endpoint's id and the reason only: a URL's path may hold the receiver's own token.
            logger.warning(
                "webhook endpoint %s: refused to send delivery %s: %s",
                target.endpoint_id,
                outgoing.delivery_id,
                e,
            )
            return SendResult(ok=False, error=f"refused to send: {e}"[:500])
        body = body_of(outgoing)
        headers = sign(
            target.secret, message_id(outgoing.delivery_id), body, utcnow(), target.previous_secret
        )
        return self.post(pinned, body, headers)

    def post(self, pinned: urls.Pinned, body: str, headers: dict[str, str]) -> SendResult:
        """POST to a target `urls.pin` checked: to its address, with its host name as Host and TLS SNI."""
        headers = {**headers, "Host": pinned.host} if pinned.host else headers
        extensions: dict[str, Any] = {"sni_hostname": pinned.sni_hostname} if pinned.sni_hostname else {}
        timeout = self._settings.webhook_timeout_seconds
        deadline = time.monotonic() + timeout
        try:
            with (
                httpx.Client(
                    verify=self._ssl, timeout=timeout, follow_redirects=False, trust_env=False
                ) as client,
                client.stream(
                    "POST", pinned.url, content=body.encode(), headers=headers, extensions=extensions
                ) as reply,
            ):
                code = reply.status_code
                if 200 <= code < 300:
                    return SendResult(ok=True, response_code=code)
                excerpt = _excerpt(reply, deadline)
        except httpx.TimeoutException:
            return SendResult(ok=False, error=f"no answer within {timeout:g} s")
        except httpx.HTTPError as e:
            return SendResult(ok=False, error=f"{type(e).__name__}: {_safe(str(e))}"[:500])
        error = f"HTTP {code}" + (f": {excerpt}" if excerpt else "")
        return SendResult(ok=False, response_code=code, error=error[:500], permanent=code == GONE)

    def after(self, session: Session, delivery: NotificationDelivery, result: SendResult) -> None:
        """Count the endpoint's consecutive failures (a success resets them); turn it off at the limit."""
        endpoint_id = delivery.endpoint_id or delivery.target_id
        table = WebhookEndpoint.__table__
        if result.ok:
            # Only when there is a count to reset: a healthy endpoint's success costs no write.
            session.execute(
                sa.update(table)
                .where(table.c.id == endpoint_id, table.c.consecutive_failures > 0)
                .values(consecutive_failures=0)
            )
            return
        failures = session.execute(
            sa.update(table)
            .where(table.c.id == endpoint_id)
            .values(consecutive_failures=table.c.consecutive_failures + 1)
            .returning(table.c.consecutive_failures)
        ).scalar_one_or_none()
        if failures is None:
            return
        limit = self._settings.webhook_disable_after_failures
        if result.response_code == GONE:
            disable(session, endpoint_id, failures, "the receiver answered 410 Gone", delivery)
        elif failures >= limit:
            reason = f"{failures} deliveries in a row failed (last: {result.error or 'no answer'})"
            disable(session, endpoint_id, failures, reason, delivery)


def disable(
    session: Session, endpoint_id: int, failures: int, reason: str, delivery: NotificationDelivery
) -> bool:
    """Turn an enabled endpoint off, audit it, and tell its owner; False when it was off already."""
    table = WebhookEndpoint.__table__
    reason = reason[:256]
    row = session.execute(
        sa.update(table)
        .where(table.c.id == endpoint_id, table.c.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=utcnow())
        .returning(table.c.user_id, table.c.url)
    ).one_or_none()
    if row is None:
        return False
    user_id, url = row
    logger.info("webhook endpoint %s turned off after %s failures", endpoint_id, failures)
    audit.record(
        session,
        action=audit.Action.WEBHOOK_DISABLED,
        entity_type="webhook_endpoint",
        entity_id=endpoint_id,
        details={"failures": failures, "reason": reason, "delivery_id": delivery.id},
    )
    events.emit(
        session,
        user_id=user_id,
        type=events.EventType.WEBHOOK_DISABLED,
        key=f"webhook.disabled:{endpoint_id}:{delivery.id}:{delivery.attempts}",
        payload={"endpoint_id": endpoint_id, "url": url, "failures": failures, "reason": reason},
        entity_type="webhook_endpoint",
        entity_id=endpoint_id,
    )
    return True


def sign(secret: str, msg_id: str, body: str, at: datetime, previous: str | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for one body, signed now; with `previous` (a rotation's grace) a second
    signature follows the first, space-separated, and a receiver accepts either."""
    signatures = [Webhook(key).sign(msg_id, at, body) for key in (secret, previous) if key]
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _excerpt(reply: httpx.Response, deadline: float) -> str:
    """The first bytes of an error answer, for the log; a receiver that drips its body is cut off."""
    chunks = b""
    try:
        for chunk in reply.iter_bytes(EXCERPT_BYTES):
            chunks += chunk
            if len(chunks) >= EXCERPT_BYTES or time.monotonic() > deadline:
                break
    except httpx.HTTPError:
        pass
    return _safe(chunks[:EXCERPT_BYTES].decode("utf-8", "replace"))


def _safe(text: str) -> str:
    return " ".join(text.split())[:EXCERPT_BYTES]
