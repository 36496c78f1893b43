"""In Chromium against the running app: the header's bell, the inbox and the notification settings page.

The backend parts run for real in the test process against the app's database: a position is closed
through backend.monitor.close.record_close (which writes `position.closed` into the outbox), the consumer
runs once (backend.notify.dispatch.run_once) and the bell, polling, shows the new count without a reload.
Telegram linking goes through the local Bot API server (tests/telegram_server): the page shows the code, the
server plays the user sending `/start <code>`, the bot's poller handles it, and the page shows the chat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.config import get_settings
from backend.db import get_engine, session_scope
from backend.models.enums import CloseReason
from backend.monitor.close import record_close
from backend.notify import dispatch
from backend.notify.senders import build_senders
from backend.trading.fees import FeePolicy
from tests.e2e.conftest import Seeded, _database, _seed
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory
from tests.smtp_server import SmtpServer
from tests.telegram_server import TelegramServer
from tests.telegram_support import Bot

pytestmark = pytest.mark.e2e

BELL_WAIT_MS = 30_000  # the bell's timer ticks every 10 s


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """SQLite only: the consumer, preferences and channels run on both databases in tests/integration."""
    with _database("sqlite", tmp_path_factory) as url:
        yield _seed(url)


@pytest.fixture(scope="module")
def tg_server() -> Iterator[TelegramServer]:
    with TelegramServer() as server:
        yield server


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app_url_env(tg_server: TelegramServer, smtp: SmtpServer) -> Iterator[None]:
    """The app's bot is the local Bot API server, its mail goes to the local SMTP server (set before
    conftest's app starts)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TELEGRAM_BOT_TOKEN", tg_server.token)
        mp.setenv("TELEGRAM_API_BASE_URL", tg_server.url)
        mp.setenv("TELEGRAM_BOT_USERNAME", tg_server.username)
        mp.setenv("SMTP_HOST", "127.0.0.1")
        mp.setenv("SMTP_PORT", str(smtp.port))
        mp.setenv("SMTP_STARTTLS", "false")
        mp.setenv("SMTP_FROM", "Maxxit <alerts@maxxit.test>")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def app_url(app_url_env: None, app_url: str) -> str:
    """conftest's app, started once Telegram is configured."""
    assert get_settings().telegram_api_base_url.startswith("http://127.0.0.1")
    return app_url


@pytest.fixture
def new_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Callable[..., Page]]:
    opened: list[BrowserContext] = []

    def open_page(wallet: BrowserWallet, **overrides: Any) -> Page:
        context = context_with_wallet(browser, wallet, **{**browser_context_args, **overrides})
        opened.append(context)
        return context.new_page()

    yield open_page
    for context in opened:
        context.close()


def sign_in(page: Page, app_url: str, wallet: BrowserWallet) -> None:
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def trader_with_open_positions(wallet: BrowserWallet, *markets: str) -> list[int]:
    """The wallet's user with a paper deployment and an open 1-unit long per market, entered at 3000."""
    with session_scope() as session:
        f = Factory(session)
        trader = f.user(address=wallet.address.lower())
        deployment = f.paper_deployment(f.agent(name="Bell Momentum"), trader)
        return [f.open_position(deployment, market).id for market in markets]


def close(position_id: int, exit_price: int) -> None:
    """The monitor's close, in the test process against the app's database; it writes `position.closed`."""
    with session_scope() as session:
        record_close(
            session, position_id, Decimal(exit_price), Decimal(0), CloseReason.TAKE_PROFIT, FeePolicy()
        )


def consume_once() -> dispatch.DispatchReport:
    """What the Huey consumer does when woken: fan out every waiting event and send it."""
    settings = get_settings()
    return dispatch.run_once(get_engine(), build_senders(settings, None))


def open_settings(page: Page) -> None:
    page.locator("#account-menu").click()
    page.locator("#menu-notification-settings").click()
    expect(page).to_have_url(re.compile(r"/settings/notifications/?$"))
    expect(page.locator("#preferences")).to_be_visible()


def signed_in_on_settings(
    new_page: Callable[..., Page], app_url: str, wallet: BrowserWallet, **page_args: Any
) -> Page:
    """A new user for `wallet`, its browser signed in and on the notification settings page."""
    with session_scope() as session:
        Factory(session).user(address=wallet.address.lower())
    page = new_page(wallet, **page_args)
    sign_in(page, app_url, wallet)
    open_settings(page)
    return page


