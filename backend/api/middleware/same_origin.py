"""Cookie-authenticated writes must come from our own pages: a forged cross-site form or fetch gets 403.

SameSite cookies alone are not enough: a page on another port of the same host is same-site, so the
browser would send the session cookie along. Requests carrying `Authorization: Bearer` are not
cookie-authenticated (a browser never adds that header by itself) and pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.sessions import SESSION_COOKIE

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_cross_origin_write(
    method: str, headers: dict[str, str], cookies: Collection[str], allowed: Collection[str]
) -> bool:
    """True when a cookie-authenticated write does not prove it comes from one of the allowed origins.

    Browsers send Origin on every cross-origin POST; when it is missing, Sec-Fetch-Site still says where
    the request came from. A request with a session cookie and neither header is refused: it is either a
    very old browser or a client that should use a Bearer token.
    """
    if method.upper() not in UNSAFE_METHODS or SESSION_COOKIE not in cookies:
        return False
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return False
    origin = headers.get("origin")
    if origin is not None:
        return origin.rstrip("/").lower() not in allowed
    return headers.get("sec-fetch-site", "").lower() != "same-origin"


class SameOriginWritesMiddleware:
    """403 for cookie-authenticated POST/PUT/PATCH/DELETE whose Origin is not one of ours."""

    def __init__(self, app: ASGIApp, allowed_origins: Callable[[], Collection[str]]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
            headers = dict(raw)
            # HTTP/2 may split the Cookie header in several; every one counts.
            cookies = _cookie_names("; ".join(v for k, v in raw if k == "cookie"))
            if is_cross_origin_write(scope["method"], headers, cookies, self.allowed_origins()):
                await _forbidden(send)
                return
        await self.app(scope, receive, send)


def _cookie_names(header: str) -> set[str]:
    return {part.split("=", 1)[0].strip() for part in header.split(";") if "=" in part}


async def _forbidden(send: Send) -> None:
    body = json.dumps({"detail": "cross-origin request refused: Origin is not this site"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
