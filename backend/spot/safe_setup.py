"""A spot deployment's Safe: check it, give it an executor, have its owner enable the Maxxit module for that
executor, and revoke it again on cancel.

The platform generates the executor key (encrypted with WalletCipher like agent wallets; it never leaves
the server). The Safe's owner signs, in the browser, up to two Safe transactions as EIP-712 SafeTx typed
data: `enableModule(module)` on the Safe (skipped when enabled already) and `module.setExecutor(executor,
true)`; the executor relays them with `execTransaction` and pays the gas. Only what the chain shows counts:
`enabled_at` is set, and the deployment starts, when the Safe has the module enabled and the module allows
the executor; `disabled_at` when the chain shows either undone, by us or outside the platform.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from eth_utils import to_checksum_address
from sqlmodel import Session, col, func, select
from web3 import Web3

from backend import audit
from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.db import transaction
from backend.deployments.activation import activate_pending
from backend.deployments.errors import DeploymentConflict, DeploymentNotFound, InputRejected
from backend.deployments.schemas import SafeSetupView, SafeSignatures, SafeTxView
from backend.models import AgentDeployment, SafeExecutor
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus
from backend.spot import safe_chain
from backend.spot.chains import ChainConfigError, chain_from_settings
from backend.spot.safe_chain import NotASafe, SafeCall, SafeFacts
from backend.venues.base import InvalidOrder
from backend.wallets.keys import WalletCipher, new_agent_key

logger = logging.getLogger(__name__)

RPC_TIMEOUT_SECONDS = 10
EXECUTOR_CREATED = "safe_executor.created"
EXECUTOR_ENABLED = "safe_executor.enabled"
EXECUTOR_DISABLED = "safe_executor.disabled"
PURPOSES = {
    "enable_module": "Enable the Maxxit spot module on your Safe",
    "set_executor": "Allow this deployment's executor to swap through the module",
    "revoke_executor": "Stop this deployment's executor from swapping",
    "disable_module": "Disable the Maxxit spot module on your Safe",
}
NOT_CONFIGURED = "spot trading is not available on this platform: no spot chain is configured"


@dataclass(frozen=True)
class SpotTarget:
    """The spot chain a Safe lives on, as the setup needs it: where to ask, whose module, which tokens."""

    chain: str  # arbitrum, arbitrum-sepolia, local
    chain_id: int
    rpc_url: str
    module: str
    tokens: tuple[str, ...]  # the module's whitelist by symbol


class SpotChain:
    """A spot target and its Web3 connection, made on first use (no network in the constructor)."""

    def __init__(self, target: SpotTarget, w3: Web3 | None = None) -> None:
        self.target = target
        self._w3 = w3

    @cached_property
    def w3(self) -> Web3:
        if self._w3 is not None:
            return self._w3
        provider = Web3.HTTPProvider(self.target.rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_SECONDS})
        return Web3(provider)


def spot_target(settings: Settings) -> SpotTarget | None:
    """The configured spot chain (backend/spot/chains.py), or None when the platform has none: no
    ARBITRUM_RPC_URL, no module deployed on that chain, or a local chain file that cannot be read."""
    try:
        chain = chain_from_settings(settings)
    except ChainConfigError:
        logger.exception("the spot chain is misconfigured: spot deployments are off")
        return None
    if chain is None or chain.module is None:
        return None
    tokens = tuple(sorted(chain.tokens))  # market symbols, USDC apart (the other side of every swap)
    return SpotTarget(chain.name, chain.chain_id, settings.arbitrum_rpc_url, chain.module, tokens)


def spot_chain(settings: Settings) -> SpotChain | None:
    target = spot_target(settings)
    return None if target is None else SpotChain(target)


# -- creating the executor (deploy time) -------------------------------------------------------------------


def check_safe(chain: SpotChain, safe_address: str, user: CurrentUser) -> SafeFacts:
    """The Safe at `safe_address`, once the chain shows it is one and the user's wallet owns it.

    InputRejected on `safe_address` otherwise; TemporaryVenueError when the chain cannot be asked.
    """
    try:
        facts = safe_chain.read_safe(chain.w3, safe_address)
    except NotASafe as e:
        raise InputRejected("safe_address", str(e)) from None
    if not facts.is_owner(user.address):
        raise InputRejected(
            "safe_address",
            f"your wallet {to_checksum_address(user.address)} is not an owner of the Safe {facts.address}",
        )
    return facts


def create_executor(
    session: Session,
    user: CurrentUser,
    deployment: AgentDeployment,
    facts: SafeFacts,
    chain: SpotChain,
    cipher: WalletCipher,
) -> SafeExecutor:
    """A fresh executor key for this deployment on this Safe, in the caller's transaction."""
    address, encrypted = new_agent_key(cipher)
    executor = SafeExecutor(
        user_id=user.id,
        deployment_id=deployment.id,
        chain=chain.target.chain,
        safe_address=facts.address,
        owner_address=to_checksum_address(user.address),
        module_address=chain.target.module,
        address=address,
        encrypted_private_key=encrypted,
    )
    session.add(executor)
    session.flush()
    details = {"address": address, "safe": facts.address, "deployment_id": deployment.id}
    audit.record_by(session, user, EXECUTOR_CREATED, "safe_executor", executor.id, details, None)
    return executor


