"""The hyperliquid SDK's transport and HTTP errors as our venue errors, for every module that calls it.

Only network trouble, timeouts, 5xx and 429 are temporary (retried); another 4xx is a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import InvalidOperation

import requests
from hyperliquid.utils.error import ClientError, ServerError

from backend.venues.base import TemporaryVenueError, VenueError


@contextmanager
def sdk_errors(doing: str, refused: type[VenueError] = VenueError) -> Iterator[None]:
    """Translate what the SDK raises while `doing` something; `refused` is raised for a 4xx other than 429."""
    try:
        yield
    except requests.Timeout as e:
        raise TemporaryVenueError(f"Hyperliquid timed out {doing}") from e
    except requests.RequestException as e:
        raise TemporaryVenueError(f"Hyperliquid unreachable {doing}: {type(e).__name__}") from e
    except ServerError as e:
        raise TemporaryVenueError(f"Hyperliquid answered HTTP {e.status_code} {doing}") from e
    except ClientError as e:
        if e.status_code == 429:
            raise TemporaryVenueError(f"Hyperliquid rate limit hit {doing}") from e
        raise refused(f"Hyperliquid refused {doing}: HTTP {e.status_code} {e.error_message}") from e


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """A reply that does not have the shape we read is a venue error, not a crash."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, InvalidOperation, AttributeError) as e:
        raise VenueError(f"unexpected {what} from Hyperliquid: {type(e).__name__}: {e}") from e
