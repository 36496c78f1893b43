"""In Chromium against the running app: wallet sign-in, the agent builder, ownership, and the admin pages.

Each wallet is a fresh eth_account key behind an injected EIP-1193 provider (tests/e2e/wallet.py), so every
sign-in goes through the real button, the real SIWE message and the server's signature check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.wallet import BrowserWallet, context_with_wallet

pytestmark = pytest.mark.e2e


@pytest.fixture
def new_context(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Any]:
    """Open browser contexts (each its own cookie jar), optionally with a wallet; all closed afterwards."""
    opened: list[BrowserContext] = []

    def open_context(wallet: BrowserWallet | None = None) -> BrowserContext:
        if wallet is None:
            context = browser.new_context(**browser_context_args)
        else:
            context = context_with_wallet(browser, wallet, **browser_context_args)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


def sign_in(page: Page, app_url: str, wallet: BrowserWallet, path: str = "/marketplace") -> None:
    page.goto(f"{app_url}{path}")
    button = page.locator("#connect-wallet")
    expect(button).to_have_text("Connect wallet")
    button.click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def test_without_a_wallet_the_button_says_so(new_context, app_url: str) -> None:
    page = new_context().new_page()
    page.goto(f"{app_url}/marketplace")
    button = page.locator("#connect-wallet")
    expect(button).to_contain_text("No wallet found — install MetaMask or Rabby")
    button.click()
    expect(page.locator("[data-sonner-toast]").first).to_contain_text("No wallet found")
    expect(page.locator("#account-menu")).to_have_count(0)


def test_sign_in_with_the_wallet_button(new_context, app_url: str) -> None:
    wallet = BrowserWallet()
    page = new_context(wallet).new_page()

    # A rejected signature says why and signs nobody in.
    page.goto(f"{app_url}/marketplace")
    wallet.reject_next = True
    page.locator("#connect-wallet").click()
    expect(page.locator("[data-sonner-toast]").first).to_contain_text(
        "Signature request rejected in your wallet"
    )
    expect(page.locator("#connect-wallet")).to_have_text("Connect wallet")

    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)
    assert wallet.signed and "wants you to sign in with your Ethereum account" in wallet.signed[-1]

    # The session survives a reload (cookie), and signing out ends it.
    page.reload()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)
    page.locator("#account-menu").click()
    page.locator("#menu-sign-out").click()
    expect(page.locator("#connect-wallet")).to_have_text("Connect wallet")
    page.goto(f"{app_url}/marketplace")
    expect(page.locator("#connect-wallet")).to_have_text("Connect wallet")
