"""The Safe page of a spot deployment `/deployments/[deployment_id]/safe`: enable the Maxxit module for the
deployment's executor, or revoke it once the deployment is cancelled.

The page shows what the module can and can never do, its address, the Safe, and the executor with its ETH
for gas; "Sign in wallet" asks the signed-in wallet (an owner of the Safe) for `eth_signTypedData_v4` of each
Safe transaction the server built, then hands the signatures back; the executor relays them. Only
addresses, typed data and signatures cross the websocket: the executor's key stays encrypted in the
database and this state never holds it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, TypedDict

import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.config import get_settings
from backend.deployments.errors import DeploymentConflict, DeploymentNotFound, InputRejected
from backend.deployments.schemas import SafeSetupView, SafeSignatures
from backend.runtime import wallet_cipher
from backend.spot import safe_setup
from backend.venues.base import TemporaryVenueError, VenueError
from maxxit_ui.state import deploy_form as form
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.deploy_approval import sentence, wallet_reason
from maxxit_ui.state.mixins import LoadMixin
from maxxit_ui.state.wallet_bridge import wallet_call

logger = logging.getLogger(__name__)

CHAIN_DOWN = "The chain cannot be reached right now, so nothing was sent. Try again in a moment."
NOT_CONFIGURED = "Spot trading is not configured on this platform."
NOT_FOUND = "This deployment was not found."
SafeBusy = Literal["", "loading", "connecting", "signing", "submitting"]


class SafeTxRow(TypedDict):
    description: str
    to: str
    data: str
    nonce: str


def _reason(error: Exception) -> str:
    """What the page says when the backend refused or could not finish."""
    if isinstance(error, (InputRejected, DeploymentConflict)):
        return sentence(str(error))
    if isinstance(error, TemporaryVenueError):
        return CHAIN_DOWN
    if isinstance(error, VenueError):
        return sentence(f"The chain refused it: {error.reason}")
    if isinstance(error, SQLAlchemyError):
        return DB_ERROR
    return sentence(str(error))


async def _outcome(call: Callable[[Session], SafeSetupView]) -> SafeSetupView | str:
    """A backend call's view, or the reason it failed (NOT_FOUND for an unknown or someone else's)."""
    try:
        return await read(call)
    except DeploymentNotFound:
        return NOT_FOUND
    except (InputRejected, DeploymentConflict, VenueError, SQLAlchemyError) as error:
        if isinstance(error, SQLAlchemyError):
            logger.exception("safe page: the Safe setup failed")
        return _reason(error)


class SafeSetupState(LoadMixin, rx.State):
    """`status` is loading, ready, not_found or error; `busy` what the wallet or the chain is doing."""

    deployment_ref: str = ""
    deployment_status: str = ""
    chain: str = ""
    chain_id: int = 0
    safe_address: str = ""
    owner_address: str = ""
    module_address: str = ""
    executor_address: str = ""
    executor_balance: str = ""
    executor_has_gas: bool = False
    tokens: str = ""
    threshold: int = 1
    module_enabled: bool = False
    enabled: bool = False
    disabled: bool = False
    needs_safe_app: bool = False
    revoking: bool = False  # the transactions revoke (the deployment is cancelled)
    transactions: list[SafeTxRow] = []
    message: str = ""
    busy: SafeBusy = ""
    sign_error: str = ""

    _deployment_id: int = 0
    _typed: list[str] = []
    _signatures: list[str] = []
    _nonce: int = 0

    @rx.var
    def to_sign(self) -> int:
        return len(self.transactions)

    @rx.var
    def page_title(self) -> str:
        return (
            f"Safe of deployment #{self.deployment_ref} · Maxxit" if self.deployment_ref else "Safe · Maxxit"
        )

    # -- loading -----------------------------------------------------------------------------------------

    def _show(self, view: SafeSetupView) -> None:
        self.deployment_ref, self.deployment_status = str(view.deployment_id), view.deployment_status
        self.chain, self.chain_id = view.chain, view.chain_id
        self.safe_address, self.owner_address = view.safe_address, view.owner_address
        self.module_address, self.executor_address = view.module_address, view.executor_address
        self.executor_balance = f"{view.executor_balance_eth.normalize():f} ETH"
        self.executor_has_gas, self.tokens = view.executor_has_gas, ", ".join(view.tokens)
        self.threshold, self.module_enabled = view.threshold, view.module_enabled
        self.enabled, self.disabled, self.needs_safe_app = view.enabled, view.disabled, view.needs_safe_app
        self.revoking = view.deployment_status == "CANCELLED"
        self.transactions = [
            SafeTxRow(description=t.description, to=t.to, data=t.data, nonce=str(t.nonce))
            for t in view.transactions
        ]
        self._typed = [json.dumps(t.typed_data, separators=(",", ":")) for t in view.transactions]
        self._nonce = view.transactions[0].nonce if view.transactions else 0
        self.message, self.status = view.message, "ready"

    def _state_call(self, user: Any) -> Callable[[Session], SafeSetupView]:
        settings, deployment_id = get_settings(), self._deployment_id
        spot = safe_setup.spot_chain(settings)

        def call(session: Session) -> SafeSetupView:
            if spot is None:
                raise DeploymentConflict(NOT_CONFIGURED)
            return safe_setup.setup_state(session, user, deployment_id, chain=spot, settings=settings)

        return call

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        """on_load: the owner's spot deployment, as the chain shows its Safe now."""
        self.status, self.error, self.busy, self.sign_error, self.transactions = "loading", "", "", "", []
        yield
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        raw: str = self.deployment_id  # the dynamic route arg Reflex adds to the root state
        if not raw.isdigit():
            self.status = "not_found"
            return
        self._deployment_id = int(raw)
        view = await _outcome(self._state_call(user))
        if view == NOT_FOUND:
            self.status = "not_found"
        elif isinstance(view, str):
            self.error, self.status = view, "error"
        else:
            self._show(view)

    @rx.event
    async def refresh(self) -> AsyncIterator[EventSpec | None]:
        """ "Check again": what the chain shows now (a Safe app execution, gas sent to the executor)."""
        if self.busy or not self._deployment_id:
            return
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        self.busy = "loading"
        yield
        view = await _outcome(self._state_call(user))
        self.busy = ""
        if isinstance(view, str):
            yield self._failed(view)
            return
        self._show(view)

    # -- signing -----------------------------------------------------------------------------------------

    def _failed(self, reason: str) -> EventSpec:
        self.busy, self.sign_error = "", reason
        return rx.toast.error(reason)

    @rx.event
    def sign(self) -> EventSpec | None:
        """1: which chain is the wallet on (the typed data names the Safe's chain)."""
        if self.busy or not self._typed or self.needs_safe_app:
            return None
        self.busy, self.sign_error, self._signatures = "connecting", "", []
        return rx.call_script(wallet_call("chainId"), callback=SafeSetupState.got_chain)

    @rx.event
    def got_chain(self, result: dict[str, Any]) -> EventSpec | None:
        """2: the wallet must be on the Safe's chain; then it signs the first transaction."""
        if not isinstance(result, dict) or not result.get("ok"):
            return self._failed(wallet_reason(result, "The wallet did not say which chain it is on."))
        try:
            chain = form.chain_id(result.get("value"))
        except (TypeError, ValueError):
            return self._failed("The wallet reported an unusable chain id.")
        if chain != self.chain_id:
            return self._failed(f"Switch your wallet to the Safe's chain ({self.chain}, id {self.chain_id}).")
        return self._sign_next()

    def _sign_next(self) -> EventSpec:
        self.busy = "signing"
        typed = self._typed[len(self._signatures)]
        script = wallet_call("signTypedData", self.owner_address, typed)
        return rx.call_script(script, callback=SafeSetupState.got_signature)

    @rx.event
    def got_signature(self, result: dict[str, Any]) -> Any:
        """3: keep the signature; sign the next, or hand them all over (in the background)."""
        if not isinstance(result, dict) or not result.get("ok"):
            return self._failed(wallet_reason(result, "The wallet could not sign the Safe transaction."))
        self._signatures = [*self._signatures, str(result.get("value", ""))]
        if len(self._signatures) < len(self._typed):
            return self._sign_next()
        self.busy = "submitting"
        return SafeSetupState.submit

    @rx.event(background=True)
    async def submit(self) -> AsyncIterator[EventSpec | None]:
        """4: the executor relays the signed transactions and waits for them to be mined (seconds)."""
        async with self:
            user = await current_user(self)
            signatures, nonce, deployment_id = self._signatures, self._nonce, self._deployment_id
            self._signatures = []
            if user is None:
                self.busy = ""
        if user is None:
            yield to_signin(self)
            return
        settings, spot = get_settings(), safe_setup.spot_chain(get_settings())
        try:
            body = SafeSignatures(nonce=nonce, signatures=signatures)
        except ValidationError:
            async with self:
                event = self._failed("The wallet returned an unusable signature.")
            yield event
            return

        def call(session: Session) -> SafeSetupView:
            if spot is None:
                raise DeploymentConflict(NOT_CONFIGURED)
            return safe_setup.submit_signatures(
                session, user, deployment_id, body, chain=spot, cipher=wallet_cipher(), settings=settings
            )

        view = await _outcome(call)  # unlocked: relaying waits for the chain to mine
        async with self:
            if isinstance(view, str):
                event = self._failed(view)
            else:
                self._show(view)
                self.busy = ""
                done = "Module disabled." if view.disabled else "Module enabled."
                event = rx.toast.success(done) if (view.enabled or view.disabled) else None
        yield event
