"""A real SMTP server for tests (aiosmtpd on a free local port) that keeps what it receives, parsed.

`smtp_server` is a pytest fixture (this module is a plugin listed in tests/conftest.py). Point settings at
it with `smtp_server.settings(...)` (STARTTLS off: the server speaks plain SMTP). Refuse a recipient with
`smtp_server.refuse[address] = "550 5.1.1 no such user"` (or a 4xx for a temporary refusal). Make it stall:
`smtp_server.hold()` keeps every message at DATA (unanswered) until `smtp_server.release()`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from backend.config import Settings


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        """The text of the `text/<subtype>` part ("plain" or "html")."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_subtype() == subtype, f"no text/{subtype} part"
        return body.get_content()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        refusal = self._server.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        gate = self._server.gate
        if gate is not None:
            self._server.held.set()
            await asyncio.get_running_loop().run_in_executor(None, gate.wait, 120)
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._server.lock:
            self._server.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.gate: threading.Event | None = None  # set: messages wait at DATA until it opens
        self.held = threading.Event()  # a message is waiting at the gate
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self.release()
        self._controller.stop()

    def hold(self) -> None:
        """Stall: answer no DATA until `release` (the client sees a server that hangs)."""
        self.held.clear()
        self.gate = threading.Event()

    def release(self) -> None:
        if self.gate is not None:
            self.gate.set()

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_starttls": False,
            "smtp_from": "Maxxit <alerts@maxxit.test>",
            "public_url": "http://maxxit.test",
        }
        return Settings(**{**values, **overrides})

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.received() if address in m.rcpt_tos]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
