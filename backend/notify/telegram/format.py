"""Telegram's HTML for an alert and for command replies: escaped values, within the 4096-character limit.

Every value that came from a user or a venue (agent names, markets, a venue's refusal) goes through `esc`;
only the tags written here reach Telegram unescaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from backend.notify.render import render

MAX_CHARS = 4096  # Telegram's limit, in UTF-16 units of the visible text; we count the markup too
MAX_TITLE = 200
MAX_VALUE = 300


def esc(value: Any) -> str:
    return html.escape(str(value), quote=False)


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fit(head: Sequence[str], body: Sequence[str], tail: Sequence[str] = ()) -> str:
    """Lines joined, dropping body lines from the end (with a note) until the message fits."""
    kept = list(body)
    while True:
        dropped = len(body) - len(kept)
        note = [f"… {dropped} more"] if dropped else []
        text = "\n".join([*head, *kept, *note, *tail])
        if units(text) <= MAX_CHARS:
            return text
        if not kept:  # the head and tail alone are too long: the first line alone, cut as plain text
            first = html.unescape(re.sub(r"<[^>]*>", "", head[0])) if head else "…"
            return esc(_short(first, MAX_CHARS // 2))
        kept.pop()


def alert_text(event_type: str, payload: dict[str, Any], frontend_url: str) -> str:
    """An event as a Telegram message: the title in bold, `Label: value` lines, a link to the page."""
    message = render(event_type, payload)
    head = [f"<b>{esc(_short(message.title, MAX_TITLE))}</b>"]
    body = [f"{esc(label)}: {esc(_short(value, MAX_VALUE))}" for label, value in message.lines if value]
    url = frontend_url.rstrip("/") + message.path
    tail = [f'<a href="{html.escape(url, quote=True)}">Open in Maxxit</a>']
    return fit(head, body, tail)
