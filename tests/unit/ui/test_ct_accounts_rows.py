"""Display rows of the CT accounts and posts admin pages, built from the services' plain data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from backend.signals.accounts import CtAccountAdmin
from backend.signals.posts import PostOut
from maxxit_ui.state.ct_accounts import account_row, posts_href
from maxxit_ui.state.posts import ALL_ACCOUNTS, account_filter, account_option, post_row

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _account(**changes: Any) -> CtAccountAdmin:
    values: dict[str, Any] = {
        "id": 7,
        "handle": "OrbitCaller",
        "display_name": "OrbitCaller",
        "status": "active",
        "followers_count": 1_234_567,
        "impact_factor": Decimal("0.4567"),
        "impact_calls": 12,
        "posts_count": 1200,
        "signal_posts_count": 31,
        "last_post_at": WHEN,
        "agents_following": 3,
        "created_at": WHEN,
    }
    return CtAccountAdmin(**(values | changes))


def _post(**changes: Any) -> PostOut:
    values: dict[str, Any] = {
        "id": 42,
        "ct_account_id": 7,
        "handle": "OrbitCaller",
        "source": "manual",
        "external_id": "manual-abc",
        "text": "$SOL breakout, longing here",
        "posted_at": WHEN,
        "ingested_at": WHEN,
        "is_signal": True,
        "token": "SOL",
        "side": "long",
        "confidence": Decimal("0.824"),
        "reasoning": "Names SOL with a long entry",
        "classifier": "rules-v1",
        "classified_at": WHEN,
        "signals_count": 2,
        "status": "signal",
    }
    return PostOut(**(values | changes))


def test_active_account_row():
    row = account_row(_account())
    assert row["handle"] == "@OrbitCaller" and row["display_name"] == "OrbitCaller"
    assert (row["status"], row["status_color"], row["is_active"]) == ("Active", "green", True)
    assert (row["followers"], row["posts"], row["signal_posts"], row["agents"]) == (
        "1,234,567",
        "1,200",
        "31",
        "3",
    )
    assert row["impact"] == "+0.46 · 12 calls"
    assert row["last_post"] == "2026-03-04 05:06 UTC"
    assert row["posts_href"] == "/admin/posts?account=7" == posts_href(7)


def test_impact_says_how_many_calls_it_rests_on():
    assert account_row(_account(impact_factor=Decimal("-0.2"), impact_calls=1))["impact"] == "-0.20 · 1 call"
    assert account_row(_account(impact_factor=Decimal("0"), impact_calls=0))["impact"] == "no calls yet"


def test_paused_account_without_posts_or_name():
    row = account_row(_account(status="paused", last_post_at=None, display_name="", posts_count=0))
    assert (row["status"], row["status_color"], row["is_active"]) == ("Paused", "amber", False)
    assert (row["last_post"], row["display_name"], row["posts"]) == ("no posts yet", "—", "0")


def test_signal_post_row():
    row = post_row(_post())
    assert (row["status_label"], row["status_color"]) == ("Signal", "green")
    assert (row["token"], row["side"], row["side_color"]) == ("SOL", "long", "green")
    assert row["confidence"] == "82%"
    assert (row["classifier"], row["signals"], row["source"]) == ("rules-v1", "2", "Manual")
    assert (row["handle"], row["account_href"], row["posted"]) == (
        "@OrbitCaller",
        "/admin/posts?account=7",
        "2026-03-04 05:06 UTC",
    )


def test_short_and_not_signal_and_pending_rows():
    short = post_row(_post(side="short", token="ETH"))
    assert (short["side"], short["side_color"]) == ("short", "red")

    noise = post_row(
        _post(
            is_signal=False,
            token=None,
            side=None,
            confidence=Decimal("0.1"),
            status="not_signal",
            signals_count=0,
        )
    )
    assert (noise["status_label"], noise["status_color"]) == ("Not a signal", "gray")
    assert (noise["token"], noise["side"], noise["side_color"], noise["confidence"]) == (
        "—",
        "—",
        "gray",
        "10%",
    )

    pending = post_row(
        _post(
            is_signal=None,
            token=None,
            side=None,
            confidence=None,
            reasoning=None,
            classifier=None,
            classified_at=None,
            status="pending",
            signals_count=0,
        )
    )
    assert (pending["status_label"], pending["status_color"]) == ("Classifying…", "amber")
    assert (pending["confidence"], pending["classifier"], pending["reasoning"]) == ("—", "—", "—")


def test_account_options_name_paused_accounts():
    assert account_option(_account()) == {"id": "7", "label": "@OrbitCaller"}
    assert account_option(_account(status="paused"))["label"] == "@OrbitCaller (paused)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", "7"),
        (" 12 ", "12"),
        ("007", "7"),
        (None, ALL_ACCOUNTS),
        ("", ALL_ACCOUNTS),
        ("all", ALL_ACCOUNTS),
    ]
    + [(bad, ALL_ACCOUNTS) for bad in ("0", "-3", "7;drop", "1e3", str(2**31), "٣")],
)
def test_account_filter_from_the_query_string(value, expected):
    assert account_filter(value) == expected