# -- the state, and what to sign -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """One reading of the chain for an executor."""

    facts: SafeFacts
    module_enabled: bool
    allowed: bool
    balance_eth: Decimal

    @property
    def enabled(self) -> bool:
        return self.module_enabled and self.allowed


def deployment_executor(session: Session, user: CurrentUser, deployment_id: int) -> SafeExecutor:
    """The executor of one of the user's deployments; 404 for someone else's, 409 without a Safe."""
    deployment = session.get(AgentDeployment, deployment_id)
    if deployment is None or deployment.user_id != user.id or deployment.is_reference:
        raise DeploymentNotFound(deployment_id)
    executor = session.exec(select(SafeExecutor).where(SafeExecutor.deployment_id == deployment_id)).first()
    if executor is None:
        raise DeploymentConflict(f"deployment {deployment_id} trades through no Safe")
    return executor


def _see(chain: SpotChain, executor: SafeExecutor) -> _Seen:
    facts = safe_chain.read_safe(chain.w3, executor.safe_address)
    allowed = safe_chain.is_executor(
        chain.w3, executor.module_address, executor.safe_address, executor.address
    )
    balance = safe_chain.eth_balance(chain.w3, executor.address)
    return _Seen(facts, facts.module_enabled(executor.module_address), allowed, balance)


def _other_live_executors(session: Session, executor: SafeExecutor) -> int:
    """Our other executors the module still serves on this Safe: disabling the module would stop them."""
    query = (
        select(func.count())
        .select_from(SafeExecutor)
        .where(
            func.lower(SafeExecutor.safe_address) == executor.safe_address.lower(),
            func.lower(SafeExecutor.module_address) == executor.module_address.lower(),
            col(SafeExecutor.enabled_at).is_not(None),
            col(SafeExecutor.disabled_at).is_(None),
            SafeExecutor.id != executor.id,
        )
    )
    return session.exec(query).one()


def _wanted_calls(session: Session, chain: SpotChain, executor: SafeExecutor, seen: _Seen) -> list[SafeCall]:
    """What the owner signs now: enabling while the deployment waits, revoking once it is cancelled."""
    deployment = session.get(AgentDeployment, executor.deployment_id)
    if deployment is None or executor.disabled_at is not None:
        return []
    if deployment.status == DeploymentStatus.CANCELLED:
        calls: list[SafeCall] = []
        if seen.allowed:
            calls += safe_chain.enable_calls(
                chain.w3, seen.facts, executor.module_address, executor.address, allowed=False
            )
        if seen.module_enabled and _other_live_executors(session, executor) == 0:
            nonce = seen.facts.nonce + len(calls)
            calls.append(safe_chain.disable_module_call(chain.w3, seen.facts, executor.module_address, nonce))
        return calls
    if seen.enabled:
        return []
    return safe_chain.enable_calls(
        chain.w3, seen.facts, executor.module_address, executor.address, allowed=True
    )


def _tx_view(call: SafeCall, executor: SafeExecutor, chain_id: int) -> SafeTxView:
    typed = safe_chain.typed_data(call, safe=executor.safe_address, chain_id=chain_id)
    return SafeTxView(
        purpose=call.purpose,
        description=PURPOSES[call.purpose],
        to=to_checksum_address(call.to),
        data=call.data,
        nonce=call.nonce,
        safe_tx_hash=safe_chain.safe_tx_hash(typed),
        typed_data=typed,
    )


