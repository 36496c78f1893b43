"""In Chromium against the running app: an operator refreshes the venues and reads what changed, on a phone.

Offline, as here, Hyperliquid cannot be reached: the page says so for that venue and still writes the paper
venue's markets. One backend (SQLite) only: the refresh's storage is tested on both in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from backend.audit import Action
from backend.auth.users import create_admin
from backend.db import session_scope
from backend.models import AuditLog
from backend.prices.markets import MARKETS
from tests.e2e.conftest import Seeded, _database, _seed
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with _database("sqlite", tmp_path_factory) as url:
        yield _seed(url)


@pytest.fixture
def admin_page(browser: Browser, browser_context_args: dict, app_url: str) -> Iterator[Page]:
    admin = BrowserWallet()
    with session_scope() as session:
        create_admin(session, admin.address)
    context = context_with_wallet(browser, admin, **{**browser_context_args, "viewport": PHONE})
    page = context.new_page()
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(admin.short_address)
    yield page
    context.close()


def test_admin_refreshes_venues_and_sees_what_changed_at_390px(admin_page: Page, app_url: str) -> None:
    page = admin_page
    page.locator("#account-menu").click()
    page.locator("#menu-admin-venues").click()
    expect(page.locator("#venue-markets-empty")).to_be_visible()

    page.locator("#refresh-venues").click()
    paper = page.locator("#refresh-PAPER")
    expect(paper).to_contain_text(f"{len(MARKETS)} listed, {len(MARKETS)} active · {len(MARKETS)} added")
    expect(page.locator("#refresh-HYPERLIQUID")).to_contain_text("Unreachable")
    expect(page.locator("#market-PAPER-BTC")).to_contain_text("Bitcoin")
    expect(page.locator(".market-row")).to_have_count(len(MARKETS))
    # The page fits a phone: the wide table scrolls inside its card, the page itself does not.
    assert fit(page).fits

    page.locator("#refresh-venues").click()  # again: nothing new
    expect(paper).to_contain_text("No changes.")
    with session_scope() as session:
        audited = session.exec(select(AuditLog).where(AuditLog.action == Action.VENUES_REFRESHED)).all()
    assert len(audited) == 2  # an admin asked, both times: audited with the unreachable venue's error
