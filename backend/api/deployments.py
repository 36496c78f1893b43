"""Deployments, their Hyperliquid agent-wallet approval, and positions: the owner's REST endpoints.

Every path needs a session (401 without) and answers only about the caller's own deployments: someone
else's deployment is the same 404 as an unknown one, so its existence never leaks. Thin over
`backend.deployments` and `backend.wallets`; their errors get the app-wide shapes (InputRejected → 422 on
the field, DeploymentNotFound → 404, DeploymentConflict → 409, TemporaryVenueError → 503).

Hyperliquid over REST: `POST /deployments` answers PENDING_APPROVAL with the agent wallet's address;
`GET .../approval` gives the approveAgent typed data for the user's wallet to sign with
`eth_signTypedData_v4`; `POST .../approval` with the signature submits it and the deployment turns ACTIVE.
The agent wallet's key never leaves the server.

Spot over REST: `POST /deployments` with `safe_address` answers PENDING_APPROVAL; `GET .../safe` gives the
Safe transactions (EIP-712 SafeTx) an owner signs to enable the Maxxit module for the deployment's executor;
`POST .../safe` with the signatures relays them, and the deployment turns ACTIVE once the chain shows it.
The executor's key never leaves the server either.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from backend.agents.service import AgentNotFound
from backend.api.agents import MAX_ID
from backend.api.auth import UNAUTHORIZED
from backend.api.deps import CipherDep, ClientIpDep, CurrentUserDep, SessionDep, SettingsDep, VenuesDep
from backend.api.errors import CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE, VENUE_ERRORS
from backend.api.routing import AuthenticateFirstRoute
from backend.auth.identity import CurrentUser
from backend.config import Settings
from backend.deployments import builder_fee, service, views
from backend.deployments.builder_fee import BuilderFeeRequest, BuilderFeeStatus
from backend.deployments.errors import DeploymentConflict, InputRejected
from backend.deployments.schemas import (
    ApprovalSignature,
    DeploymentRequest,
    DeploymentView,
    PositionView,
    SafeSetupView,
    SafeSignatures,
    SafeTxView,
)
from backend.models.common import utcnow
from backend.models.enums import PositionStatus
from backend.spot import safe_setup
from backend.spot.safe_setup import SpotChain
from backend.venues.registry import VenueRegistry
from backend.wallets import service as wallets
from backend.wallets.service import ApprovalRequest

logger = logging.getLogger(__name__)

MAX_POSITIONS = 500
DEFAULT_POSITIONS = 200
ARBITRUM_ONE = 42161
# EIP-2294's bound on chain ids, so a wallet can still represent the one we put in the typed data.
MAX_CHAIN_ID = 4_503_599_627_370_476

DeploymentId = Annotated[int, Path(ge=1, le=MAX_ID)]
OWNED: dict[int | str, dict[str, Any]] = {**UNAUTHORIZED, **NOT_FOUND}

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1",
    tags=["deployments"],
    responses={**UNAUTHORIZED, **INVALID, **UNAVAILABLE},
)


class PositionQuery(BaseModel):
    """Unknown parameters are refused (422), so a misspelt filter never silently reads everything."""

    model_config = ConfigDict(extra="forbid")

    deployment_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: PositionStatus | None = None
    limit: int = Field(default=DEFAULT_POSITIONS, ge=1, le=MAX_POSITIONS)


@router.post("/deployments", summary="Deploy an agent", status_code=201, responses=CONFLICT)
def create_deployment(
    request: DeploymentRequest,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
    venues: VenuesDep,
    ip: ClientIpDep,
    response: Response,
) -> DeploymentView:
    """Paper: ACTIVE at once on a virtual balance. Hyperliquid: a fresh agent wallet for `user_wallet`, and
    PENDING_APPROVAL until its approval is posted to `/deployments/{id}/approval` (or ACTIVE at once with an
    approved `agent_wallet_id`). An agent you cannot see is 422 on `agent_id`; one that is not active, 409."""
    try:
        deployment = service.create_deployment(
            session, user, request, settings=settings, cipher=cipher, ip=ip
        )
    except AgentNotFound as e:
        error = {"loc": ("body", "agent_id"), "msg": str(e), "type": "value_error"}
        raise RequestValidationError([error]) from e
    response.headers["Location"] = f"/api/v1/deployments/{deployment.id}"
    return views.get_deployment(session, user, deployment.id, venues=venues)


@router.get("/deployments", summary="My deployments")
def list_deployments(user: CurrentUserDep, session: SessionDep, venues: VenuesDep) -> list[DeploymentView]:
    """Newest first, with the venue balance (null when the venue cannot be asked right now)."""
    return views.list_deployments(session, user, venues=venues)


@router.get("/deployments/{deployment_id}", summary="One of my deployments", responses=OWNED)
def get_deployment(
    deployment_id: DeploymentId, user: CurrentUserDep, session: SessionDep, venues: VenuesDep
) -> DeploymentView:
    return views.get_deployment(session, user, deployment_id, venues=venues)


def _change(
    action: str,
    deployment_id: int,
    user: CurrentUser,
    session: Session,
    venues: VenueRegistry,
    ip: str | None,
) -> DeploymentView:
    service.change_status(session, user, deployment_id, action, ip=ip)
    return views.get_deployment(session, user, deployment_id, venues=venues)


@router.post(
    "/deployments/{deployment_id}/pause", summary="Pause a deployment", responses={**OWNED, **CONFLICT}
)
def pause(
    deployment_id: DeploymentId, user: CurrentUserDep, session: SessionDep, venues: VenuesDep, ip: ClientIpDep
) -> DeploymentView:
    """ACTIVE → PAUSED: no new trades; open positions stay under the monitor's exits."""
    return _change("pause", deployment_id, user, session, venues, ip)