def _message(deployment: AgentDeployment, executor: SafeExecutor, seen: _Seen, calls: list[SafeCall]) -> str:
    if executor.disabled_at is not None:
        return "The module no longer lets this deployment's executor swap for your Safe."
    if not calls and deployment.status == DeploymentStatus.CANCELLED:
        return "Nothing to revoke: the module lets this deployment's executor do nothing on your Safe."
    if not calls:
        return "Module enabled: this deployment's executor may swap for your Safe."
    if seen.facts.threshold > 1:
        return (
            f"Your Safe needs {seen.facts.threshold} signatures: propose these transactions in the Safe app. "
            "This page follows the chain and goes on once they are executed."
        )
    if deployment.status == DeploymentStatus.CANCELLED:
        return "Sign to revoke the executor; the module then can do nothing more for this deployment."
    return "Sign in your wallet to enable the module for this deployment's executor."


def _record_seen(session: Session, executor: SafeExecutor, seen: _Seen, *, trial_days: int) -> None:
    """Write what the chain shows: enabled (and the waiting deployment starts) or no longer enabled."""
    deployment = session.get(AgentDeployment, executor.deployment_id)
    if executor.enabled_at is None and executor.disabled_at is None and seen.enabled:
        with transaction(session):
            executor.enabled_at = utcnow()
            audit.record(session, action=EXECUTOR_ENABLED, entity_type="safe_executor", entity_id=executor.id)
            if deployment is not None:
                activate_pending(session, deployment, trial_days=trial_days)
        logger.info("safe executor %s enabled on %s", executor.address, executor.safe_address)
    elif executor.enabled_at is not None and executor.disabled_at is None and not seen.enabled:
        with transaction(session):
            executor.disabled_at = utcnow()
            details = {"module_enabled": seen.module_enabled, "executor_allowed": seen.allowed}
            audit.record(
                session,
                action=EXECUTOR_DISABLED,
                entity_type="safe_executor",
                entity_id=executor.id,
                details=details,
            )
        logger.info("safe executor %s no longer enabled on %s", executor.address, executor.safe_address)


def setup_state(
    session: Session, user: CurrentUser, deployment_id: int, *, chain: SpotChain, settings: Settings
) -> SafeSetupView:
    """The Safe's state for its owner, after recording what the chain shows (so polling this follows a Safe
    app execution too), and the transactions to sign now."""
    executor = deployment_executor(session, user, deployment_id)
    seen = _see(chain, executor)
    _record_seen(session, executor, seen, trial_days=settings.trial_days)
    return _view(session, chain, executor, seen)


def _view(session: Session, chain: SpotChain, executor: SafeExecutor, seen: _Seen) -> SafeSetupView:
    deployment = session.get(AgentDeployment, executor.deployment_id)
    calls = _wanted_calls(session, chain, executor, seen)
    return SafeSetupView(
        deployment_id=deployment.id,
        deployment_status=deployment.status,
        chain=chain.target.chain,
        chain_id=chain.target.chain_id,
        safe_address=executor.safe_address,
        owner_address=executor.owner_address,
        module_address=executor.module_address,
        executor_address=executor.address,
        executor_balance_eth=seen.balance_eth,
        executor_has_gas=seen.balance_eth > 0,
        owners=list(seen.facts.owners),
        threshold=seen.facts.threshold,
        tokens=list(chain.target.tokens),
        module_enabled=seen.module_enabled,
        executor_allowed=seen.allowed,
        enabled=executor.enabled_at is not None,
        disabled=executor.disabled_at is not None,
        needs_safe_app=bool(calls) and seen.facts.threshold > 1,
        transactions=[_tx_view(c, executor, chain.target.chain_id) for c in calls],
        message=_message(deployment, executor, seen, calls),
    )


# -- signatures in, transactions relayed ---------------------------------------------------------------


