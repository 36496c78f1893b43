"""The Bot API's rules the local server enforces: parameters in any of Telegram's encodings, the HTML
subset (its tags only, nested, its four entities, no bare `<` or `&`), the text and callback-data limits."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
             "span", "blockquote", "tg-emoji"}  # fmt: skip
HTML_ENTITIES = {"lt", "gt", "amp", "quot"}


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


class _Html(HTMLParser):
    """Telegram's HTML check: known tags only, properly nested, the four entities; counts visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.length = 0
        self.error: str | None = None

    def _fail(self, message: str) -> None:
        self.error = self.error or message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            self._fail("Can't find end of the entity: link without href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail(f'Unmatched end tag "{tag}"')
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data:
            self._fail('Unexpected "<" or "&": escape them as &lt; and &amp;')
        self.length += len(data.encode("utf-16-le")) // 2

    def handle_entityref(self, name: str) -> None:
        if name not in HTML_ENTITIES:
            self._fail(f'Unsupported entity "&{name};"')
        self.length += 1

    def handle_charref(self, name: str) -> None:
        self.length += 1


def text_length(text: str, parse_mode: str | None) -> int:
    """The message's visible length in UTF-16 units (what Telegram limits); ApiError for bad HTML."""
    if (parse_mode or "").upper() != "HTML":
        return len(text.encode("utf-16-le")) // 2
    parser = _Html()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.stack:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    if parser.error is not None:
        raise ApiError(400, f"Bad Request: can't parse entities: {parser.error}")
    return parser.length


def params_of(query: str, raw: bytes, content_type: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query))
    if not raw:
        return params
    if "json" in content_type:
        try:
            body = json.loads(raw)
        except ValueError:
            return params
        if isinstance(body, dict):
            params.update(body)
        return params
    params.update(parse_qsl(raw.decode()))
    return params


def int_param(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name}") from None


def is_true(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def check_text(text: str, parse_mode: Any) -> None:
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if text_length(text, parse_mode) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")


def parse_markup(value: Any) -> dict[str, Any] | None:
    """An inline keyboard as an object (form posts send it as a JSON string), its callback data checked."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object") from None
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in value.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return value


def public_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the Bot API returns it (without the server's own bookkeeping)."""
    shown = {k: copy.deepcopy(v) for k, v in message.items() if k not in ("parse_mode", "edits")}
    return shown
