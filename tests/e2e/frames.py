"""Every websocket frame a page received and sent (Reflex state deltas and events), as text."""

from __future__ import annotations

from playwright.sync_api import Page, WebSocket


class Frames:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.sent: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("websocket", self._socket)

    def _socket(self, socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: self.received.append(_text(payload)))
        socket.on("framesent", lambda payload: self.sent.append(_text(payload)))

    def text(self) -> str:
        """The received frames (what the server told the page)."""
        return "\n".join(self.received)

    def all_text(self) -> str:
        return "\n".join(self.received + self.sent)


def _text(payload: str | bytes) -> str:
    return payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