@router.post(
    "/deployments/{deployment_id}/resume", summary="Resume a deployment", responses={**OWNED, **CONFLICT}
)
def resume(
    deployment_id: DeploymentId, user: CurrentUserDep, session: SessionDep, venues: VenuesDep, ip: ClientIpDep
) -> DeploymentView:
    """PAUSED → ACTIVE."""
    return _change("resume", deployment_id, user, session, venues, ip)


@router.post(
    "/deployments/{deployment_id}/cancel", summary="Cancel a deployment", responses={**OWNED, **CONFLICT}
)
def cancel(
    deployment_id: DeploymentId, user: CurrentUserDep, session: SessionDep, venues: VenuesDep, ip: ClientIpDep
) -> DeploymentView:
    """Any live state → CANCELLED for good (deploy again to restart); open positions still get their exits."""
    return _change("cancel", deployment_id, user, session, venues, ip)


@router.post(
    "/deployments/{deployment_id}/accept-version",
    summary="Trade the agent's newest version",
    responses={**OWNED, **CONFLICT},
)
def accept_version(
    deployment_id: DeploymentId, user: CurrentUserDep, session: SessionDep, venues: VenuesDep, ip: ClientIpDep
) -> DeploymentView:
    """Re-pin the deployment to its agent's newest version (409 when it already trades it or is cancelled).

    Until then it keeps trading the version it accepted, whatever the creator changed since.
    """
    service.accept_latest_version(session, user, deployment_id, ip=ip)
    return views.get_deployment(session, user, deployment_id, venues=venues)


@router.get(
    "/deployments/{deployment_id}/approval",
    summary="The agent-wallet approval to sign",
    responses={**OWNED, **CONFLICT},
)
def approval_request(
    deployment_id: DeploymentId,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    chain_id: Annotated[int, Query(ge=1, le=MAX_CHAIN_ID)] = ARBITRUM_ONE,
) -> ApprovalRequest:
    """Hyperliquid's `approveAgent` as EIP-712 typed data: sign `typed_data` with `eth_signTypedData_v4`
    from the `master_address` wallet on chain `chain_id`, then post the signature with `nonce` and
    `chain_id`. A paper-only deployment has no agent wallet (409)."""
    wallet = service.deployment_wallet(session, user, deployment_id)
    return wallets.approval_request(
        session, user, wallet.id, settings=settings, chain_id=chain_id, now=utcnow()
    )


@router.post(
    "/deployments/{deployment_id}/approval",
    summary="Submit the signed agent-wallet approval",
    responses={**OWNED, **CONFLICT, **VENUE_ERRORS},
)
def submit_approval(
    deployment_id: DeploymentId,
    body: ApprovalSignature,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    venues: VenuesDep,
) -> DeploymentView:
    """Checks the signature is the account owner's, submits it to Hyperliquid, and starts a deployment that
    waited for it (ACTIVE). A wrong signer or Hyperliquid's refusal is 422 on `signature`; Hyperliquid
    unreachable is 503 and nothing changed. Posting again once approved changes nothing."""
    try:
        service.submit_deployment_approval(session, user, deployment_id, body, settings=settings)
    except ValueError as e:  # the approval helpers' word for a signature that recovers no address
        error = {"loc": ("body", "signature"), "msg": str(e), "type": "value_error"}
        raise RequestValidationError([error]) from e
    return views.get_deployment(session, user, deployment_id, venues=venues)


def _spot(settings: Settings) -> SpotChain:
    spot = safe_setup.spot_chain(settings)
    if spot is None:
        raise DeploymentConflict(safe_setup.NOT_CONFIGURED)
    return spot


