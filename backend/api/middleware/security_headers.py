"""Security headers on every answer: the API's, and the pages' when the backend serves them (prod mode).

The Content-Security-Policy allows what Reflex's exported bundle needs and nothing else. React Router's
static export inlines bootstrap scripts that change with every page and build (so 'unsafe-inline'), and
Reflex runs `rx.call_script` code with eval (so 'unsafe-eval', which Plotly's bundle needs as well). What
the policy still buys: no script, style, image or connection from any other origin, no plugins, no
<base> hijack, no form posting elsewhere, and no framing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def websocket_origin(origin: str) -> str:
    """The ws:// or wss:// twin of an http(s) origin (Reflex's event socket)."""
    parts = urlsplit(origin)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


def content_security_policy(backend_origins: Iterable[str] = ()) -> str:
    """The policy, with `backend_origins` (http(s) origins of the API and event socket) allowed to connect.

    Empty when pages and backend share one origin ('self'); the dev and test setups serve the frontend
    on another port than the backend and name it here.
    """
    connect = ["'self'"]
    for origin in backend_origins:
        connect += [origin, websocket_origin(origin)]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": list(dict.fromkeys(connect)),
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-content-type-options", b"nosniff"),
    ]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP answer that does not set its own."""

    def __init__(self, app: ASGIApp, csp: Callable[[], str]) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in security_headers(self.csp()) if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
