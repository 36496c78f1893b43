"""The emails' content without a server: the digest's cap and grouping, the verification email, what an
address may look like."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.config import Settings
from backend.notify.email import compose
from backend.notify.email.addresses import normalize_address
from backend.notify.email.errors import EmailError
from backend.notify.events import EventType

SETTINGS = Settings(public_url="https://maxxit.example", smtp_from="Maxxit <alerts@maxxit.example>")
T0 = datetime(2026, 12, 6, 8, tzinfo=UTC)


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_a_long_day_is_capped_with_how_many_more_and_a_link():
    items = [
        compose.DigestItem(
            EventType.DEPLOYMENT_PAUSED,
            {"agent_name": f"agent{n}", "deployment_id": n},
            T0 + timedelta(minutes=n),
        )
        for n in range(compose.DIGEST_MAX_ITEMS + 7)
    ]
    message = compose.digest_email(SETTINGS, "me@example.com", items)
    assert message["Subject"] == f"Your Maxxit day: {compose.DIGEST_MAX_ITEMS + 7} events"
    text, html = _text(message), _html(message)
    assert "and 7 more: https://maxxit.example/notifications" in text
    assert 'and 7 more: <a href="https://maxxit.example/notifications">' in html
    newest, oldest_shown = f"agent{compose.DIGEST_MAX_ITEMS + 6}\n", "agent7\n"
    assert text.index(newest) < text.index(oldest_shown)
    assert "agent6\n" not in text and "agent0\n" not in text  # the oldest are the ones left out
    assert (
        "https://maxxit.example/settings/notifications" in text
        and "https://maxxit.example/settings/notifications" in html
    )


def test_the_verification_email_carries_the_link_in_both_parts_and_no_preferences_footer():
    message = compose.verification_email(SETTINGS, "me@example.com", "tok-123", 48)
    url = "https://maxxit.example/settings/notifications/verify-email?token=tok-123"
    assert message["To"] == "me@example.com"
    assert message["From"] == "Maxxit <alerts@maxxit.example>"
    assert message["Message-ID"].endswith("@maxxit.example>")
    assert url in _text(message) and f'href="{url}"' in _html(message)
    assert "48 hours" in _text(message)


def test_an_unknown_event_type_still_renders_escaped():
    message = compose.event_email(SETTINGS, "me@example.com", "future.type", {"note": "<b>hi</b>"})
    assert message["Subject"] == "future.type"
    assert "&lt;b&gt;hi&lt;/b&gt;" in _html(message) and "<b>hi</b>" in _text(message)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Me@Example.COM", "Me@example.com"),
        ("  first.last+tag@mail.example.co.uk ", "first.last+tag@mail.example.co.uk"),
        ("o'neil@example.ie", "o'neil@example.ie"),
    ],
)
def test_ordinary_addresses_are_accepted(given, stored):
    assert normalize_address(given) == stored


@pytest.mark.parametrize(
    "bad",
    [
        "a@b.c\r\nBcc: x@y.z",
        "a@b",
        "a@.com",
        "a@b..com",
        "a.@b.com",
        "@b.com",
        "a@b.123",
        "a\t@b.com",
        "é@b.com",
    ],
)
def test_odd_addresses_are_refused(bad):
    with pytest.raises(EmailError):
        normalize_address(bad)
