"""The client's address behind trusted reverse proxies, written into the ASGI scope for everyone downstream.

Rewriting `scope["client"]` means the API's `request.client`, the sign-in rate limiter and Reflex's
`router.session.client_ip` all see the same address, and none of them trusts a header a client can forge.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in trusted)


def resolve_client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The socket peer, unless it is a trusted proxy: then the right-most X-Forwarded-For entry that is not.

    Proxies append the address they saw, so entries left of the last untrusted one were written by the client
    (or whoever it pretends to be) and prove nothing.
    """
    if peer is None or not trusted or not _is_trusted(peer, trusted) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_ip(hop) else peer
    return hops[0] if hops else peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class ClientAddressMiddleware:
    """Replaces the scope's client with the address `resolve_client_ip` finds (HTTP and websocket)."""

    def __init__(self, app: ASGIApp, trusted: Callable[[], Sequence[Network]]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            trusted = self.trusted()
            if trusted:
                peer_host, peer_port = scope["client"]
                forwarded = _header(scope, b"x-forwarded-for")
                host = resolve_client_ip(peer_host, forwarded, trusted)
                if host != peer_host:
                    scope = {**scope, "client": (host, peer_port)}
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [value.decode("latin-1") for key, value in scope.get("headers", []) if key == name]
    return ",".join(values) if values else None
