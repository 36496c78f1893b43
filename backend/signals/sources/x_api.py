"""X API v2 source: the followed accounts' timelines, fetched since the last tweet already stored.

The worker keeps one `XApiClient`, so the rate-limit reset it learns (`blocked_until`) carries across poll
cycles: a call before the reset raises `XRateLimited` without sending anything, which is the backoff.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session

from backend.config import Settings
from backend.models import CtAccount
from backend.models.common import utcnow
from backend.models.enums import PostSource
from backend.signals.ingest import followed_accounts, store_posts
from backend.signals.types import RawPost

logger = logging.getLogger(__name__)

MAX_PAGES = 5
# X's rate-limit windows are 15 minutes; a 429 that names no reset waits one window.
_DEFAULT_BLOCK = timedelta(minutes=15)
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_TIMELINE_PARAMS = {"tweet.fields": "created_at", "exclude": "retweets,replies"}


class XApiError(Exception):
    """X refused a request or answered something unusable; the message says which."""


class XTemporaryError(XApiError):
    """5xx answers or network trouble that outlasted the retries; a later cycle tries again."""


class XAuthError(XApiError):
    """401/403: the bearer token is refused, so every other request would fail the same way."""


class XRateLimited(XApiError):
    """The rate limit is used up until `reset_at` (aware UTC)."""

    def __init__(self, reset_at: datetime) -> None:
        self.reset_at = reset_at
        super().__init__(f"X API rate limit reached; it resets at {reset_at.isoformat()}")


class XApiClient:
    """A small synchronous X API v2 client: user lookup and user timelines, app (bearer) auth."""

    def __init__(
        self,
        base_url: str,
        bearer_token: str,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        retries: int = 2,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        max_pages: int = MAX_PAGES,
    ) -> None:
        if not bearer_token:
            raise ValueError("an X API bearer token is required")
        if retries < 0 or max_pages < 1:
            raise ValueError("retries must be >= 0 and max_pages >= 1")
        self._base_url = base_url.rstrip("/")
        self._token = bearer_token
        self._timeout = timeout
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout)
        self._clock = clock
        self._retries = retries
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._max_pages = max_pages
        self.blocked_until: datetime | None = None

    def __repr__(self) -> str:
        # Never the token.
        return f"XApiClient(base_url={self._base_url!r}, blocked_until={self.blocked_until!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def user_id(self, handle: str) -> str:
        """X's numeric id of `handle` (looked up once per account: timelines are fetched by id)."""
        if not _HANDLE.match(handle):
            raise XApiError(f"@{handle} is not a valid X handle (1-15 letters, digits or _)")
        body = self._get(f"/2/users/by/username/{handle}")
        data = body.get("data")
        user_id = str(data.get("id", "")) if isinstance(data, dict) else ""
        if not user_id.isdigit():
            raise XApiError(f"cannot look up @{handle} on X: {_error_text(body)}")
        return user_id

    def timeline(
        self,
        user_id: str,
        handle: str,
        since_id: str | None,
        max_results: int = 100,
        *,
        max_pages: int | None = None,
    ) -> list[RawPost]:
        """Original posts (no retweets or replies) newer than `since_id`, oldest first.

        Raises on any failed page, dropping the pages already read: storing only the newest pages would move
        the account's cursor past the ones missed.
        """
        if not user_id.isdigit():
            raise XApiError(f"@{handle}: X user id {user_id!r} is not numeric")
        if not 5 <= max_results <= 100:
            raise ValueError("max_results must be between 5 and 100 for user timelines")
        params: dict[str, Any] = {**_TIMELINE_PARAMS, "max_results": max_results}
        if since_id:
            params["since_id"] = since_id
        pages = max_pages or self._max_pages
        posts: dict[str, RawPost] = {}
        for _ in range(pages):
            body = self._get(f"/2/users/{user_id}/tweets", params)
            if "data" not in body and body.get("errors"):
                raise XApiError(f"cannot read @{handle}'s timeline: {_error_text(body)}")
            for item in body.get("data") or []:
                post = _raw_post(item, handle)
                posts[post.external_id] = post
            next_token = (body.get("meta") or {}).get("next_token")
            if not next_token:
                break
            params = {**params, "pagination_token": next_token}
        else:
            logger.warning("@%s has more than %d page(s) of new posts; the oldest are skipped", handle, pages)
        return sorted(posts.values(), key=lambda p: int(p.external_id))

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One GET with the rate-limit gate, retrying 5xx and network errors a few times with backoff."""
        self._check_blocked()
        failure = ""
        for attempt in range(self._retries + 1):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            try:
                response = self._http.get(
                    self._base_url + path,
                    params=params,
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=self._timeout,
                )
            except httpx.TransportError as e:
                failure = f"{type(e).__name__}: {e}"
                continue
            if response.status_code >= 500:
                failure = f"HTTP {response.status_code}"
                continue
            return self._accept(response)
        raise XTemporaryError(f"X API {path} failed {self._retries + 1} time(s), last: {failure}")

    def _accept(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        reset = _reset_time(response)
        if status == 429:
            self.blocked_until = reset or self._clock() + _DEFAULT_BLOCK
            raise XRateLimited(self.blocked_until)
        if response.headers.get("x-rate-limit-remaining") == "0" and reset is not None:
            self.blocked_until = reset
        body = _json_body(response)
        if status in (401, 403):
            raise XAuthError(f"bearer token refused by X (HTTP {status}): {_error_text(body)}")
        if status >= 400:
            raise XApiError(f"X API answered HTTP {status}: {_error_text(body)}")
        return body

    def _check_blocked(self) -> None:
        if self.blocked_until is None:
            return
        if self._clock() < self.blocked_until:
            raise XRateLimited(self.blocked_until)
        self.blocked_until = None


def poll_x_accounts(session: Session, client: XApiClient, now: datetime) -> list[int]:
    """One poll cycle over every active followed account; returns the ids of the new posts.

    A rate limit, a refused token or X being down ends the cycle (the next one resumes) and keeps what
    was stored; an error about one account (unknown, suspended) skips only that account.
    """
    stored: list[int] = []
    for account in sorted(followed_accounts(session).values(), key=lambda a: a.id or 0):
        try:
            stored += _poll_account(session, client, account)
        except XRateLimited as e:
            wait = max(0, int((e.reset_at - now).total_seconds()))
            logger.warning("X rate limit reached; polling resumes after %s (in %ds)", e.reset_at, wait)
            break
        except (XAuthError, XTemporaryError) as e:
            logger.warning("X polling stopped for this cycle: %s", e)
            break
        except XApiError as e:
            logger.warning("skipping @%s this cycle: %s", account.handle, e)
    return stored


def _poll_account(session: Session, client: XApiClient, account: CtAccount) -> list[int]:
    if account.x_user_id is None:
        account.x_user_id = client.user_id(account.handle)
        session.add(account)
        session.commit()
        logger.info("@%s is X user %s", account.handle, account.x_user_id)
    since_id = account.last_seen_external_id
    # Without a cursor take only the latest page: following an account does not replay its history.
    posts = client.timeline(account.x_user_id, account.handle, since_id, max_pages=None if since_id else 1)
    return store_posts(session, PostSource.X_API, posts) if posts else []


def build_x_client(settings: Settings) -> XApiClient | None:
    """The worker's client, or None when no bearer token is configured (X polling is then off)."""
    token = settings.x_api_bearer_token
    if token is None or not token.get_secret_value():
        return None
    return XApiClient(settings.x_api_base_url, token.get_secret_value())


