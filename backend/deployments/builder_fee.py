"""The platform's Hyperliquid builder fee, approved by the user's own wallet next to the agent wallet.

When `BUILDER_FEE_TENTHS_BPS` and `PLATFORM_ADDRESS` are set, the deploy step that approves the agent wallet
also asks the account's main wallet to sign `approveBuilderFee` for the platform: Hyperliquid then collects
that fee on the entry orders the platform places, and the platform bills no trade fee of its own for them.
The approval is the account's, not a deployment's: one signature covers every deployment on that account.
An agent wallet cannot sign it, and the platform never can.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from backend import audit
from backend.audit import Action
from backend.auth.errors import InvalidAddress
from backend.auth.identity import CurrentUser, normalize_address
from backend.config import Settings
from backend.db import transaction
from backend.deployments.errors import DeploymentConflict, InputRejected
from backend.deployments.schemas import ApprovalSignature
from backend.venues.base import InvalidOrder
from backend.venues.hyperliquid_builder import BuilderFee
from backend.wallets.builder_fee import (
    approve_builder_fee_action,
    approve_builder_fee_typed_data,
    fee_rate_percent,
    max_builder_fee,
    recover_builder_fee_approver,
    submit_builder_fee_approval,
)

logger = logging.getLogger(__name__)


class BuilderFeeRequest(BaseModel):
    """What the browser signs with `eth_signTypedData_v4`, and the values to send back with the signature."""

    builder: str  # the platform's address, lower-case
    master_address: str  # the Hyperliquid account whose main wallet signs
    fee_tenths_bps: int
    fee_percent: str  # "0.01%": what the page shows and the typed data's maxFeeRate
    description: str
    nonce: int
    chain_id: int
    typed_data: dict


class BuilderFeeStatus(BaseModel):
    builder: str
    master_address: str
    fee_tenths_bps: int
    fee_percent: str
    approved: bool  # Hyperliquid holds an approval of at least the fee for this account


def configured_builder(settings: Settings) -> BuilderFee | None:
    """The platform as builder, or None when the builder fee is off (no fee or no platform address)."""
    if settings.builder_fee_tenths_bps is None or not settings.platform_address:
        return None
    return BuilderFee(settings.platform_address.lower(), settings.builder_fee_tenths_bps)


def fee_description(tenths_bps: int) -> str:
    """What the page says the fee is: "0.01% of each order's notional, collected by Hyperliquid"."""
    return f"{fee_rate_percent(tenths_bps)} of each order's notional, collected by Hyperliquid"


def builder_fee_request(
    settings: Settings, master_address: str, *, chain_id: int, now: datetime
) -> BuilderFeeRequest:
    """The approveBuilderFee typed data for `master_address`'s own wallet on chain `chain_id`."""
    builder = _builder(settings)
    master = _master(master_address)
    nonce = int(now.timestamp() * 1000)
    action = _action(settings, builder, nonce, chain_id)
    return BuilderFeeRequest(
        builder=builder.address,
        master_address=master,
        fee_tenths_bps=builder.tenths_bps,
        fee_percent=fee_rate_percent(builder.tenths_bps),
        description=fee_description(builder.tenths_bps),
        nonce=nonce,
        chain_id=chain_id,
        typed_data=approve_builder_fee_typed_data(action),
    )


def builder_fee_status(settings: Settings, master_address: str) -> BuilderFeeStatus:
    """Whether Hyperliquid holds the account's approval of the fee (one info request; TemporaryVenueError
    when Hyperliquid cannot be asked)."""
    builder = _builder(settings)
    master = _master(master_address)
    approved = max_builder_fee(
        settings.hyperliquid_base_url, master, builder.address, timeout=settings.hyperliquid_timeout_seconds
    )
    return BuilderFeeStatus(
        builder=builder.address,
        master_address=master,
        fee_tenths_bps=builder.tenths_bps,
        fee_percent=fee_rate_percent(builder.tenths_bps),
        approved=approved > 0 and approved >= builder.tenths_bps,
    )


def submit_builder_fee(
    session: Session,
    user: CurrentUser,
    master_address: str,
    body: ApprovalSignature,
    *,
    settings: Settings,
    ip: str | None = None,
) -> BuilderFeeStatus:
    """Check the signature is the account's main wallet's, submit it to Hyperliquid, and audit it.

    A signature by anyone else, or Hyperliquid's refusal, is InputRejected on `signature`;
    TemporaryVenueError (Hyperliquid unreachable) propagates and nothing changes.
    """
    builder = _builder(settings)
    master = _master(master_address)
    action = _action(settings, builder, body.nonce, body.chain_id)
    try:
        signer = recover_builder_fee_approver(action, body.signature)
    except ValueError:
        raise InputRejected("signature", "the signature does not recover to any address") from None
    if signer.lower() != master:
        raise InputRejected("signature", f"signed by {signer}, but the Hyperliquid account is {master}")
    timeout = settings.hyperliquid_timeout_seconds
    try:
        submit_builder_fee_approval(settings.hyperliquid_base_url, action, body.signature, timeout=timeout)
    except InvalidOrder as error:
        raise InputRejected("signature", f"Hyperliquid refused the approval: {error.reason}") from error
    details = {"master_address": master, "builder": builder.address, "max_fee_rate": action["maxFeeRate"]}
    with transaction(session):
        audit.record_by(
            session, user, Action.BUILDER_FEE_APPROVED, "hyperliquid_account", master, details, ip
        )
    logger.info("builder fee %s approved by %s", action["maxFeeRate"], master)
    return BuilderFeeStatus(
        builder=builder.address,
        master_address=master,
        fee_tenths_bps=builder.tenths_bps,
        fee_percent=action["maxFeeRate"],
        approved=True,
    )


def _builder(settings: Settings) -> BuilderFee:
    builder = configured_builder(settings)
    if builder is None:
        raise DeploymentConflict("the platform charges no builder fee: there is nothing to approve")
    return builder


def _master(master_address: str) -> str:
    try:
        return normalize_address(master_address)
    except InvalidAddress as error:
        raise InputRejected("user_wallet", str(error)) from None


def _action(settings: Settings, builder: BuilderFee, nonce: int, chain_id: int) -> dict:
    return approve_builder_fee_action(
        builder.address, builder.tenths_bps, nonce, base_url=settings.hyperliquid_base_url, chain_id=chain_id
    )
