"""The handshake's session cookie never reaches Reflex: a handle that dies with the connection does."""

from __future__ import annotations

from typing import Any

from maxxit_ui.session_cookie import SessionCookieShield, connection_session_token
from tests.coroutines import run_coroutine


def _handshake(cookie: str | None, scope_type: str = "websocket") -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def reflex(scope, _receive, _send) -> None:
        cookie_header = dict(scope["headers"]).get(b"cookie", b"").decode()
        seen["cookie"] = cookie_header
        seen["token_while_open"] = connection_session_token(cookie_header)

    headers = [(b"host", b"127.0.0.1")] + ([(b"cookie", cookie.encode())] if cookie else [])
    run_coroutine(SessionCookieShield(reflex)({"type": scope_type, "headers": headers}, None, None))
    seen["token_after_close"] = connection_session_token(seen["cookie"])
    return seen


def test_the_session_cookie_is_swapped_for_a_handle_valid_while_the_socket_is_open():
    seen = _handshake("theme=dark; maxxit_session=tok.sig; other=1")
    assert "tok.sig" not in seen["cookie"]
    assert "theme=dark" in seen["cookie"] and "other=1" in seen["cookie"]
    assert seen["token_while_open"] == "tok.sig"
    assert seen["token_after_close"] is None


def test_a_client_cannot_bring_its_own_handle():
    seen = _handshake("maxxit_conn=guessed")
    assert "guessed" not in seen["cookie"]
    assert seen["token_while_open"] is None


def test_plain_http_requests_keep_their_cookie():
    seen = _handshake("maxxit_session=tok.sig", scope_type="http")
    assert seen["cookie"] == "maxxit_session=tok.sig"
