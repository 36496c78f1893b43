"""The Bot API over plain httpx: the few methods Maxxit calls, Telegram's refusals as `TelegramError`.

The token is part of every URL (`/bot<token>/<method>`), and httpx logs each request's URL at INFO: a filter
on httpx's and httpcore's loggers rewrites any `bot<id>:<secret>` to `bot<redacted>` before a record is
emitted, and errors raised here never carry a URL or the underlying exception.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx

logger = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
REDACTED = "bot<redacted>"
# Telegram's refusals that no retry can fix: the user blocked the bot, the chat is gone, the request is bad.
PERMANENT_STATUSES = frozenset({400, 403})


def redact(text: str) -> str:
    """`text` with any bot token replaced."""
    return TOKEN_PATTERN.sub(REDACTED, text)


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business, not ours
            return True
        if TOKEN_PATTERN.search(message):
            record.msg, record.args = redact(message), None
        return True


_FILTER = _RedactTokens()
for _name in ("httpx", "httpcore"):
    if not any(isinstance(f, _RedactTokens) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_FILTER)


class TelegramError(Exception):
    """Telegram refused a call, or could not be reached (`status` None). Safe to log and show."""

    def __init__(
        self,
        description: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent

    def __repr__(self) -> str:
        return f"TelegramError({self.description!r}, status={self.status}, retry_after={self.retry_after})"


@dataclass(frozen=True)
class BotInfo:
    id: int
    username: str


class TelegramClient:
    """One bot's client. No network in the constructor; each call is bounded by `timeout` seconds
    (getUpdates by its long-poll time on top)."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout)

    def __repr__(self) -> str:  # never the token
        return f"TelegramClient({self._base!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TelegramClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- methods --------------------------------------------------------------------------------------

    def get_me(self) -> BotInfo:
        result = self._call("getMe", {})
        return BotInfo(int(result["id"]), str(result.get("username") or ""))

    def get_updates(
        self, offset: int | None = None, *, timeout: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Updates from `offset` on (which confirms every earlier one), waiting up to `timeout` s for one."""
        params: dict[str, Any] = {"timeout": timeout, "limit": limit,
                                  "allowed_updates": ["message", "callback_query"]}  # fmt: skip
        if offset:
            params["offset"] = offset
        result = self._call("getUpdates", params, wait=timeout)
        return [u for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: dict[str, Any] | None = None,
        disable_preview: bool = True,
    ) -> dict[str, Any]:
        """The sent Message."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if parse_mode:
            params["parse_mode"] = parse_mode
        if reply_markup is not None:
            params["reply_markup"] = reply_markup
        if disable_preview:
            params["link_preview_options"] = {"is_disabled": True}
        return self._call("sendMessage", params)

    def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
        if parse_mode:
            params["parse_mode"] = parse_mode
        if reply_markup is not None:
            params["reply_markup"] = reply_markup
        return self._call("editMessageText", params)

    def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> bool:
        params: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            params["text"] = text
        return bool(self._call("answerCallbackQuery", params))

    def set_webhook(self, url: str, secret_token: str, *, max_connections: int = 1) -> bool:
        """Updates go to `url` with the secret header from now on. One connection: updates arrive in order,
        which the cursor relies on."""
        params = {"url": url, "secret_token": secret_token, "max_connections": max_connections,
                  "allowed_updates": ["message", "callback_query"]}  # fmt: skip
        return bool(self._call("setWebhook", params))

    def delete_webhook(self) -> bool:
        return bool(self._call("deleteWebhook", {}))

    # -- transport ------------------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any], *, wait: float = 0) -> Any:
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = self._http.post(url, json=params, timeout=self.timeout + wait)
        except httpx.TimeoutException:
            raise TelegramError(f"{method}: Telegram did not answer in time") from None
        except httpx.HTTPError as e:
            raise TelegramError(f"{method}: Telegram unreachable ({type(e).__name__})") from None
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError):
            body = None
        if not isinstance(body, dict):
            raise TelegramError(
                f"{method}: unexpected answer (HTTP {response.status_code})", status=response.status_code
            )
        if body.get("ok") is True:
            return body.get("result")
        status = int(body.get("error_code") or response.status_code)
        description = redact(str(body.get("description") or f"HTTP {status}"))[:300]
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        retry_after = parameters.get("retry_after")
        raise TelegramError(
            description,
            status=status,
            retry_after=int(retry_after) if isinstance(retry_after, int) else None,
            permanent=status in PERMANENT_STATUSES,
        )
