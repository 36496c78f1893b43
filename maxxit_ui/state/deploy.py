"""Deploy wizard `/agents/[agent_id]/deploy`: venue, account, approval (Hyperliquid only), risk, review.

Each step checks its own inputs before the next one opens; the review deploys. For Hyperliquid the
platform creates a fresh agent wallet and the user's own wallet signs `approveAgent` for it in the browser
(assets/wallet.js): only addresses, the typed data and the signature ever cross the websocket. The agent
wallet's key stays encrypted in the database; this state never holds it. When the platform charges a
Hyperliquid builder fee (`BUILDER_FEE_TENTHS_BPS`), the same wallet then signs `approveBuilderFee` for the
platform in the same way, before the wizard moves on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypedDict

import reflex as rx
from pydantic import ValidationError
from reflex.event import EventHandler, EventSpec

from backend.agents.schemas import AgentDetail
from backend.agents.schemas import RiskSettings as AgentRisk
from backend.agents.service import AgentNotFound, get_agent
from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.deployments.builder_fee import (
    BuilderFeeRequest,
    builder_fee_request,
    configured_builder,
    fee_description,
)
from backend.deployments.errors import DeploymentConflict, InputRejected, WalletNotFound
from backend.deployments.schemas import DeploymentRequest, RiskSettings
from backend.deployments.service import allowed_venues, create_deployment
from backend.models.common import utcnow
from backend.models.enums import AgentStatus
from backend.runtime import wallet_cipher
from backend.spot.safe_setup import spot_target
from backend.venues.base import VenueError
from backend.venues.capabilities import SignerKind, keeps_own_books, signer_of
from backend.venues.catalog import PAPER_ONLY_NOTE, trades_live, venue_colour
from backend.wallets.service import ApprovalRequest, approval_request, prepare_agent_wallet
from maxxit_ui.components import format as fmt
from maxxit_ui.state import deploy_form as form
from maxxit_ui.state.agent_form import FieldError
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR
from maxxit_ui.state.deploy_approval import (
    sentence,
    submit_signed_approval,
    submit_signed_builder_fee,
    wallet_reason,
)
from maxxit_ui.state.inputs import ADDRESS_TEXT_MAX, CHOICE_MAX, NUMBER_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, LoadMixin
from maxxit_ui.state.wallet_bridge import wallet_call

logger = logging.getLogger(__name__)

DEPLOYMENTS = "/deployments"
SPOT_CHAIN_DOWN = "The chain cannot be reached to check this Safe right now; try again in a moment."
NOT_DEPLOYABLE = {
    AgentStatus.ARCHIVED: "This agent is archived and can no longer be deployed.",
    AgentStatus.PAUSED: "Its creator has paused this agent; it can be deployed again once it is active.",
    AgentStatus.DRAFT: "This agent is still a draft; it can be deployed once its creator activates it.",
}

ApprovalBusy = Literal["", "creating", "connecting", "signing", "submitting"]


# The most each wizard input may hold: nothing valid is longer.
INPUT_LIMITS: dict[str, int] = {
    "route": CHOICE_MAX,
    "starting_balance": NUMBER_TEXT_MAX,
    "user_wallet": ADDRESS_TEXT_MAX,
    "safe_address": ADDRESS_TEXT_MAX,
    "sizing_profile": CHOICE_MAX,
    **dict.fromkeys(form.RISK_FIELDS[1:], NUMBER_TEXT_MAX),
}


class ReviewItem(TypedDict):
    id: str
    label: str
    value: str


class DeployState(LoadMixin, rx.State):
    """One deployment being set up; `step` is where the wizard is, `errors` holds a message per field.
    `status` is loading, ready, not_found, unavailable or error."""

    unavailable: str = ""
    agent_ref: str = ""
    agent_name: str = ""
    agent_venue: str = ""
    agent_venue_label: str = ""
    agent_venue_color: str = "gray"
    paper_only: str = ""  # PAPER_ONLY_NOTE when the agent's venue has no live adapter yet
    agent_leverage: str = ""  # the agent's own, which the leverage input starts at
    options: list[form.RouteOption] = []
    step: str = "venue"
    route: str = form.PAPER
    starting_balance: str = ""
    user_wallet: str = ""
    wallet_address: str = ""  # the agent wallet's public address; its key never leaves the database
    wallet_master: str = ""  # the account that wallet was created for
    approved: bool = False
    fee_text: str = ""  # the builder fee as the page says it; "" when the platform charges none
    fee_approved: bool = False
    approval_busy: ApprovalBusy = ""
    approval_error: str = ""
    safe_address: str = ""  # spot: the user's Safe, which the Maxxit module gets enabled on
    spot_module: str = ""  # the module's address on the spot chain
    spot_tokens: str = ""  # what the module swaps USDC with, by symbol
    sizing_profile: str = ""
    max_trade_usd: str = ""
    leverage_cap: str = ""
    stoploss: str = ""
    take_profit: str = ""
    trailing_stop_positive_offset: str = ""
    trailing_stop_positive: str = ""
    errors: dict[str, str] = form.empty_errors()
    review: list[ReviewItem] = []
    deploying: bool = False

    _agent_id: int = 0
    _agent_risk: AgentRisk | None = None
    _wallet_id: int = 0
    _nonce: int = 0
    _chain_id: int = 0
    _signature: str = ""

    @rx.var
    def steps(self) -> list[form.StepItem]:
        return form.step_items(self.route, self.step)

    @rx.var
    def uses_paper(self) -> bool:
        return keeps_own_books([self.route])

    @rx.var
    def uses_hyperliquid(self) -> bool:
        return signer_of(self.route) == SignerKind.AGENT_WALLET

    @rx.var
    def uses_spot(self) -> bool:
        return signer_of(self.route) == SignerKind.SAFE_EXECUTOR

    @rx.var
    def is_first_step(self) -> bool:
        return self.step == "venue"

    @rx.var
    def page_title(self) -> str:
        return f"Deploy {self.agent_name} · Maxxit" if self.agent_name else "Deploy · Maxxit"

    # -- loading -----------------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.status, self.error, self.unavailable, self.step = "loading", "", "", "venue"
        self.agent_ref = self.agent_name = self.agent_venue = self.agent_venue_label = self.paper_only = ""
        self.options, self.route, self.review = [], form.PAPER, []
        self.starting_balance = self.user_wallet = self.safe_address = ""
        self.spot_module = self.spot_tokens = ""
        self._forget_wallet()
        self.errors, self.deploying = form.empty_errors(), False
        self._agent_id, self._agent_risk = 0, None

    def _forget_wallet(self) -> None:
        self.wallet_address = self.wallet_master = self.approval_error = self.approval_busy = ""
        self.approved = self.fee_approved = False
        self._wallet_id, self._nonce, self._chain_id, self._signature = 0, 0, 0, ""

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        """on_load: signed-in users only; the agent must be visible to them and active."""
        self._reset()
        yield
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        raw_id: str = self.agent_id  # the dynamic route arg Reflex adds to the root state
        if not raw_id.isdigit():
            self.status = "not_found"
            return
        agent_id, missing = int(raw_id), {AgentNotFound: "not_found"}
        agent = await self._fetch(
            lambda session: get_agent(session, agent_id, user), "deploy: agent", missing
        )
        if agent is not UNAVAILABLE:
            self._fill(agent, user)

    def _fill(self, agent: AgentDetail, user: CurrentUser) -> None:
        self._agent_id, self._agent_risk = agent.id, agent.risk
        self.agent_ref, self.agent_name = str(agent.id), agent.name
        self.agent_venue, self.agent_venue_label = agent.venue, fmt.venue_label(agent.venue)
        self.agent_venue_color = venue_colour(agent.venue)
        self.paper_only = "" if trades_live(agent.venue) else PAPER_ONLY_NOTE
        self.agent_leverage = f"{agent.risk.leverage.normalize():f}{form.TIMES}"
        if agent.status != AgentStatus.ACTIVE:
            self.unavailable = NOT_DEPLOYABLE.get(AgentStatus(agent.status), "This agent cannot be deployed.")
            self.status = "unavailable"
            return
        spot = spot_target(get_settings())
        self.options = form.route_options(
            agent.venue, allowed_venues(agent.venue), spot_configured=spot is not None
        )
        # The catalog's word, unless this platform runs a live venue the agent may trade on (spot).
        self.paper_only = "" if len(self.options) > 1 else self.paper_only or PAPER_ONLY_NOTE
        if spot is not None:
            self.spot_module, self.spot_tokens = spot.module, ", ".join(spot.tokens)
        self.route = self.options[0]["key"]
        self.starting_balance = form.money_text(get_settings().paper_default_balance_usd)
        self.user_wallet = user.address
        builder = configured_builder(get_settings())
        self.fee_text = fee_description(builder.tenths_bps) if builder else ""
        risk = form.risk_form(agent.risk)
        for field in form.RISK_FIELDS:
            setattr(self, field, getattr(risk, field))
        self.status = "ready"

    # -- inputs and steps --------------------------------------------------------------------------------

    @rx.event
    def set_field(self, field: str, value: str) -> None:
        """Text, select and choice inputs, clipped to the field's maximum; a change clears its message."""
        if self.status != "ready" or field not in INPUT_LIMITS:
            return
        value = clip(value, INPUT_LIMITS[field])
        if field == "route" and value not in {o["key"] for o in self.options}:
            return
        setattr(self, field, value)
        self.errors[field] = ""
        if field == "user_wallet" and self.wallet_master and value.strip().lower() != self.wallet_master:
            self._forget_wallet()  # that agent wallet can only ever trade for the account it was made for

    def _risk_form(self) -> form.RiskForm:
        return form.RiskForm(**{field: getattr(self, field) for field in form.RISK_FIELDS})

    def _check(self, step: str) -> dict[str, str]:
        """The messages that keep the wizard on `step` (none: it may move on)."""
        errors: dict[str, str] = {}
        if step == "account":
            checks = [(form.parse_balance, self.starting_balance)] if self.uses_paper else []
            if self.uses_hyperliquid:
                checks.append((form.check_address, self.user_wallet))
            for check, text in checks:
                try:
                    check(text)
                except FieldError as e:
                    errors[e.field] = str(e)
        elif step == "safe":
            try:
                form.check_safe_address(self.safe_address)
            except FieldError as e:
                errors[e.field] = str(e)
        elif step == "approval" and not self.approved:
            errors["approval"] = "Create the agent wallet and approve it in your wallet first."
        elif step == "approval" and self.fee_text and not self.fee_approved:
            errors["approval"] = "Approve the builder fee in your wallet first."
        elif step == "risk" and self._agent_risk is not None:
            errors = form.to_risk(self._risk_form(), self._agent_risk)[1]
        return errors

    def _show(self, errors: dict[str, str]) -> None:
        self.errors = {**form.empty_errors(), **errors}
        self.approval_error = errors.get("approval", self.approval_error)

    @rx.event
    def next_step(self) -> None:
        steps = form.wizard_steps(self.route)
        if self.status != "ready" or self.step not in steps or self.step == steps[-1]:
            return
        errors = self._check(self.step)
        self._show(errors)
        if errors:
            return
        self.step = steps[steps.index(self.step) + 1]
        if self.step == "review":
            self._build_review()

    @rx.event
    def back(self) -> None:
        steps = form.wizard_steps(self.route)
        if self.step in steps and self.step != steps[0]:
            self.step = steps[steps.index(self.step) - 1]

    @rx.event
    def go_to(self, step: str) -> None:
        """The stepper: back to any step already passed."""
        steps = form.wizard_steps(self.route)
        if step in steps and self.step in steps and steps.index(step) < steps.index(self.step):
            self.step = step

    def _build_review(self) -> None:
        risk, _ = form.to_risk(self._risk_form(), self._agent_risk) if self._agent_risk else (None, {})
        if risk is None or self._agent_risk is None:
            return
        shown = form.effective_risk(risk, self._agent_risk)
        items = [("agent", "Agent", self.agent_name), ("venue", "Venue", form.route_label(self.route))]
        if self.uses_paper:
            balance = form.parse_balance(self.starting_balance)
            items.append(("balance", "Paper starting balance", fmt.money(balance, signed=False)))
        if self.uses_hyperliquid:
            items.append(("account", "Hyperliquid account", self.user_wallet.strip()))
            items.append(("agent-wallet", "Agent wallet (approved)", self.wallet_address))
            if self.fee_text:
                items.append(("builder-fee", "Builder fee (approved)", self.fee_text))
        if self.uses_spot:
            items.append(("safe", "Your Safe", form.check_safe_address(self.safe_address)))
            items.append(("module", "Maxxit module (you enable it next)", self.spot_module))
        items += form.risk_review(shown)
        self.review = [
            ReviewItem(id=f"review-{key}", label=label, value=value) for key, label, value in items
        ]

    # -- approval (Hyperliquid) --------------------------------------------------------------------------

    def _approval_failed(self, reason: str) -> EventSpec:
        self.approval_busy, self.approval_error = "", reason
        return rx.toast.error(reason)

    @rx.event
    async def create_wallet(self) -> AsyncIterator[EventSpec | None]:
        """A fresh agent wallet for the account; the page learns its address, never its key."""
        if self.approval_busy or self.wallet_address:
            return
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        try:
            master = form.check_address(self.user_wallet)
        except FieldError as e:
            self._show({e.field: str(e)})
            self.step = "account"
            return
        self.approval_busy, self.approval_error = "creating", ""
        yield
        try:
            done = await self._attempt(
                lambda session: prepare_agent_wallet(session, user, master, cipher=wallet_cipher()),
                "deploy: agent wallet",
            )
        except InputRejected as e:
            yield self._rejected(e)
            return
        if (view := done.value) is None:
            yield self._approval_failed(DB_ERROR)
            return
        self._wallet_id, self.wallet_address, self.wallet_master = view.id, view.address, view.master_address
        self.approval_busy = ""

    @rx.event
    def retry_approval(self) -> EventSpec:
        """ "Try again" beside an approval error: whichever part failed, creating or approving."""
        if self.approved:
            return DeployState.approve_fee
        return DeployState.approve if self.wallet_address else DeployState.create_wallet

    @rx.event
    def approve(self) -> EventSpec | None:
        """Approval 1/3: which chain is the wallet on (the typed data names it)."""
        if self.approval_busy or not self._wallet_id or self.approved:
            return None
        self.approval_busy, self.approval_error = "connecting", ""
        return rx.call_script(wallet_call("chainId"), callback=DeployState.got_chain)

    @rx.event
    async def got_chain(self, result: dict[str, Any]) -> EventSpec | None:
        """Approval 2/3: the approveAgent typed data for that chain, to sign with the account's own wallet."""
        if not isinstance(chain := self._chain(result), int):
            return chain
        user = await current_user(self)
        if user is None:
            self.approval_busy = ""
            return to_signin(self)
        wallet_id, settings, now = self._wallet_id, get_settings(), utcnow()
        try:
            done = await self._attempt(
                lambda session: approval_request(
                    session, user, wallet_id, settings=settings, chain_id=chain, now=now
                ),
                "deploy: approval request",
            )
        except WalletNotFound:
            self._forget_wallet()
            return self._approval_failed("That agent wallet is gone; create a new one.")
        if done.value is None:
            return self._approval_failed(DB_ERROR)
        return self._sign(done.value, callback=DeployState.got_approval)

    @rx.event
    def got_approval(self, result: dict[str, Any]) -> EventSpec | None:
        """Approval 3/3 starts: the signature goes to Hyperliquid in the background (a network call)."""
        return self._signed(result, then=DeployState.send_approval)

    @rx.event(background=True)
    async def send_approval(self) -> AsyncIterator[EventSpec | None]:
        """Approval 3/3: Hyperliquid checks and records the approval; the state is not locked meanwhile."""
        submitted = self._submit_signed(
            submit_signed_approval,
            lambda: self._wallet_id,
            flag="approved",
            toast="Agent wallet approved on Hyperliquid.",
        )
        async for event in submitted:
            yield event

    # -- builder fee (Hyperliquid, when the platform charges one) ----------------------------------------

    @rx.event
    def approve_fee(self) -> EventSpec | None:
        """Builder fee 1/3: which chain is the wallet on (the typed data names it)."""
        if self.approval_busy or not self.approved or self.fee_approved or not self.fee_text:
            return None
        self.approval_busy, self.approval_error = "connecting", ""
        return rx.call_script(wallet_call("chainId"), callback=DeployState.got_fee_chain)

    @rx.event
    def got_fee_chain(self, result: dict[str, Any]) -> EventSpec | None:
        """Builder fee 2/3: the approveBuilderFee typed data, to sign with the account's own wallet."""
        if not isinstance(chain := self._chain(result), int):
            return chain
        try:
            request = builder_fee_request(get_settings(), self.wallet_master, chain_id=chain, now=utcnow())
        except DeploymentConflict as e:
            return self._approval_failed(sentence(str(e)))
        return self._sign(request, callback=DeployState.got_fee_signature)

    @rx.event
    def got_fee_signature(self, result: dict[str, Any]) -> EventSpec | None:
        return self._signed(result, then=DeployState.send_fee_approval)

    @rx.event(background=True)
    async def send_fee_approval(self) -> AsyncIterator[EventSpec | None]:
        """Builder fee 3/3: Hyperliquid checks and records the approval; the state is not locked meanwhile."""
        # No toast: the badge says so; a second toast would stack over the wizard's buttons.
        submitted = self._submit_signed(
            submit_signed_builder_fee, lambda: self.wallet_master, flag="fee_approved", toast=None
        )
        async for event in submitted:
            yield event

    # -- either approval: the master wallet signs, the signature goes to Hyperliquid ----------------------

    def _chain(self, result: dict[str, Any]) -> int | EventSpec:
        """Step 1/3 ends: the chain the wallet is on, or the failure shown (its answer is untrusted)."""
        try:
            if isinstance(result, dict) and result.get("ok"):
                return form.chain_id(result.get("value"))
        except (TypeError, ValueError):
            return self._approval_failed("The wallet reported an unusable chain id.")
        return self._approval_failed(wallet_reason(result, "The wallet did not say which chain it is on."))

    def _sign(self, request: ApprovalRequest | BuilderFeeRequest, *, callback: EventHandler) -> EventSpec:
        """Step 2/3 ends: the account's own wallet signs the typed data (the nonce and chain are kept)."""
        self._nonce, self._chain_id, self.approval_busy = request.nonce, request.chain_id, "signing"
        typed = json.dumps(request.typed_data, separators=(",", ":"))
        script = wallet_call("signTypedData", request.master_address, typed)
        return rx.call_script(script, callback=callback)

    def _signed(self, result: dict[str, Any], *, then: EventHandler) -> EventSpec | EventHandler:
        """Step 3/3 starts: keep the wallet's signature and submit it in the background (`then`)."""
        if not isinstance(result, dict) or not result.get("ok"):
            return self._approval_failed(wallet_reason(result, "The wallet could not sign the approval."))
        self._signature, self.approval_busy = str(result.get("value", "")), "submitting"
        return then

    async def _submit_signed(
        self,
        submit: Callable[[CurrentUser, Any, str, int, int], Awaitable[str | None]],
        subject: Callable[[], Any],
        *,
        flag: Literal["approved", "fee_approved"],
        toast: str | None,
    ) -> AsyncIterator[EventSpec | None]:
        """Step 3/3 of a background event: take the signature (and `subject()`, what it approves for) under
        the lock, `submit` it unlocked, then set `flag` and show `toast`, or the reason it failed."""
        async with self:
            user = await current_user(self)
            what, signature, nonce, chain = subject(), self._signature, self._nonce, self._chain_id
            self._signature = ""
            if user is None:
                self.approval_busy = ""
        if user is None:
            yield to_signin(self)
            return
        outcome = await submit(user, what, signature, nonce, chain)
        async with self:
            if outcome is None:
                self.approval_busy, self.approval_error = "", ""
                setattr(self, flag, True)
                self.errors["approval"] = ""
                event = None if toast is None else rx.toast.success(toast)
            else:
                event = self._approval_failed(outcome)
        yield event

    # -- deploy ------------------------------------------------------------------------------------------

    def _rejected(self, error: InputRejected) -> EventSpec:
        """A backend refusal shown beside its field, on the step that holds the field."""
        field = form.BACKEND_FIELDS.get(error.field, "form")
        return self._send_back({field: sentence(str(error))})

    def _send_back(self, errors: dict[str, str]) -> EventSpec:
        self.approval_busy = ""
        self._show(errors)
        steps = form.wizard_steps(self.route)
        wanted = [form.FIELD_STEPS.get(f, "review") for f in errors]
        self.step = min((s for s in wanted if s in steps), key=steps.index, default="review")
        return rx.toast.error("Nothing was deployed: check the highlighted field.")

    def _request(self) -> tuple[DeploymentRequest | None, dict[str, str]]:
        errors: dict[str, str] = {}
        for step in ("account", "approval", "safe", "risk"):
            if step in form.wizard_steps(self.route):
                errors.update(self._check(step))
        if errors or self._agent_risk is None:
            return None, errors
        risk, _ = form.to_risk(self._risk_form(), self._agent_risk)
        try:
            return form.deployment_request(
                agent_id=self._agent_id,
                agent_venue=self.agent_venue,
                route=self.route,
                starting_balance=form.parse_balance(self.starting_balance) if self.uses_paper else None,
                user_wallet=self.user_wallet.strip() or None,
                agent_wallet_id=self._wallet_id or None,
                risk=risk or RiskSettings(),
                safe_address=form.check_safe_address(self.safe_address) if self.uses_spot else None,
            ), {}
        except ValidationError as e:
            return None, form.risk_errors(e)

    @rx.event
    async def deploy(self) -> AsyncIterator[EventSpec | list[EventSpec] | None]:
        if self.deploying or self.status != "ready" or self.step != "review":
            return
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        request, errors = self._request()
        if request is None:
            yield self._send_back(errors or {"form": "Check the settings and try again."})
            return
        self.deploying = True
        yield
        try:
            yield await self._create(user, request)
        finally:
            self.deploying = False

    async def _create(self, user: CurrentUser, request: DeploymentRequest) -> EventSpec | list[EventSpec]:
        settings, ip = get_settings(), self.router.session.client_ip or None
        try:
            done = await self._attempt(
                lambda session: create_deployment(
                    session, user, request, settings=settings, cipher=wallet_cipher(), ip=ip
                ),
                "deploy: deployment",
            )
        except InputRejected as e:
            return self._rejected(e)
        except DeploymentConflict as e:
            return self._send_back({"form": sentence(str(e))})
        except AgentNotFound:
            self.status = "not_found"
            return rx.toast.error("This agent is no longer available.")
        except VenueError:  # the spot chain, asked whether the Safe is one the user owns
            return self._send_back({"safe_address": SPOT_CHAIN_DOWN})
        if (deployment := done.value) is None:
            return self._send_back({"form": DB_ERROR})
        logger.info("deployment %s created from the wizard", deployment.id)
        if self.uses_spot:  # it starts once the module is enabled: the Safe page signs that
            deployed = f"{self.agent_name} is deployed: now enable the module on your Safe."
            return [rx.toast.success(deployed), rx.redirect(f"{DEPLOYMENTS}/{deployment.id}/safe")]
        return [rx.toast.success(f"{self.agent_name} is deployed."), rx.redirect(DEPLOYMENTS)]