def test_the_bell_counts_a_closed_position_and_the_inbox_marks_it_read(
    new_page, app_url: str, seeded: Seeded
) -> None:
    wallet = BrowserWallet()
    eth, sol = trader_with_open_positions(wallet, "ETH", "SOL")
    page = new_page(wallet)
    sign_in(page, app_url, wallet)
    bell, count = page.locator("#nav-bell"), page.locator("#bell-count")
    expect(bell).to_be_visible()
    expect(count).to_have_count(0)  # nothing unread: no badge

    # The position closes in the backend; the consumer delivers the event to the inbox.
    close(eth, 3100)
    assert consume_once().fanned_out >= 1
    # The bell's timer picks it up: no reload.
    expect(count).to_have_text("1", timeout=BELL_WAIT_MS)
    close(sol, 2900)
    consume_once()
    expect(count).to_have_text("2", timeout=BELL_WAIT_MS)

    bell.click()
    expect(page).to_have_url(re.compile(r"/notifications/?$"))
    items = page.locator(".inbox-item")
    expect(items).to_have_count(2)
    newest, oldest = items.nth(0), items.nth(1)
    expect(newest).to_contain_text("Closed SOL long: -$100.00")
    expect(oldest).to_contain_text("Closed ETH long: +$100.00")  # 1 ETH from 3000 to 3100, no fees
    expect(oldest).to_contain_text("PnL: +$100.00")
    expect(newest).to_have_attribute("data-unread", "true")
    expect(oldest).to_have_attribute("data-unread", "true")

    # Clicking one marks it read and opens where it points.
    newest.click()
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    expect(count).to_have_text("1")
    bell.click()
    expect(items).to_have_count(2)
    expect(newest).to_have_attribute("data-unread", "false")
    expect(oldest).to_have_attribute("data-unread", "true")

    # Mark all read: the items and the bell follow at once.
    page.locator("#inbox-mark-all").click()
    expect(oldest).to_have_attribute("data-unread", "false")
    expect(count).to_have_count(0)

    # On a phone the header still fits, with the bell a thumb can hit.
    page.set_viewport_size(PHONE)
    expect(bell).to_be_visible()
    box = bell.bounding_box()
    assert box is not None and box["width"] >= 40 and box["height"] >= 40
    assert fit(page).fits


def test_adding_a_webhook_shows_its_secret_once(new_page, app_url: str, seeded: Seeded) -> None:
    wallet = BrowserWallet()
    page = signed_in_on_settings(new_page, app_url, wallet, viewport=PHONE)
    expect(page.locator("#pref-position\\.closed-in_app")).to_have_attribute("data-checked", "true")
    # Every open is off in the app by default; a flip is saved at once.
    opened = page.locator("#pref-position\\.opened-in_app")
    expect(opened).to_have_attribute("data-checked", "false")
    opened.click()
    expect(opened).to_have_attribute("data-checked", "true")
    # The grid fits the phone: nothing scrolls sideways, even inside its card.
    grid_box = "document.getElementById('preferences').parentElement"
    assert page.evaluate(f"{grid_box}.scrollWidth <= {grid_box}.clientWidth")

    # Bad input stays beside its field.
    page.locator("#webhook-add").click()
    expect(page.locator("#webhook-url-error")).to_be_visible()

    page.locator("#webhook-url").fill("http://127.0.0.1:9/hook")
    page.locator("#webhook-event-position\\.closed").click()
    page.locator("#webhook-add").click()
    secret = page.locator("#webhook-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_[A-Za-z0-9+/=]{20,}$"))
    shown = secret.inner_text()
    assert fit(page).fits

    page.locator("#webhook-secret-done").click()
    expect(page.locator("#webhook-secret-dialog")).to_have_count(0)
    expect(page.locator(".webhook-endpoint")).to_have_count(1)
    expect(page.locator(".webhook-endpoint")).to_contain_text("http://127.0.0.1:9/hook")
    # Gone from the page, and it never comes back (a reload reads the list only).
    assert shown not in page.content()
    page.reload()
    expect(page.locator(".webhook-endpoint")).to_have_count(1)
    expect(opened).to_have_attribute("data-checked", "true")  # the preference was stored
    assert shown not in page.content()
    assert fit(page).fits

    # Rotating asks first, then shows the new secret once, the same way.
    endpoint = page.locator(".webhook-endpoint")
    endpoint.get_by_role("button", name="Rotate secret").click()
    page.locator("#webhook-rotate-confirm").click()
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    assert secret.inner_text() != shown
    page.locator("#webhook-secret-done").click()
    expect(page.locator("#webhook-secret-dialog")).to_have_count(0)

    # A test send shows in the endpoint's delivery log, waiting for the consumer.
    endpoint.get_by_role("button", name="Send test").click()
    endpoint.get_by_role("button", name="Delivery log").click()
    attempts = page.locator(".webhook-attempt")
    expect(attempts).to_have_count(1)
    expect(attempts.first).to_contain_text("webhook.test")
    assert fit(page).fits