def _raw_post(item: Any, handle: str) -> RawPost:
    try:
        tweet_id = str(item["id"])
        text = html.unescape(item["text"])  # v2 still sends &amp; &lt; &gt; escaped
        posted_at = _parse_time(item["created_at"])
    except (KeyError, TypeError, ValueError) as e:
        raise XApiError(f"unexpected post in @{handle}'s timeline ({type(e).__name__}: {e})") from e
    if not tweet_id.isdigit():
        raise XApiError(f"unexpected post id {tweet_id!r} in @{handle}'s timeline")
    return RawPost(external_id=tweet_id, handle=handle, text=text, posted_at=posted_at)


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _reset_time(response: httpx.Response) -> datetime | None:
    raw = response.headers.get("x-rate-limit-reset", "")
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if response.status_code >= 400:
            return {}
        raise XApiError(f"X API answered HTTP {response.status_code} with no JSON object")
    return body


def _error_text(body: dict[str, Any]) -> str:
    """X's v2 errors as one line: `{"errors": [{"title", "detail"}]}` or a top-level problem."""
    problems = body.get("errors") if isinstance(body.get("errors"), list) else [body]
    parts = []
    for problem in problems:
        if isinstance(problem, dict):
            text = ": ".join(str(problem[k]) for k in ("title", "detail") if problem.get(k))
            if text:
                parts.append(text)
    return "; ".join(parts) or "no error detail"