def submit_signatures(
    session: Session,
    user: CurrentUser,
    deployment_id: int,
    body: SafeSignatures,
    *,
    chain: SpotChain,
    cipher: WalletCipher,
    settings: Settings,
) -> SafeSetupView:
    """Relay the owner's signed Safe transactions from the executor, then record what the chain shows.

    Refused before anything is sent: out-of-date transactions (the Safe's nonce moved) or a count that does
    not match (422 `nonce`/`signatures`), a signature by anyone but an owner (422 `signatures`), a Safe that
    needs several signatures (409: the Safe app), an executor without gas (409).
    """
    executor = deployment_executor(session, user, deployment_id)
    seen = _see(chain, executor)
    calls = _wanted_calls(session, chain, executor, seen)
    if not calls:
        _record_seen(session, executor, seen, trial_days=settings.trial_days)
        return _view(session, chain, executor, _see(chain, executor))
    if seen.facts.threshold > 1:
        raise DeploymentConflict(
            f"this Safe needs {seen.facts.threshold} signatures; propose the transactions in the Safe app"
        )
    if body.nonce != calls[0].nonce:
        raise InputRejected("nonce", "the Safe's nonce moved since these were built: sign them again")
    if len(body.signatures) != len(calls):
        raise InputRejected("signatures", f"{len(calls)} signatures are needed, one per transaction")
    for call, signature in zip(calls, body.signatures, strict=True):
        typed = safe_chain.typed_data(call, safe=executor.safe_address, chain_id=chain.target.chain_id)
        try:
            signer = safe_chain.recover_signer(typed, signature)
        except ValueError as e:
            raise InputRejected("signatures", str(e)) from None
        if not seen.facts.is_owner(signer):
            raise InputRejected("signatures", f"signed by {signer}, who is not an owner of this Safe")
    relayer = cipher.decrypt(executor.address, executor.encrypted_private_key)
    _require_gas(chain, calls[0], executor, body.signatures[0], seen.balance_eth, len(calls))
    for call, signature in zip(calls, body.signatures, strict=True):
        try:
            tx_hash = safe_chain.relay(chain.w3, call, executor.safe_address, signature, relayer)
        except InvalidOrder as e:
            raise InputRejected("signatures", f"the Safe refused the transaction: {e.reason}") from e
        if call.purpose in ("enable_module", "set_executor"):
            with transaction(session):
                executor.enable_tx_hash = tx_hash
    seen = _see(chain, executor)
    _record_seen(session, executor, seen, trial_days=settings.trial_days)
    return _view(session, chain, executor, seen)


def _require_gas(
    chain: SpotChain, first: SafeCall, executor: SafeExecutor, signature: str, balance: Decimal, count: int
) -> None:
    """The executor pays the gas: refuse before sending when it cannot pay for all `count` transactions
    (the later ones cannot be estimated before the first is mined: the first's cost stands for each)."""
    try:
        _gas, _price, cost = safe_chain.relay_cost_wei(
            chain.w3, first, executor.safe_address, signature, executor.address
        )
    except InvalidOrder as e:
        raise InputRejected("signatures", f"the Safe would refuse the transaction: {e.reason}") from e
    needed = Decimal(cost * count) / safe_chain.WEI_PER_ETH
    if balance < needed:
        raise DeploymentConflict(
            f"the executor {executor.address} pays the gas and holds {balance:f} ETH; "
            f"send it at least {needed:f} ETH on {chain.target.chain}, then sign again"
        )


# -- the background check -------------------------------------------------------------------------------


def reconcile_executors(session: Session, chain: SpotChain, *, trial_days: int) -> list[int]:
    """Record what the chain shows for every executor not yet settled: enabled ones whose module or
    permission was removed outside the platform get `disabled_at` (the executor then skips their orders);
    waiting ones enabled through the Safe app start their deployment. The ids of rows that changed."""
    rows = session.exec(
        select(SafeExecutor)
        .join(AgentDeployment, col(AgentDeployment.id) == col(SafeExecutor.deployment_id))
        .where(
            col(SafeExecutor.disabled_at).is_(None),
            SafeExecutor.chain == chain.target.chain,
            col(SafeExecutor.enabled_at).is_not(None)
            | (AgentDeployment.status == DeploymentStatus.PENDING_APPROVAL),
        )
        .order_by(col(SafeExecutor.id))
    ).all()
    changed: list[int] = []
    for executor in rows:
        before = (executor.enabled_at, executor.disabled_at)
        _record_seen(session, executor, _see(chain, executor), trial_days=trial_days)
        if (executor.enabled_at, executor.disabled_at) != before:
            changed.append(executor.id)
    return changed
