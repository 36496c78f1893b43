"""Webhook endpoints over REST: create (the `whsec_…` secret answered once), list, read, update, delete,
rotate the secret, send a test, read the delivery log and redeliver.

Every path needs a session (401 first, before any body is judged). Another user's endpoint or delivery is the
same 404 as an unknown one. Bad input is 422 on the field (`url`, `events`, `description`) and changes
nothing. Test sends and redeliveries share a per-user hourly quota (429 with Retry-After). Thin over
`backend.notify.webhooks.endpoints`; deliveries are signed after the Standard Webhooks spec (see the README's
Notifications section for verifying them).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.api.agents import MAX_ID
from backend.api.auth import TOO_MANY, UNAUTHORIZED
from backend.api.backtests import CounterDep
from backend.api.deps import ClientIpDep, CurrentUserDep, SessionDep, SettingsDep, app_settings
from backend.api.errors import INVALID, NOT_FOUND, UNAVAILABLE
from backend.api.routing import AuthenticateFirstRoute
from backend.notify.webhooks import endpoints
from backend.notify.webhooks.endpoints import (
    MAX_DESCRIPTION,
    AttemptOut,
    EndpointOut,
    WebhookError,
    WebhookNotFound,
)
from backend.notify.webhooks.secrets import SecretCipher
from backend.notify.webhooks.urls import MAX_URL_LENGTH

EndpointId = Annotated[int, Path(ge=1, le=MAX_ID)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]
EventNames = list[Annotated[str, Field(max_length=64)]]

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/webhooks",
    tags=["webhooks"],
    responses={**UNAUTHORIZED, **INVALID, **UNAVAILABLE},
)
_cipher_lock = threading.Lock()


def webhook_cipher(request: Request) -> SecretCipher:
    """The webhook-secret cipher of this app, derived once from its settings."""
    cipher = getattr(request.app.state, "webhook_cipher", None)
    if cipher is None:
        with _cipher_lock:
            cipher = getattr(request.app.state, "webhook_cipher", None)
            if cipher is None:
                cipher = SecretCipher.from_settings(app_settings(request.app))
                request.app.state.webhook_cipher = cipher
    return cipher


WebhookCipherDep = Annotated[SecretCipher, Depends(webhook_cipher)]


class EndpointIn(BaseModel):
    """`events` empty or left out: the default set, the types `events.DEFAULTS` turns on for webhooks (not
    `position.opened`: subscribe to it by name to get opens)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    events: EventNames = Field(default_factory=list, max_length=64)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


