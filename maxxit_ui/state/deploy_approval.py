"""The deploy wizard's approval step on the server: wallet answers as reasons, and submitting a signature.

The browser's wallet signs the approveAgent typed data; `submit_signed_approval` hands the signature to the
wallet service, which checks the signer and submits it to Hyperliquid. When the platform charges a builder
fee, the same wallet then signs approveBuilderFee, handed over by `submit_signed_builder_fee`. Every way that
can fail comes back as one sentence for the page, so the wizard can show it beside "Try again".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.deployments.builder_fee import submit_builder_fee
from backend.deployments.errors import DeploymentConflict, InputRejected, WalletNotFound
from backend.deployments.schemas import ApprovalSignature
from backend.venues.base import TemporaryVenueError, VenueError
from backend.wallets.service import submit_approval
from maxxit_ui.state.auth import NO_WALLET
from maxxit_ui.state.db import DB_ERROR, read

logger = logging.getLogger(__name__)

HYPERLIQUID_DOWN = "Hyperliquid cannot be reached right now, so nothing was approved. Try again in a moment."


def wallet_reason(result: Any, fallback: str) -> str:
    """The user-facing reason of a `{ok: false, code, error}` result from assets/wallet.js."""
    if not isinstance(result, dict):
        return fallback
    if result.get("code") == "no_wallet":
        return NO_WALLET
    if result.get("code") == "rejected":
        return "You rejected the approval in your wallet, so nothing was approved."
    return str(result.get("error") or fallback)[:300]


def sentence(text: str) -> str:
    """Backend reasons are lower-case phrases ("signed by 0x…, but …"); the page shows sentences."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


async def submit_signed_approval(
    user: CurrentUser, wallet_id: int, signature: str, nonce: int, chain: int
) -> str | None:
    """None when Hyperliquid accepted the approval, else the reason to show."""
    settings = get_settings()
    return await _submit_signature(
        lambda session, body: submit_approval(session, user, wallet_id, body, settings=settings),
        signature,
        nonce,
        chain,
        what="approval",
        rejected=(InputRejected,),  # e.g. signed by another account than the one entered
    )


async def submit_signed_builder_fee(
    user: CurrentUser, master_address: str, signature: str, nonce: int, chain: int
) -> str | None:
    """None when Hyperliquid accepted the account's approval of the builder fee, else the reason to show."""
    settings = get_settings()
    return await _submit_signature(
        lambda session, body: submit_builder_fee(session, user, master_address, body, settings=settings),
        signature,
        nonce,
        chain,
        what="builder fee approval",
        # signed by another account (an agent wallet too), or the fee is off
        rejected=(InputRejected, DeploymentConflict),
    )


async def _submit_signature(
    submit: Callable[[Session, ApprovalSignature], object],
    signature: str,
    nonce: int,
    chain: int,
    *,
    what: str,
    rejected: tuple[type[Exception], ...],
) -> str | None:
    """Hand a wallet's signature of the `what` to `submit`: None when Hyperliquid accepted it, else the reason
    to show (a `rejected` error is the backend's own reason)."""
    try:
        body = ApprovalSignature(signature=signature, nonce=nonce, chain_id=chain)
    except ValidationError:
        return "The wallet returned an unusable signature."
    try:
        await read(lambda session: submit(session, body))
    except rejected as e:
        return sentence(str(e))
    except ValueError:
        return "The wallet's signature does not recover any account; approve again."
    except TemporaryVenueError:
        return HYPERLIQUID_DOWN
    except VenueError as e:
        return sentence(f"Hyperliquid refused the {what}: {e.reason}")
    except WalletNotFound:
        return "That agent wallet is gone; go back and create a new one."
    except SQLAlchemyError:
        logger.exception("deploy: the %s could not be stored", what)
        return DB_ERROR
    return None
