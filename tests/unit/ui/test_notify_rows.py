"""The notification pages' rows: what the inbox, the grid and the webhook log show."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.notify.inbox import InboxItem
from backend.notify.preferences import PreferenceRow
from backend.notify.webhooks.endpoints import AttemptOut, EndpointOut
from maxxit_ui.state import notify_rows as rows

AT = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)


def test_an_inbox_row_puts_the_figures_on_one_line_and_marks_unread() -> None:
    lines = (("Market", "ETH long"), ("PnL", "+$100.00"))
    item = InboxItem(7, "position.closed", "Closed ETH long: +$100.00", lines, "/dashboard", AT, None)
    row = rows.inbox_row(item)
    assert row == {
        "id": "7",
        "title": "Closed ETH long: +$100.00",
        "lines": "Market: ETH long · PnL: +$100.00",
        "path": "/dashboard",
        "time": "2026-12-06 18:30 UTC",
        "unread": True,
    }
    assert rows.inbox_row(InboxItem(8, "x", "t", (), "", AT, AT))["unread"] is False
    assert rows.inbox_row(InboxItem(8, "x", "t", (), "", AT, AT))["path"] == rows.NOTIFICATIONS_ROUTE


def test_a_preference_row_has_one_flag_per_channel() -> None:
    row = rows.preference_row(PreferenceRow("position.opened", "A position opened", {"webhook": True}))
    assert row == {
        "event_type": "position.opened",
        "description": "A position opened",
        "in_app": False,
        "telegram": False,
        "email": False,
        "webhook": True,
    }


def test_an_endpoint_row_says_why_it_is_disabled() -> None:
    endpoint = EndpointOut(
        3, "https://example.com/h", ["position.closed"], "", False, "10 failures in a row", AT
    )
    row = rows.endpoint_row(endpoint)
    assert row["status"] == "Disabled: 10 failures in a row"
    assert row["events"] == "position.closed" and row["enabled"] is False
    enabled = rows.endpoint_row(EndpointOut(4, "https://example.com/h", [], "mine", True, None, AT))
    assert enabled["status"] == "Enabled" and enabled["events"] == "the default events"
    assert row["event_types"] == ["position.closed"] and enabled["event_types"] == []


def test_a_log_row_shows_the_try_code_and_latency() -> None:
    failed = AttemptOut(9, "webhook.test", "webhook.test:9", 2, False, 500, "HTTP 500", 41, AT, "FAILED")
    row = rows.attempt_row(failed)
    assert (row["attempt"], row["code"], row["latency"], row["color"]) == ("try 2", "500", "41 ms", "red")
    waiting = rows.attempt_row(AttemptOut(9, "webhook.test", "k", 0, None, None, None, None, AT, "PENDING"))
    assert (waiting["attempt"], waiting["code"], waiting["color"], waiting["status"]) == (
        "not tried yet",
        "",
        "gray",
        "PENDING",
    )
