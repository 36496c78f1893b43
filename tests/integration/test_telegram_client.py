"""The Bot API client against the local Bot API server: calls, Telegram's refusals, and the token never
showing up in a log line or an error."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from backend.notify.telegram.client import TelegramClient, TelegramError, redact
from backend.notify.telegram.format import alert_text, units
from tests.telegram_server import TelegramServer


@pytest.fixture
def client(telegram_server: TelegramServer) -> TelegramClient:
    return TelegramClient(telegram_server.url, telegram_server.token, timeout=5)


def test_get_me_and_a_message_round_trip(telegram_server: TelegramServer, client: TelegramClient) -> None:
    assert client.get_me().username == "maxxit_test_bot"
    telegram_server.user_sends(42, "hello", username="alice")
    sent = client.send_message(42, "<b>Hi</b> &amp; welcome", reply_markup={"inline_keyboard": [[
        {"text": "OK", "callback_data": "ok"}]]})  # fmt: skip
    assert sent["chat"]["id"] == 42
    [message] = telegram_server.messages_to(42)
    assert (message["text"], message["parse_mode"]) == ("<b>Hi</b> &amp; welcome", "HTML")
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
    client.edit_message_text(42, sent["message_id"], "Done")
    [edited] = telegram_server.messages_to(42)
    assert (edited["text"], edited["edits"], "reply_markup" in edited) == ("Done", 1, False)


def test_get_updates_offset_confirms_and_long_poll_waits(
    telegram_server: TelegramServer, client: TelegramClient
) -> None:
    first = telegram_server.user_sends(7, "/help")
    second = telegram_server.user_sends(7, "/status")
    ids = [u["update_id"] for u in client.get_updates()]
    assert ids == [first["update_id"], second["update_id"]]
    assert [u["update_id"] for u in client.get_updates(second["update_id"])] == [second["update_id"]]
    assert client.get_updates(second["update_id"] + 1) == []  # confirmed: gone

    def later() -> None:
        time.sleep(0.3)
        telegram_server.user_sends(7, "/pnl")

    threading.Thread(target=later).start()
    got = client.get_updates(second["update_id"] + 1, timeout=10)
    assert [u["message"]["text"] for u in got] == ["/pnl"]


def test_refusals_are_typed(telegram_server: TelegramServer, client: TelegramClient) -> None:
    with pytest.raises(TelegramError) as unknown_chat:
        client.send_message(999, "hi")
    assert (unknown_chat.value.status, unknown_chat.value.permanent) == (400, True)
    telegram_server.user_sends(5, "hi")
    telegram_server.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(TelegramError) as limited:
        client.send_message(5, "hi")
    assert (limited.value.status, limited.value.retry_after, limited.value.permanent) == (429, 7, False)
    telegram_server.block(5)
    with pytest.raises(TelegramError) as blocked:
        client.send_message(5, "hi")
    assert (blocked.value.status, blocked.value.permanent) == (403, True)
    assert "blocked" in blocked.value.description


def test_html_is_checked_as_telegram_checks_it(
    telegram_server: TelegramServer, client: TelegramClient
) -> None:
    telegram_server.user_sends(5, "hi")
    for bad in ("<script>x</script>", "a < b <c", "<b>open", "&nbsp;"):
        with pytest.raises(TelegramError, match="can't parse entities"):
            client.send_message(5, bad)
    with pytest.raises(TelegramError, match="too long"):
        client.send_message(5, "x" * 4097)


def test_alert_text_escapes_and_fits(telegram_server: TelegramServer, client: TelegramClient) -> None:
    telegram_server.user_sends(5, "hi")
    payload = {"market": "BTC", "side": "LONG", "size": "0.0100", "entry_price": "60000",
               "exit_price": "61000", "realized_pnl": "9.5", "fees": "0.5", "reason": "TAKE_PROFIT",
               "agent_name": "<Alpha & Omega>" + "x" * 5000}  # fmt: skip
    text = alert_text("position.closed", payload, "https://maxxit.example")
    assert "&lt;Alpha &amp; Omega&gt;" in text and units(text) <= 4096
    assert text.startswith("<b>Closed BTC long: +$9.50</b>")
    assert '<a href="https://maxxit.example/dashboard">' in text
    client.send_message(5, text)  # Telegram takes it


def test_wrong_token_is_401_and_the_token_is_in_no_log_or_error(
    telegram_server: TelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "123456:wrong-token-secret_part"
    with pytest.raises(TelegramError) as refused:
        TelegramClient(telegram_server.url, wrong, timeout=5).get_me()
    assert refused.value.status == 401 and telegram_server.unauthorized == 1
    good = TelegramClient(telegram_server.url, telegram_server.token, timeout=5)
    good.get_me()
    with pytest.raises(TelegramError) as unreachable:
        TelegramClient("http://127.0.0.1:9", telegram_server.token, timeout=2).get_me()
    secret = telegram_server.token.split(":", 1)[1]
    assert any("bot<redacted>/getMe" in r.getMessage() for r in caplog.records)  # httpx logged the call
    for text in [r.getMessage() for r in caplog.records] + [str(refused.value), str(unreachable.value),
                                                            repr(good), caplog.text]:  # fmt: skip
        assert secret not in text and "wrong-token-secret" not in text
    assert unreachable.value.__cause__ is None and unreachable.value.status is None


def test_redact() -> None:
    assert redact("POST https://api.telegram.org/bot123:AB-c_d/sendMessage") == (
        "POST https://api.telegram.org/bot<redacted>/sendMessage"
    )


def test_fit_drops_lines_then_falls_back_to_the_title() -> None:
    from backend.notify.telegram.format import fit

    text = fit(["<b>Title</b>"], [f"line {i} " + "x" * 100 for i in range(100)], ["<a href='u'>link</a>"])
    assert units(text) <= 4096 and "more" in text and text.endswith("<a href='u'>link</a>")
    assert fit(["<b>A &amp; B</b>"], [], ["y" * 5000]) == "A &amp; B"
