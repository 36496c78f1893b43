"""Sign-In-With-Ethereum in the browser, and who is signed in.

The flow: the wallet shares an address (`maxxitWallet.accounts()` in assets/wallet.js), the server issues a
single-use EIP-4361 message for it, and the page's bridge has the wallet sign it and POSTs it to
/api/v1/auth/verify itself (`maxxitWallet.signIn`). That response sets the session as an HttpOnly,
SameSite=Strict cookie: the token never reaches page state or JavaScript. The page then reloads, so the
new websocket's handshake carries the cookie; maxxit_ui.session_cookie swaps it for a handle valid while
that connection is open. Every protected handler re-authenticates the current connection's session
through `current_user`, so a revoked or expired session, or a Reflex client token replayed on a
connection without the cookie, acts as nobody.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Literal

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError

from backend.auth import service
from backend.auth.errors import InvalidAddress, NotAuthenticated, RateLimited
from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import auth_rate_limiter
from backend.config import get_settings
from maxxit_ui.session_cookie import connection_session_token
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.paths import SIGNIN_PATH, safe_next_path, signin_url
from maxxit_ui.state.wallet_bridge import wallet_call

logger = logging.getLogger(__name__)

NO_WALLET = "No wallet found — install MetaMask or Rabby"
REJECTED = "Signature request rejected in your wallet"

WalletPresence = Literal["unknown", "ready", "missing"]
Busy = Literal["", "connecting", "signing"]


def _wallet_failure(result: Any, fallback: str) -> str:
    """The user-facing reason from a `{ok: false, code, error}` wallet result."""
    if not isinstance(result, dict):
        return fallback
    if result.get("code") == "no_wallet":
        return NO_WALLET
    if result.get("code") == "rejected":
        return str(result.get("error") or REJECTED)
    if result.get("code") == "refused":
        return f"Sign-in refused: {str(result.get('error') or fallback)[:300]}"
    return str(result.get("error") or fallback)[:300]


class AuthState(rx.State):
    """The signed-in wallet as the header shows it; the CurrentUser itself stays on the server."""

    address: str = ""
    short_address: str = ""
    role: str = ""
    wallet: WalletPresence = "unknown"
    busy: Busy = ""
    error: str = ""

    @rx.var
    def signed_in(self) -> bool:
        return self.address != ""

    @rx.var
    def is_admin(self) -> bool:
        return self.role == "admin"

    @rx.var
    def button_label(self) -> str:
        if self.busy == "connecting":
            return "Connecting…"
        if self.busy == "signing":
            return "Signing…"
        if self.wallet == "missing":
            return NO_WALLET
        return "Connect wallet"

    # -- session -----------------------------------------------------------------------------------------

    def _session_token(self) -> str | None:
        """This connection's session token, known only server-side (see maxxit_ui.session_cookie)."""
        return connection_session_token(self.router.headers.cookie)

    async def _authenticate(self) -> CurrentUser | None:
        """The user behind this connection's cookie, checked against the database now; never cached."""
        token = self._session_token()
        if not token:
            self._forget()
            return None
        settings = get_settings()
        try:
            user = await read(lambda session: service.authenticate(session, token, settings=settings))
        except NotAuthenticated:
            self._forget()
            return None
        self._remember(user)
        return user

    def _remember(self, user: CurrentUser) -> None:
        self.address = user.address
        self.short_address = user.short_address
        self.role = user.role.value

    def _forget(self) -> None:
        self.address = self.short_address = self.role = ""

    def _client(self) -> tuple[str | None, str | None]:
        ip = self.router.session.client_ip or None
        user_agent = self.router.headers.user_agent or None
        return ip, user_agent

    def _api_base(self) -> str:
        """Where this page's websocket connected: the API that sets cookies this connection will carry."""
        headers = self.router.headers
        scheme = "https" if headers.origin.startswith("https:") else "http"
        return f"{scheme}://{headers.host}"

    @rx.event
    async def restore(self) -> None:
        """on_load of every page: show the header for whoever the cookie belongs to (or nobody)."""
        try:
            await self._authenticate()
        except SQLAlchemyError:
            logger.exception("session check failed")

    # -- wallet sign-in ----------------------------------------------------------------------------------

    @rx.event
    def detect_wallet(self) -> EventSpec:
        """on_mount of the wallet button: label it for visitors without a browser wallet."""
        return rx.call_script("typeof window.ethereum !== 'undefined'", callback=AuthState.wallet_detected)

    @rx.event
    def wallet_detected(self, present: bool) -> None:
        self.wallet = "ready" if present else "missing"

    @rx.event
    def connect(self) -> EventSpec | None:
        """Step 1: ask the wallet for an account."""
        if self.busy:
            return None
        self.error = ""
        self.busy = "connecting"
        return rx.call_script(wallet_call("accounts"), callback=AuthState.got_account)

    @rx.event
    async def got_account(self, result: dict[str, Any]) -> EventSpec | None:
        """Step 2: the server issues a sign-in message for the account; the wallet is asked to sign it."""
        if not isinstance(result, dict) or not result.get("ok"):
            if isinstance(result, dict) and result.get("code") == "no_wallet":
                self.wallet = "missing"
            return self._fail(_wallet_failure(result, "The wallet could not connect"))
        self.wallet = "ready"
        address = str(result.get("value", ""))
        settings = get_settings()
        ip, _ = self._client()
        try:
            await asyncio.to_thread(auth_rate_limiter(settings).check, ip=ip)
            challenge = await read(
                lambda session: service.issue_challenge(session, address, settings=settings)
            )
        except (InvalidAddress, RateLimited) as e:
            return self._fail(f"Sign-in refused: {e}")
        except SQLAlchemyError:
            logger.exception("issuing a sign-in challenge failed")
            return self._fail(DB_ERROR)
        self.busy = "signing"
        script = wallet_call("signIn", self._api_base(), challenge.message, address)
        return rx.call_script(script, callback=AuthState.signed_in_by_api)

    @rx.event
    def signed_in_by_api(self, result: dict[str, Any]) -> EventSpec:
        """Step 3: the API verified the signature and set the cookie; reload so the websocket carries it."""
        if not isinstance(result, dict) or not result.get("ok"):
            return self._fail(_wallet_failure(result, "The wallet could not sign"))
        self.busy = ""  # the state outlives the reload (same Reflex client token)
        on_signin_page = self.router.url.path.rstrip("/") == SIGNIN_PATH
        target = json.dumps(self._next_path())
        return rx.call_script(
            f"window.location.assign({target})" if on_signin_page else "window.location.reload()"
        )

    def _fail(self, reason: str) -> EventSpec:
        self.busy = ""
        self.error = reason
        return rx.toast.error(reason)

    def _next_path(self) -> str:
        """Where the sign-in page sends the user afterwards: its `next`, if that is a path on this site."""
        return safe_next_path(self.router.url.query_parameters.get("next"))

    @rx.event
    async def signin_load(self) -> EventSpec | None:
        """on_load of /signin: already signed in means straight on to `next`."""
        self.error = ""
        try:
            user = await self._authenticate()
        except SQLAlchemyError:
            logger.exception("session check failed")
            self.error = DB_ERROR
            return None
        return rx.redirect(self._next_path()) if user else None

    @rx.event
    async def sign_out(self) -> EventSpec:
        """Revoke the session here, then have the API clear the HttpOnly cookie (JS cannot) and go home."""
        token = self._session_token()
        settings = get_settings()
        ip, _ = self._client()
        try:
            await read(lambda session: service.sign_out(session, token, settings=settings, ip=ip))
        except SQLAlchemyError:
            logger.exception("sign-out failed on the database")
            return rx.toast.error(DB_ERROR)
        self._forget()
        self.busy = ""
        return rx.call_script(
            f"{wallet_call('signOut', self._api_base())}.finally(() => window.location.assign('/'))"
        )


async def current_user(state: rx.State) -> CurrentUser | None:
    """The signed-in user for a protected handler, re-checked against the database (None: signed out)."""
    auth = await state.get_state(AuthState)
    return await auth._authenticate()


def to_signin(state: rx.State) -> EventSpec:
    """Send a signed-out visitor to the sign-in page, to come back here afterwards."""
    url = state.router.url
    here = url.path + (f"?{url.query}" if url.query else "")
    return rx.redirect(signin_url(here))


async def require_admin(state: rx.State) -> tuple[CurrentUser | None, EventSpec | None]:
    """(the admin, None), or (None, a redirect to sign in), or (None, None) for a signed-in non-admin."""
    user = await current_user(state)
    if user is None:
        return None, to_signin(state)
    return (user, None) if user.is_admin else (None, None)
