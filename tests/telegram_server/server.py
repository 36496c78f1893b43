"""A Telegram Bot API-compatible HTTP server for tests and the bench: `/bot<token>/<method>` in a thread.

It speaks the parts Maxxit uses: getMe, getUpdates (long poll; `offset` confirms earlier updates),
setWebhook / deleteWebhook (while a webhook is set, updates are POSTed to it with the
`X-Telegram-Bot-Api-Secret-Token` header instead of waiting for getUpdates, which then answers 409),
sendMessage, editMessageText, answerCallbackQuery. HTML messages are checked as Telegram checks them (only
its tags, balanced, only its four entities), so a reply with unescaped user text fails here as it would
there. Tests play the user with `user_sends` / `user_presses` and read what the bot sent with
`messages_to`.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import httpx

from backend.sandbox.serving import LocalHttpServer
from tests.telegram_server.protocol import (
    ApiError,
    check_text,
    int_param,
    is_true,
    params_of,
    parse_markup,
    public_message,
)

BOT_ID = 7_000_000_001
DEFAULT_TOKEN = f"{BOT_ID}:AAH-test-token_for-the-local-bot-api"
MAX_POLL_SECONDS = 50.0  # as Telegram; tests pass small timeouts


@dataclass(frozen=True)
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None


@dataclass
class WebhookDelivery:
    update_id: int
    status: int | None  # None: the receiver could not be reached
    secret_token: str | None


class TelegramServer(LocalHttpServer):
    """The Bot API on 127.0.0.1 in a thread: `start()`/`stop()` or a context manager. Hooks are thread-safe.

    Private chats only: a chat's id is its user's id, as in Telegram.
    """

    thread_name = "telegram-server"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        username: str = "maxxit_test_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_client: httpx.Client | None = None,
    ) -> None:
        """`webhook_client`: what posts updates to a set webhook (a FastAPI TestClient reaches an app that
        listens on no port); default, a plain httpx client."""
        self.token = token
        self.username = username
        self.webhook_client = webhook_client
        super().__init__(host, port)
        self._lock = threading.Condition()
        self._update_ids = itertools.count(500_000_001)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(9_000_001)
        self._updates: list[dict[str, Any]] = []  # not yet confirmed by an offset
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, message id) -> the bot's message
        self._chats: dict[int, dict[str, Any]] = {}  # chats that talked to the bot
        self._blocked: set[int] = set()
        self._faults: deque[_Fault] = deque()
        self._webhook: dict[str, Any] | None = None
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every authorised call: method, params
        self.callback_answers: list[dict[str, Any]] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.unauthorized = 0  # calls with a wrong token

    # -- lifecycle ------------------------------------------------------------------------------------

    def stop(self) -> None:
        if self._httpd is not None:
            with self._lock:
                self._lock.notify_all()  # long polls end now
        super().stop()

    # -- the user's side ------------------------------------------------------------------------------

    def user_sends(
        self, chat_id: int, text: str, *, username: str | None = None, first_name: str = "Trader"
    ) -> dict[str, Any]:
        """The user writes `text` to the bot in their private chat; returns the update."""
        with self._lock:
            sender = self._remember_chat(chat_id, username, first_name)
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "from": sender,
                "chat": {**self._chats[chat_id]},
                "date": int(time.time()),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            update = {"update_id": next(self._update_ids), "message": message}
        self._publish(update)
        return update

    def user_presses(
        self, chat_id: int, message_id: int, data: str, *, username: str | None = None
    ) -> dict[str, Any]:
        """The user presses an inline button carrying `data` under the bot's message; returns the update.

        The data is whatever the test says, so a test can forge a button the bot never made.
        """
        with self._lock:
            sender = self._remember_chat(chat_id, username, "Trader")
            message = self._messages.get((chat_id, message_id))
            bare = {"message_id": message_id, "chat": {**self._chats[chat_id]}, "date": int(time.time())}
            shown = copy.deepcopy(message) if message else bare
            query = {
                "id": str(next(self._callback_ids)),
                "from": sender,
                "message": shown,
                "chat_instance": f"ci{chat_id}",
                "data": data,
            }
            update = {"update_id": next(self._update_ids), "callback_query": query}
        self._publish(update)
        return update

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every later send to that chat is 403."""
        with self._lock:
            self._blocked.add(chat_id)

    # -- what the bot did -----------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in that chat as they stand now (edits applied), oldest first."""
        with self._lock:
            found = [m for (chat, _), m in self._messages.items() if chat == chat_id]
            return copy.deepcopy(sorted(found, key=lambda m: m["message_id"]))

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.messages_to(chat_id)]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(p) for m, p in self.calls if m == method]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def webhook(self) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._webhook)

    def fail_next(
        self,
        method: str = "sendMessage",
        *,
        status: int = 429,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` with this error: 429 (with `retry_after`, default 3),
        403 ("bot was blocked by the user"), or any other status and description."""
        if status == 429 and retry_after is None:
            retry_after = 3
        default = {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }.get(status, "Internal Server Error")
        with self._lock:
            self._faults.extend(
                _Fault(method, status, description or default, retry_after) for _ in range(count)
            )

    # -- internals ------------------------------------------------------------------------------------

    def _remember_chat(self, chat_id: int, username: str | None, first_name: str) -> dict[str, Any]:
        sender: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if username:
            sender["username"] = username
        self._chats[chat_id] = {"id": chat_id, "type": "private", "first_name": first_name,
                                **({"username": username} if username else {})}  # fmt: skip
        return sender

    def _publish(self, update: dict[str, Any]) -> None:
        with self._lock:
            webhook = copy.deepcopy(self._webhook)
            if webhook is None:
                self._updates.append(update)
                self._lock.notify_all()
                return
        self._deliver(webhook, update)

    def _deliver(self, webhook: dict[str, Any], update: dict[str, Any]) -> None:
        """POST the update to the webhook, as Telegram does (synchronously here, so tests need no wait)."""
        headers = {"Content-Type": "application/json"}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        client = self.webhook_client or httpx.Client(timeout=30)
        try:
            response = client.post(webhook["url"], content=json.dumps(update), headers=headers)
            status: int | None = response.status_code
        except httpx.HTTPError:
            status = None
        finally:
            if self.webhook_client is None:
                client.close()
        with self._lock:
            self.webhook_deliveries.append(
                WebhookDelivery(update["update_id"], status, webhook.get("secret_token"))
            )
            if status is None or not 200 <= status < 300:
                self._updates.append(update)  # kept; Telegram retries it (here: after deleteWebhook, polled)

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method:
                self._faults.remove(fault)
                return fault
        return None

    def call(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Serve one Bot API call: the HTTP status and the JSON body."""
        if token != self.token:
            with self._lock:
                self.unauthorized += 1
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        with self._lock:
            self.calls.append((method, copy.deepcopy(params)))
            fault = self._take_fault(method)
        try:
            if fault is not None:
                raise ApiError(fault.status, fault.description, fault.retry_after)
            return 200, {"ok": True, "result": handler(params)}
        except ApiError as e:
            body: dict[str, Any] = {"ok": False, "error_code": e.status, "description": e.description}
            if e.retry_after is not None:
                body["parameters"] = {"retry_after": e.retry_after}
            return e.status, body

    # -- methods --------------------------------------------------------------------------------------

    def _bot(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Maxxit", "username": self.username}

    def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self._bot(), "can_join_groups": False, "supports_inline_queries": False}

    def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int_param(params, "offset", 0)
        limit = max(1, min(100, int_param(params, "limit", 100)))
        timeout = max(0.0, min(MAX_POLL_SECONDS, float(params.get("timeout") or 0)))
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")  # fmt: skip
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and self._httpd is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return copy.deepcopy(self._updates[:limit])

    def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._m_deletewebhook(params)
        if not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            self._webhook = {"url": url, "secret_token": params.get("secret_token") or None,
                             "max_connections": params.get("max_connections")}  # fmt: skip
            if is_true(params.get("drop_pending_updates")):
                self._updates = []
            waiting, self._updates = self._updates, []
            webhook = copy.deepcopy(self._webhook)
        for update in waiting:  # what was queued goes to the webhook now
            self._deliver(webhook, update)
        return True

    def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._webhook = None
            if is_true(params.get("drop_pending_updates")):
                self._updates = []
        return True

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int_param(params, "chat_id", 0)
        text, parse_mode, markup = _message_params(params)
        with self._lock:
            if chat_id not in self._chats:
                raise ApiError(400, "Bad Request: chat not found")
            if chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "from": self._bot(),
                "chat": {**self._chats[chat_id]},
                "date": int(time.time()),
                "text": text,
                "parse_mode": parse_mode,
                "edits": 0,
            }
            if markup is not None:
                message["reply_markup"] = markup
            self._messages[(chat_id, message["message_id"])] = message
            return public_message(message)

    def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int_param(params, "chat_id", 0)
        message_id = int_param(params, "message_id", 0)
        text, parse_mode, markup = _message_params(params)
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if message["text"] == text and message.get("reply_markup") == markup:
                raise ApiError(400, "Bad Request: message is not modified")
            message.update(text=text, parse_mode=parse_mode, edits=message["edits"] + 1)
            message.pop("reply_markup", None)
            if markup is not None:
                message["reply_markup"] = markup
            return public_message(message)

    def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if not query_id.isdigit() or int(query_id) >= next(self._callback_ids):
                raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID "
                                    "is invalid")  # fmt: skip
            self.callback_answers.append(copy.deepcopy(params))
        return True

    # -- HTTP -----------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, raw: bytes) -> None:
                parts = urlsplit(self.path)
                segments = parts.path.strip("/").split("/")
                if len(segments) != 2 or not segments[0].startswith("bot"):
                    status, body = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
                else:
                    params = params_of(parts.query, raw, self.headers.get("Content-Type", ""))
                    status, body = server.call(segments[0][3:], segments[1], params)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                self._serve(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _message_params(params: dict[str, Any]) -> tuple[str, Any, Any]:
    """sendMessage and editMessageText: the text (checked as Telegram checks it), parse mode and keyboard."""
    text = str(params.get("text") or "")
    parse_mode = params.get("parse_mode")
    check_text(text, parse_mode)
    return text, parse_mode, parse_markup(params.get("reply_markup"))
