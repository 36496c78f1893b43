"""Every event type renders as a titled message with its figures; money and sizes read as a trader expects."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.notify.events import CONFIGURABLE, DEFAULTS, DESCRIPTIONS, EventType, jsonable
from backend.notify.render import plain, render, usd


def test_a_close_shows_market_side_size_prices_pnl_fees_and_reason() -> None:
    message = render(
        EventType.POSITION_CLOSED,
        {
            "market": "ETH",
            "side": "LONG",
            "size": "0.5000000000",
            "entry_price": "2000.0000000000",
            "exit_price": "2100.5",
            "realized_pnl": "49.75",
            "fees": "0.5",
            "reason": "TRAILING_STOP",
            "agent_name": "Momentum",
        },
    )
    assert message.title == "Closed ETH long: +$49.75"
    assert dict(message.lines) == {
        "Market": "ETH long",
        "Size": "0.5 ETH",
        "Entry": "2000",
        "Exit": "2100.5",
        "PnL": "+$49.75",
        "Fees": "$0.50",
        "Reason": "trailing stop",
        "Agent": "Momentum",
    }
    assert message.path == "/dashboard"


def test_a_losing_close_is_signed_negative() -> None:
    message = render(EventType.POSITION_CLOSED, {"market": "BTC", "side": "SHORT", "realized_pnl": "-3.104"})
    assert message.title == "Closed BTC short: -$3.10"


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_type_renders_without_its_optional_fields(event_type: EventType) -> None:
    message = render(event_type, {})
    assert message.title and message.path.startswith("/")


def test_an_unknown_type_still_renders_its_fields() -> None:
    message = render("something.new", {"a": 1})
    assert message.title == "something.new" and message.lines == (("a", "1"),)


def test_formatters() -> None:
    assert usd("1234.5") == "$1,234.50"
    assert usd("-2") == "-$2.00"
    assert usd("0", signed=True) == "+$0.00"
    assert usd("n/a") == "n/a"
    assert plain("100000.0000") == "100000"
    assert plain("0.0012300") == "0.00123"


def test_every_configurable_type_has_defaults_and_words() -> None:
    assert set(CONFIGURABLE) == set(DESCRIPTIONS)
    assert set(DEFAULTS) == set(EventType)
    assert EventType.WEBHOOK_TEST not in CONFIGURABLE


def test_payloads_become_exact_json() -> None:
    from datetime import UTC, datetime

    from backend.models.enums import Side

    assert jsonable({"pnl": Decimal("1.10"), "at": datetime(2026, 12, 6, tzinfo=UTC), "side": Side.LONG}) == {
        "pnl": "1.10",
        "at": "2026-12-06T00:00:00+00:00",
        "side": "long",
    }