@router.get(
    "/deployments/{deployment_id}/safe",
    summary="The spot deployment's Safe and what to sign",
    responses={**OWNED, **CONFLICT, **VENUE_ERRORS},
)
def safe_state(
    deployment_id: DeploymentId, user: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> SafeSetupView:
    """The Safe, the Maxxit module and this deployment's executor as the chain shows them (the executor's
    address and ETH for gas, never its key), and `transactions`: the Safe transactions to sign now as EIP-712
    SafeTx typed data (enabling the module for the executor while the deployment waits, revoking it once the
    deployment is cancelled). Asking records what the chain shows: a deployment whose Safe executed them (in
    the Safe app too) turns ACTIVE. 409 for a deployment without a Safe or when spot is not configured."""
    return safe_setup.setup_state(session, user, deployment_id, chain=_spot(settings), settings=settings)


@router.get(
    "/deployments/{deployment_id}/safe/transactions",
    summary="The Safe transactions to sign",
    responses={**OWNED, **CONFLICT, **VENUE_ERRORS},
)
def safe_transactions(
    deployment_id: DeploymentId, user: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> list[SafeTxView]:
    """`transactions` of `GET .../safe` alone: sign each `typed_data` with `eth_signTypedData_v4` from an
    owner's wallet, then post the signatures in order with the first one's `nonce`."""
    spot = _spot(settings)
    return safe_setup.setup_state(session, user, deployment_id, chain=spot, settings=settings).transactions


@router.post(
    "/deployments/{deployment_id}/safe",
    summary="Submit the signed Safe transactions",
    responses={**OWNED, **CONFLICT, **VENUE_ERRORS},
)
def submit_safe_signatures(
    deployment_id: DeploymentId,
    body: SafeSignatures,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
) -> SafeSetupView:
    """Checks each signature is an owner's, then the executor relays them (`execTransaction`, paying the
    gas) and waits for the receipts; the deployment turns ACTIVE once the chain shows the module enabled and
    the executor allowed (or, after a cancel, the row is marked disabled once the chain shows it revoked).
    A signature by anyone else, or transactions out of date, is 422 and nothing is sent; a Safe needing
    several signatures (propose in the Safe app) or an executor without gas is 409."""
    spot = _spot(settings)
    return safe_setup.submit_signatures(
        session, user, deployment_id, body, chain=spot, cipher=cipher, settings=settings
    )


def _builder_fee_account(session: Session, user: CurrentUser, deployment_id: int) -> str:
    """The Hyperliquid account of one of the caller's deployments (409 for a paper-only one)."""
    return service.deployment_wallet(session, user, deployment_id).master_address


@router.get(
    "/deployments/{deployment_id}/builder-fee",
    summary="The builder-fee approval to sign",
    responses={**OWNED, **CONFLICT},
)
def builder_fee_request(
    deployment_id: DeploymentId,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    chain_id: Annotated[int, Query(ge=1, le=MAX_CHAIN_ID)] = ARBITRUM_ONE,
) -> BuilderFeeRequest:
    """Hyperliquid's `approveBuilderFee` for the platform as EIP-712 typed data: sign `typed_data` with
    `eth_signTypedData_v4` from the `master_address` wallet (its main wallet, never an agent) on chain
    `chain_id`, then post the signature with `nonce` and `chain_id`. Hyperliquid then collects
    `fee_percent` of each entry order's notional for the platform, instead of a trade fee on the invoice.
    409 when the platform charges no builder fee or the deployment trades on paper only."""
    master = _builder_fee_account(session, user, deployment_id)
    return builder_fee.builder_fee_request(settings, master, chain_id=chain_id, now=utcnow())


@router.post(
    "/deployments/{deployment_id}/builder-fee",
    summary="Submit the signed builder-fee approval",
    responses={**OWNED, **CONFLICT, **VENUE_ERRORS},
)
def submit_builder_fee(
    deployment_id: DeploymentId,
    body: ApprovalSignature,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
) -> BuilderFeeStatus:
    """Checks the signature is the account's own wallet's and submits it to Hyperliquid. A signature by
    anyone else (an agent wallet included) or Hyperliquid's refusal is 422 on `signature`; Hyperliquid
    unreachable is 503 and nothing changed."""
    master = _builder_fee_account(session, user, deployment_id)
    try:
        return builder_fee.submit_builder_fee(session, user, master, body, settings=settings, ip=ip)
    except InputRejected:
        raise  # already names its field
    except ValueError as e:  # the signature helpers' word for a signature that recovers no address
        error = {"loc": ("body", "signature"), "msg": str(e), "type": "value_error"}
        raise RequestValidationError([error]) from e


@router.get("/positions", summary="My positions", responses=OWNED)
def list_positions(
    query: Annotated[PositionQuery, Query()], user: CurrentUserDep, session: SessionDep
) -> list[PositionView]:
    """Newest first, each with the signal (score, post excerpt) that opened it and its `figures`: gross PnL,
    venue fees, Maxxit's trade fee, profit share and net, as every page shows them. `deployment_id` must be
    one of yours (404 otherwise)."""
    if query.deployment_id is not None:
        service.owned_deployment(session, user, query.deployment_id)
    return views.list_positions(
        session, user, deployment_id=query.deployment_id, status=query.status, limit=query.limit
    )


@router.post(
    "/positions/{position_id}/close",
    summary="Close a position",
    status_code=202,
    responses={**OWNED, **CONFLICT},
)
def close_position(
    position_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    user: CurrentUserDep,
    session: SessionDep,
    ip: ClientIpDep,
) -> PositionView:
    """OPEN → CLOSING (MANUAL): the next monitor cycle, within seconds, sends the reduce-only order and
    records the exit. 409 when it is closing or closed already; someone else's position is 404."""
    position = service.close_own_position(session, user, position_id, ip=ip)
    listed = views.list_positions(session, user, deployment_id=position.deployment_id, limit=500)
    return next(p for p in listed if p.id == position_id)