def test_editing_a_webhooks_url_events_and_state_on_a_phone(new_page, app_url: str, seeded: Seeded) -> None:
    wallet = BrowserWallet()
    page = signed_in_on_settings(new_page, app_url, wallet, viewport=PHONE)
    # A new endpoint starts from the default events: opens unticked.
    expect(page.locator("#webhook-event-position\\.opened")).to_have_attribute("data-state", "unchecked")
    expect(page.locator("#webhook-event-position\\.closed")).to_have_attribute("data-state", "checked")
    page.locator("#webhook-url").fill("http://127.0.0.1:9/hook")
    page.locator("#webhook-add").click()
    page.locator("#webhook-secret-done").click()
    endpoint = page.locator(".webhook-endpoint")
    expect(endpoint).to_have_count(1)
    expect(endpoint).not_to_contain_text("position.opened")

    endpoint.get_by_role("button", name="Edit").click()
    form = page.locator("#webhook-edit-form")
    expect(page.locator("#webhook-edit-url")).to_have_value("http://127.0.0.1:9/hook")
    # A refusal stays beside its field and saves nothing.
    page.locator("#webhook-edit-url").fill("http://127.0.0.1:99999/hook")
    page.locator("#webhook-edit-save").click()
    expect(page.locator("#webhook-edit-url-error")).to_contain_text("port")
    assert fit(page).fits

    page.locator("#webhook-edit-url").fill("http://127.0.0.1:10/hook")
    expect(page.locator("#webhook-edit-url-error")).to_have_count(0)
    page.locator("#webhook-edit-event-position\\.opened").click()
    page.locator("#webhook-edit-enabled").click()
    page.locator("#webhook-edit-save").click()
    expect(form).to_have_count(0)
    expect(endpoint).to_contain_text("http://127.0.0.1:10/hook")
    expect(endpoint).to_contain_text("position.opened")
    expect(endpoint.locator("[id^=webhook-status-]")).to_contain_text("turned off by you")
    page.reload()  # stored, not just shown
    expect(page.locator(".webhook-endpoint")).to_contain_text("http://127.0.0.1:10/hook")
    expect(page.locator(".webhook-endpoint [id^=webhook-status-]")).to_contain_text("turned off by you")
    assert fit(page).fits


def test_linking_telegram_from_the_settings_page(
    new_page, app_url: str, seeded: Seeded, tg_server: TelegramServer
) -> None:
    wallet = BrowserWallet()
    page = signed_in_on_settings(new_page, app_url, wallet)
    expect(page.locator("#channel-telegram")).to_have_attribute("data-ready", "false")

    page.locator("#telegram-link-button").click()
    code = page.locator("#telegram-code")
    expect(code).to_have_text(re.compile(r"^[A-Za-z0-9_-]{8,}$"))
    shown = code.inner_text()
    expect(page.locator("#telegram-link")).to_have_attribute(
        "href", f"https://t.me/{tg_server.username}?start={shown}"
    )

    # The user opens the link and presses Start; the bot's poller (as the worker runs it) handles it.
    chat_id = 424_242_001
    bot = Bot(get_engine(), tg_server, get_settings())
    tg_server.user_sends(chat_id, f"/start {shown}", username="e2e_trader")
    assert bot.poll() == 1
    assert any("linked" in text.lower() for text in tg_server.texts_to(chat_id))

    # The page, waiting for the bot, shows the chat without a reload.
    expect(page.locator("#telegram-username")).to_have_text("@e2e_trader")
    expect(page.locator("#telegram-pending")).to_have_count(0)
    expect(page.locator("#channel-telegram")).to_have_attribute("data-ready", "true")

    # Unlink, after a confirmation.
    page.locator("#telegram-unlink").click()
    page.locator("#telegram-unlink-confirm").click()
    expect(page.locator("#telegram-link-button")).to_be_visible()


def test_an_email_address_is_verified_by_its_link(
    new_page, app_url: str, seeded: Seeded, smtp: SmtpServer
) -> None:
    wallet = BrowserWallet()
    page = signed_in_on_settings(new_page, app_url, wallet)
    address = f"e2e-{wallet.address[2:10].lower()}@example.com"

    field = page.locator("#email-address")
    field.fill("not an address")
    page.locator("#email-save").click()
    expect(page.locator("#email-error")).to_be_visible()

    field.fill(address)
    page.locator("#email-save").click()
    expect(page.locator("#email-note")).to_have_text(re.compile(f"Verification sent to {re.escape(address)}"))
    expect(page.locator("#channel-email")).to_have_attribute("data-ready", "false")
    mails = smtp.to(address)
    assert len(mails) == 1
    link = re.search(r"https?://\S+/settings/notifications/verify-email\?token=\S+", mails[0].part("plain"))
    assert link is not None and link.group(0).startswith(app_url)

    page.goto(link.group(0))
    expect(page.locator("#verify-email-ok")).to_be_visible()
    page.locator("#verify-email-back").click()
    expect(page.locator("#email-note")).to_have_text("Verified")
    expect(page.locator("#channel-email")).to_have_attribute("data-ready", "true")

    page.locator("#email-remove").click()
    expect(field).to_have_value("")
    expect(page.locator("#channel-email")).to_have_attribute("data-ready", "false")
