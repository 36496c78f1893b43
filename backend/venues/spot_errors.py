"""The spot venue's errors: revert reasons and RPC failures in our VenueError words, mapped at the boundary.

Reasons come from the module ("slippage", "not executor", "module not enabled", "pair not allowed"), the
Safe (GS104, had the module not asked first), the router ("Too little received") and tokens ("transfer
amount exceeds balance").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import requests
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3Exception

from backend.venues.base import (
    InsufficientFunds,
    InvalidOrder,
    MarketNotListed,
    TemporaryVenueError,
    VenueError,
)


def swap_error(reason: str, slippage: Decimal) -> VenueError:
    """A revert reason in our words (the module's, the Safe's GS codes, the router's and tokens')."""
    lowered = reason.lower()
    if "slippage" in lowered or "too little received" in lowered:
        bps = slippage * 10_000
        return InvalidOrder(
            f"the price moved more than {bps.normalize():f} bps against the swap: not filled ({reason})"
        )
    if "gs104" in lowered or "not executor" in lowered or "module not enabled" in lowered:
        return InvalidOrder(f"Safe module not enabled for this deployment's executor ({reason})")
    if "exceeds balance" in lowered or "insufficient balance" in lowered or lowered.endswith(": stf"):
        return InsufficientFunds(f"the Safe does not hold enough to swap ({reason})")
    if "pair not allowed" in lowered:
        return MarketNotListed(f"the module does not allow that token ({reason})")
    return InvalidOrder(f"swap refused on chain: {reason}")


@contextmanager
def rpc_errors(doing: str) -> Iterator[None]:
    """Network trouble and RPC failures as TemporaryVenueError; reverts (ContractLogicError) pass through."""
    try:
        yield
    except (ContractLogicError, VenueError, TimeExhausted, TransactionNotFound):
        raise
    except (requests.RequestException, OSError, TimeoutError) as e:
        raise TemporaryVenueError(f"chain unreachable {doing}: {type(e).__name__}") from e
    except Web3Exception as e:
        raise TemporaryVenueError(f"chain error {doing}: {e}") from e


def revert_reason(error: ContractLogicError) -> str:
    """The revert string of a failed call ("slippage", "GS104"), without web3's prefix."""
    text = str(error.message if getattr(error, "message", None) else error)
    return text.removeprefix("execution reverted: ").removeprefix("execution reverted").strip() or "reverted"
