"""Fixtures for the local Telegram Bot API server. Registered for the whole suite from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.telegram_server.server import TelegramServer


@pytest.fixture
def telegram_server() -> Iterator[TelegramServer]:
    """A fresh Bot API server on a free port (bot `@maxxit_test_bot`), stopped after the test."""
    with TelegramServer() as server:
        yield server
