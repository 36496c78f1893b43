"""The deploy wizard's approval step on the server: wallet answers as reasons, and submitting a signature.

The browser's wallet signs the approveAgent typed data; `submit_signed_approval` hands the signature to the
wallet service, which checks the signer and submits it to Hyperliquid. When the platform charges a builder
fee, the same wallet then signs approveBuilderFee, handed over by `submit_signed_builder_fee`. Every way that
can fail comes back as one sentence for the page, so the wizard can show it beside "Try again".
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

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
    try:
        body = ApprovalSignature(signature=signature, nonce=nonce, chain_id=chain)
    except ValidationError:
        return "The wallet returned an unusable signature."
    settings = get_settings()
    try:
        await read(lambda session: submit_approval(session, user, wallet_id, body, settings=settings))
    except InputRejected as e:
        return sentence(str(e))  # e.g. signed by another account than the one entered
    except ValueError:
        return "The wallet's signature does not recover any account; approve again."
    except TemporaryVenueError:
        return HYPERLIQUID_DOWN
    except VenueError as e:
        return sentence(f"Hyperliquid refused the approval: {e.reason}")
    except WalletNotFound:
        return "That agent wallet is gone; go back and create a new one."
    except SQLAlchemyError:
        logger.exception("deploy: approval could not be stored")
        return DB_ERROR
    return None


async def submit_signed_builder_fee(
    user: CurrentUser, master_address: str, signature: str, nonce: int, chain: int
) -> str | None:
    """None when Hyperliquid accepted the account's approval of the builder fee, else the reason to show."""
    try:
        body = ApprovalSignature(signature=signature, nonce=nonce, chain_id=chain)
    except ValidationError:
        return "The wallet returned an unusable signature."
    settings = get_settings()
    try:
        await read(lambda session: submit_builder_fee(session, user, master_address, body, settings=settings))
    except (InputRejected, DeploymentConflict) as e:
        return sentence(str(e))  # signed by another account (an agent wallet too), or the fee is off
    except ValueError:
        return "The wallet's signature does not recover any account; approve again."
    except TemporaryVenueError:
        return HYPERLIQUID_DOWN
    except VenueError as e:
        return sentence(f"Hyperliquid refused the builder fee approval: {e.reason}")
    except SQLAlchemyError:
        logger.exception("deploy: builder fee approval could not be recorded")
        return DB_ERROR
    return None
