"""One error shape for every API answer, so clients and the UI show messages without guessing."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.agents.service import AgentNotFound
from backend.auth.errors import (
    AuthError,
    Forbidden,
    InvalidAddress,
    LastAdmin,
    NotAuthenticated,
    RateLimited,
    SignInRejected,
    UserNotFound,
)
from backend.backtest.service import BacktestNotFound
from backend.backtest.sweep import SweepNotFound
from backend.billing.errors import BillingConflict, BillingNotFound, BillingUnavailable, PaymentRejected
from backend.deployments.errors import (
    DeploymentConflict,
    DeploymentNotFound,
    DeploymentRateLimited,
    WalletNotFound,
)
from backend.monitor.close import PositionNotFound, PositionNotOpen
from backend.signals.errors import CtAccountNotFound, InputRejected, PostNotFound
from backend.venues.base import TemporaryVenueError, VenueError

logger = logging.getLogger(__name__)

ERRORS_DESCRIPTION = """
Every error answers with a JSON object holding `detail`:

* **422** (a query, path or body value is invalid): `detail` is a list with one entry per bad field,
  `{"field": "limit", "message": "Input should be less than or equal to 100"}`; nested body fields are
  dotted (`weights.rsi`, `risk.stoploss`). Unknown parameters are refused the same way, and so are
  values only the database can judge (an unknown CT account on `ct_account_ids`, a name already used on
  `name`, a handle already followed on `handle`). An invoice payment or a payout that does not match what
  it must is refused the same way on its field (a signature for another amount on `signature`, a payout
  above what is owed on `amount`).
* **401** (no session, or an expired, revoked or forged one; a refused sign-in): `detail` says which.
* **403** (signed in but not allowed, e.g. someone else's agent, a trader on an operator path), **404**
  (unknown or unlisted agent, CT account or post; an unknown deployment, backtest, sweep, invoice,
  subscription, billing line or payment, or someone else's: the two look the same), **409** (e.g.
  removing the last admin, editing an archived agent, resuming a cancelled deployment, deploying an agent
  that is not active, more live deployments than a trader or an agent may have, paying or voiding a paid
  invoice, cancelling a canceled subscription, a payout's transaction hash recorded already, paying where
  billing takes no payments): `detail` is a message, e.g. `"agent 5 not found"`.
* **429** (too many sign-in attempts, new deployments or backtests in a minute, sweeps in an hour):
  `detail` is a message; the `Retry-After` header gives seconds.
* **502** (a venue answered in a way the platform could not use): `detail` is `"venue error: <reason>"`.
  Refusals a user can fix are 422 on the field instead (a rejected approval signature is 422 on
  `signature`).
* **503** (the database is unreachable): `{"detail": "database unavailable"}`; (a live venue is unreachable,
  slow or rate limiting) `{"detail": "venue unavailable: <reason>"}` with `Retry-After`: nothing was
  changed, the same request may be sent again.
* **500**: `{"detail": "internal server error"}`; the cause is logged, never returned.

Money, prices and ratios are decimal strings (`"12.50"`) so no precision is lost.
"""

_LOCATIONS = {"query", "path", "header", "cookie", "body"}


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(BaseModel):
    detail: list[FieldError]


class ErrorBody(BaseModel):
    detail: str


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "Not found"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorBody, "description": "Invalid query or path value"}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "Database unavailable"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Does not fit the current state"}
}
VENUE_ERRORS: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorBody, "description": "The venue gave an unusable answer"},
    503: {"model": ErrorBody, "description": "Database or venue unavailable; safe to retry"},
}
# Seconds a client should wait before retrying after a venue hiccup.
VENUE_RETRY_AFTER = 5


def field_name(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """`("query", "limit")` -> `"limit"`: clients know where a value went, they need its name."""
    parts = list(loc)
    if len(parts) > 1 and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "request"


def field_errors(errors: list[Any]) -> list[FieldError]:
    """Pydantic errors without the echoed input (it may be long or private)."""
    return [
        FieldError(field=field_name(e.get("loc", ())), message=e.get("msg", "invalid value")) for e in errors
    ]


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    body = ValidationErrorBody(detail=field_errors(list(exc.errors())))
    return JSONResponse(status_code=422, content=body.model_dump())


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(status_code=503, content={"detail": "database unavailable"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal server error"})


# Domain auth errors and the status each one answers with; the message is always safe to show.
_AUTH_STATUS: dict[type[AuthError], int] = {
    NotAuthenticated: 401,
    SignInRejected: 401,
    Forbidden: 403,
    UserNotFound: 404,
    LastAdmin: 409,
}


async def _auth_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(status_code=429, content={"detail": str(exc)}, headers=headers)
    if isinstance(exc, InvalidAddress):
        body = ValidationErrorBody(detail=[FieldError(field="address", message=str(exc))])
        return JSONResponse(status_code=422, content=body.model_dump())
    status = next((code for kind, code in _AUTH_STATUS.items() if isinstance(exc, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=headers)


async def _input_rejected(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputRejected)
    body = ValidationErrorBody(detail=[FieldError(field=exc.field, message=str(exc))])
    return JSONResponse(status_code=422, content=body.model_dump())


async def _payment_rejected(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PaymentRejected)
    body = ValidationErrorBody(detail=[FieldError(field=exc.field, message=exc.message)])
    return JSONResponse(status_code=422, content=body.model_dump())


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


async def _venue_error(request: Request, exc: Exception) -> JSONResponse:
    """A hiccup (timeout, 5xx, rate limit) is 503 and retryable; any other venue failure reaching here is 502.

    Live venues are called inside a request (Hyperliquid's approval, a Safe read from the spot chain); paper
    balances that fail are shown as unknown instead.
    """
    assert isinstance(exc, VenueError)
    logger.warning("venue error on %s %s: %s", request.method, request.url.path, exc.reason)
    if isinstance(exc, TemporaryVenueError):
        headers = {"Retry-After": str(VENUE_RETRY_AFTER)}
        content = {"detail": f"venue unavailable: {exc.reason}"}
        return JSONResponse(status_code=503, content=content, headers=headers)
    return JSONResponse(status_code=502, content={"detail": f"venue error: {exc.reason}"})


async def _too_many_deployments(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DeploymentRateLimited)
    headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(status_code=429, content={"detail": str(exc)}, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every failure the documented shape."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(AuthError, _auth_error)
    app.add_exception_handler(InputRejected, _input_rejected)
    not_found = (
        CtAccountNotFound,
        PostNotFound,
        AgentNotFound,
        DeploymentNotFound,
        WalletNotFound,
        PositionNotFound,
        BacktestNotFound,
        SweepNotFound,
        BillingNotFound,
    )
    for missing in not_found:
        app.add_exception_handler(missing, _not_found)
    app.add_exception_handler(DeploymentConflict, _conflict)
    app.add_exception_handler(DeploymentRateLimited, _too_many_deployments)
    app.add_exception_handler(PositionNotOpen, _conflict)
    app.add_exception_handler(BillingConflict, _conflict)
    app.add_exception_handler(BillingUnavailable, _conflict)
    app.add_exception_handler(PaymentRejected, _payment_rejected)
    app.add_exception_handler(VenueError, _venue_error)
    for db_down in (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError):
        app.add_exception_handler(db_down, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
