"""Keep the HttpOnly session cookie out of Reflex state, while states still learn who is connected.

Reflex copies the websocket handshake's headers, Cookie included, into every state's `router_data`; the
state managers then pickle them (to `.states/` or Redis). So before Reflex sees a websocket handshake, this
middleware takes the `maxxit_session` cookie out of its headers and puts a random connection handle in its
place (`maxxit_conn`). The handle maps to the token in this process's memory only while that websocket is
open: a pickled state, a copied Reflex client token or a later connection without the cookie gets nobody.
Reflex never sends the Cookie header to the browser (reflex.istate.data serialises headers without it).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.sessions import SESSION_COOKIE

CONNECTION_COOKIE = "maxxit_conn"

# handle -> session token, one entry per open websocket that arrived with a session cookie.
_open_connections: dict[str, str] = {}


def _cookie_pairs(header: str) -> Iterable[tuple[str, str]]:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            yield name, value


def _split_session_cookie(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, list, list[str]]:
    """(the session token if any, the other headers, the other cookies); client-sent handles are dropped."""
    token: str | None = None
    other_headers: list[tuple[bytes, bytes]] = []
    cookies: list[str] = []
    for name, value in headers:
        if name.lower() != b"cookie":
            other_headers.append((name, value))
            continue
        for cookie, cookie_value in _cookie_pairs(value.decode("latin-1")):
            if cookie == SESSION_COOKIE:
                token = cookie_value or token
            elif cookie != CONNECTION_COOKIE:  # only this middleware hands out handles
                cookies.append(f"{cookie}={cookie_value}")
    return token, other_headers, cookies


class SessionCookieShield:
    """ASGI middleware over the whole Reflex backend; only websocket handshakes are rewritten."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        token, headers, cookies = _split_session_cookie(scope.get("headers", []))
        handle: str | None = None
        if token:
            handle = secrets.token_urlsafe(32)
            _open_connections[handle] = token
            cookies.append(f"{CONNECTION_COOKIE}={handle}")
        if cookies:
            headers.append((b"cookie", "; ".join(cookies).encode("latin-1")))
        try:
            await self.app({**scope, "headers": headers}, receive, send)
        finally:
            if handle is not None:
                _open_connections.pop(handle, None)


def connection_session_token(cookie_header: str) -> str | None:
    """The session token of the websocket whose (rewritten) Cookie header this is; None once it closed."""
    for name, value in _cookie_pairs(cookie_header or ""):
        if name == CONNECTION_COOKIE:
            return _open_connections.get(value)
    return None