class EndpointPatch(BaseModel):
    """Only what is given changes; `"enabled": true` turns a disabled endpoint on and clears its failures;
    `"events": []` goes back to the default set."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    events: EventNames | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    enabled: bool | None = None


@dataclass(frozen=True)
class CreatedOut(EndpointOut):
    secret: str  # `whsec_…`: shown this once; keep it in your receiver


class SecretOut(BaseModel):
    secret: str


class DeliveryIdOut(BaseModel):
    delivery_id: int


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=endpoints.MAX_LOG)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@contextmanager
def _answers() -> Iterator[None]:
    """The service's errors as the API's shapes: 422 on the field, 404 for none (or someone else's)."""
    try:
        yield
    except WebhookError as e:
        raise HTTPException(422, detail=[{"field": e.field, "message": e.message}]) from None
    except WebhookNotFound as e:
        raise HTTPException(404, detail=str(e)) from None


@router.post("", status_code=201, summary="Add a webhook endpoint")
def create(
    body: EndpointIn,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    cipher: WebhookCipherDep,
    ip: ClientIpDep,
) -> CreatedOut:
    """Answers the signing secret (`whsec_…`) this once; it cannot be read again, only rotated."""
    with _answers():
        created = endpoints.create_endpoint(
            session, user, body.url, body.events, body.description, settings, cipher, ip=ip
        )
    return CreatedOut(**vars(created.endpoint), secret=created.secret)


@router.get("", summary="My webhook endpoints")
def list_all(user: CurrentUserDep, session: SessionDep) -> list[EndpointOut]:
    return endpoints.list_endpoints(session, user.id)


@router.get("/{endpoint_id}", summary="One webhook endpoint", responses={**NOT_FOUND})
def get_one(endpoint_id: EndpointId, user: CurrentUserDep, session: SessionDep) -> EndpointOut:
    with _answers():
        return endpoints.get_endpoint(session, user.id, endpoint_id)


@router.patch("/{endpoint_id}", summary="Change a webhook endpoint", responses={**NOT_FOUND})
def update(
    endpoint_id: EndpointId,
    body: EndpointPatch,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
) -> EndpointOut:
    with _answers():
        out = endpoints.update_endpoint(
            session,
            user,
            endpoint_id,
            url=body.url,
            events=body.events,
            description=body.description,
            enabled=body.enabled,
            settings=settings,
            ip=ip,
        )
    return out


@router.delete(
    "/{endpoint_id}", status_code=204, summary="Delete a webhook endpoint", responses={**NOT_FOUND}
)
def delete(endpoint_id: EndpointId, user: CurrentUserDep, session: SessionDep, ip: ClientIpDep) -> Response:
    """Nothing is sent to it any more; its delivery log is kept."""
    with _answers():
        endpoints.delete_endpoint(session, user, endpoint_id, ip=ip)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", summary="A new signing secret", responses={**NOT_FOUND})
def rotate(
    endpoint_id: EndpointId,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    cipher: WebhookCipherDep,
    ip: ClientIpDep,
) -> SecretOut:
    """The new secret is answered this once. The old one goes on signing beside it (a second signature in
    `webhook-signature`) for WEBHOOK_SECRET_ROTATION_GRACE_HOURS, so switch your receiver within that time."""
    with _answers():
        secret = endpoints.rotate_secret(session, user, endpoint_id, cipher, ip=ip, settings=settings)
    return SecretOut(secret=secret)


@router.post(
    "/{endpoint_id}/test",
    status_code=202,
    summary="Send a test event",
    responses={**NOT_FOUND, **TOO_MANY},
)
def send_test(
    endpoint_id: EndpointId,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    counter: CounterDep,
    ip: ClientIpDep,
) -> DeliveryIdOut:
    """A `webhook.test` event to this endpoint only; its outcome appears in the delivery log. Tests and
    redeliveries together: at most WEBHOOK_MANUAL_SENDS_PER_HOUR per user (429 with Retry-After)."""
    with _answers():
        delivery_id = endpoints.send_test(
            session, user, endpoint_id, ip=ip, settings=settings, counter=counter
        )
    return DeliveryIdOut(delivery_id=delivery_id)


@router.get("/{endpoint_id}/deliveries", summary="The endpoint's delivery log", responses={**NOT_FOUND})
def deliveries(
    endpoint_id: EndpointId, query: Annotated[LogQuery, Query()], user: CurrentUserDep, session: SessionDep
) -> list[AttemptOut]:
    """Each attempt newest first (status, response code, attempt number, latency); deliveries not tried yet
    appear as attempt 0."""
    with _answers():
        rows = endpoints.delivery_log(session, user.id, endpoint_id, limit=query.limit, offset=query.offset)
    return rows


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Send a delivery again",
    responses={**NOT_FOUND, **TOO_MANY},
)
def redeliver(
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    counter: CounterDep,
    ip: ClientIpDep,
) -> DeliveryIdOut:
    """The same delivery (same `webhook-id`) is sent again now; its attempts go on counting in the log.
    Counted with test sends (WEBHOOK_MANUAL_SENDS_PER_HOUR, 429 with Retry-After)."""
    with _answers():
        endpoints.redeliver(
            session, user, delivery_id, endpoint_id=endpoint_id, ip=ip, settings=settings, counter=counter
        )
    return DeliveryIdOut(delivery_id=delivery_id)
