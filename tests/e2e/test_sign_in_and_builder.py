"""In Chromium against the running app: wallet sign-in, the agent builder, ownership, and the admin pages.

Each wallet is a fresh eth_account key behind an injected EIP-1193 provider (tests/e2e/wallet.py), so every
sign-in goes through the real button, the real SIWE message and the server's signature check.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from reflex.config import get_config
from sqlmodel import select

from backend.auth import service
from backend.auth.errors import NotAuthenticated
from backend.auth.users import create_admin
from backend.config import get_settings
from backend.db import session_scope
from backend.models import Agent, User
from tests.e2e.conftest import REPO_ROOT, Seeded
from tests.e2e.frames import Frames
from tests.e2e.phone import PHONE, overflowing
from tests.e2e.replay import replay_event
from tests.e2e.wallet import BrowserWallet, context_with_wallet

pytestmark = pytest.mark.e2e

# Reflex's name for MyAgentsState (not imported here: the harness imports the app afresh for each module).
MY_AGENTS_STATE = "reflex___state____state.maxxit_ui___state___my_agents____my_agents_state"


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
    expect(page).to_have_url(re.compile(rf"^{re.escape(app_url)}/?$"))  # signing out goes home
    expect(page.locator("#connect-wallet")).to_have_text("Connect wallet")
    page.goto(f"{app_url}/marketplace")
    expect(page.locator("#connect-wallet")).to_have_text("Connect wallet")


def _session_cookie(context: BrowserContext) -> dict[str, Any]:
    return next(c for c in context.cookies() if c["name"] == "maxxit_session")


def test_the_session_token_stays_in_an_http_only_cookie(new_context, app_url: str) -> None:
    started = time.time()
    wallet = BrowserWallet()
    context = new_context(wallet)
    page = context.new_page()
    frames = Frames()
    frames.watch(page)
    sign_in(page, app_url, wallet)
    page.goto(f"{app_url}/my-agents")
    expect(page.locator("#my-agents-empty")).to_be_visible()

    cookie = _session_cookie(context)
    token = cookie["value"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert "maxxit_session" not in page.evaluate("document.cookie")
    assert token not in page.evaluate("document.cookie")
    assert frames.received and frames.sent
    assert token not in frames.all_text()
    assert token.split(".")[0] not in frames.all_text()

    # Reflex's state manager persists nothing with the token in it, and nothing anyone on the host can read.
    states = REPO_ROOT / ".states"
    fresh = [p for p in states.rglob("*") if p.is_file() and p.stat().st_mtime >= started - 1]
    for path in fresh:
        assert token.encode() not in path.read_bytes(), path
        assert path.stat().st_mode & 0o077 == 0, path

    # This tab's Reflex client token, replayed on a new connection without the cookie, is nobody: neither
    # to a script sending one event for that state, nor to a browser loading a page with it.
    client_token = page.evaluate("window.sessionStorage.getItem('token')")
    assert client_token
    page.close()
    backend_url = get_config().api_url
    seen = replay_event(
        backend_url,
        client_token,
        f"{MY_AGENTS_STATE}.load",
        "/my-agents",
        origin=app_url,
        until=lambda text: "_redirect" in text or '"status_rx_state_": "ready"' in text,
    )
    assert "/signin?next=/my-agents" in seen and wallet.address.lower() not in seen
    replay = new_context().new_page()
    replay.add_init_script(f"window.sessionStorage.setItem('token', {json.dumps(client_token)})")
    replay.goto(f"{app_url}/my-agents")
    assert replay.evaluate("window.sessionStorage.getItem('token')") == client_token
    expect(replay).to_have_url(re.compile(r"/signin/?\?next=/my-agents/?$"))
    expect(replay.locator("#account-menu")).to_have_count(0)


def test_sign_out_revokes_the_session_and_clears_the_cookie(new_context, app_url: str) -> None:
    wallet = BrowserWallet()
    context = new_context(wallet)
    page = context.new_page()
    sign_in(page, app_url, wallet)
    token = _session_cookie(context)["value"]
    page.locator("#account-menu").click()
    page.locator("#menu-sign-out").click()
    expect(page.locator("#connect-wallet")).to_have_text("Connect wallet")
    expect(page).to_have_url(re.compile(rf"^{re.escape(app_url)}/?$"))
    assert all(c["name"] != "maxxit_session" for c in context.cookies())
    with session_scope() as session, pytest.raises(NotAuthenticated, match="signed out"):
        service.authenticate(session, token, settings=get_settings())


def test_connect_waits_for_a_slow_wallet_bridge(new_context, app_url: str) -> None:
    """A click before /wallet.js has arrived still signs in once it does (a slow connection's case)."""
    wallet = BrowserWallet()
    context = new_context(wallet)
    held: list[Route] = []
    releasing = False

    def hold_the_first(route: Route) -> None:  # runs on this thread, inside Playwright calls
        if releasing:
            route.continue_()
        else:
            held.append(route)

    context.route("**/wallet.js", hold_the_first)
    page = context.new_page()
    with page.expect_request("**/wallet.js"):
        page.goto(f"{app_url}/marketplace", wait_until="commit")
    button = page.locator("#connect-wallet")
    expect(button).to_have_text("Connect wallet")
    assert page.evaluate("typeof window.maxxitWallet") == "undefined"
    button.click()
    expect(button).to_contain_text("Connecting…")
    releasing = True  # requests the handler sees from now on go straight through
    for route in held:
        route.continue_()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def test_protected_page_sends_to_sign_in_and_back(new_context, app_url: str) -> None:
    wallet = BrowserWallet()
    page = new_context(wallet).new_page()
    page.goto(f"{app_url}/my-agents")
    expect(page).to_have_url(re.compile(r"/signin/?\?next=/my-agents/?$"))
    page.locator("#signin-connect").click()
    expect(page).to_have_url(re.compile(r"/my-agents/?$"))
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)
    expect(page.locator("#my-agents-empty")).to_be_visible()

    # A crafted `next` never leaves the site.
    page.goto(f"{app_url}/signin?next=//evil.example/x")
    expect(page).to_have_url(re.compile(rf"^{re.escape(app_url)}/?$"))


def _agents_named(name: str) -> list[Agent]:
    with session_scope() as session:
        return list(session.exec(select(Agent).where(Agent.name == name)).all())


def test_build_an_agent_through_the_form(new_context, app_url: str, seeded: Seeded) -> None:
    wallet = BrowserWallet()
    page = new_context(wallet).new_page()
    sign_in(page, app_url, wallet)
    page.locator("#account-menu").click()
    page.locator("#menu-build-agent").click()
    expect(page).to_have_url(re.compile(r"/agents/new/?$"))
    expect(page.locator("#builder-heading")).to_have_text("Build an agent")

    name = "E2E Breakout"
    page.locator("#builder-name").fill(name)
    page.locator("#builder-description").fill("Built in Chromium by the e2e suite.")
    page.locator("#builder-venue").click()
    page.get_by_role("option", name="GMX").click()
    thumb = page.locator("#weight-slider-tweet [role=slider]")
    thumb.focus()
    thumb.press("End")
    expect(page.locator("#weight-value-tweet")).to_have_text("100")
    page.locator("#weight-slider-volatility [role=slider]").focus()
    page.keyboard.press("Home")
    expect(page.locator("#weight-value-volatility")).to_have_text("0")
    expect(page.locator("#weights-preview .js-plotly-plot")).to_be_visible()
    expect(page.locator("#weights-preview")).to_contain_text("100")
    page.locator(".ct-account-option", has_text=f"@{seeded.handle}").locator("button[role=checkbox]").click()
    page.locator("#builder-sizing-profile").click()
    page.get_by_role("option", name="Aggressive").click()

    # A stop loss above 50 % and leverage above GMX's maximum are refused beside their fields; nothing saved.
    page.locator("#builder-stoploss").fill("80")
    page.locator("#builder-leverage").fill("150")
    page.locator("#builder-submit").click()
    expect(page.locator("#field-error-stoploss")).to_have_text("Stop loss must be at most 50 %.")
    expect(page.locator("#field-error-leverage")).to_have_text("Leverage must be at most 100x.")
    expect(page).to_have_url(re.compile(r"/agents/new/?$"))
    assert _agents_named(name) == []
    refused = page.locator("[data-sonner-toast]", has_text="Nothing was saved")
    expect(refused).to_have_count(1)
    page.locator("#builder-submit").click()  # refused again: the message is replaced, not stacked
    expect(page.locator("#field-error-stoploss")).to_be_visible()
    expect(refused).to_have_count(1)

    page.locator("#builder-stoploss").fill("8")
    page.locator("#builder-leverage").fill("3")
    expect(page.locator("#field-error-stoploss")).to_have_count(0)
    page.locator("#builder-submit").click()
    expect(page.locator("#agent-name")).to_have_text(name)
    # The earlier refusals are gone; the save says it worked.
    expect(refused).to_have_count(0)
    expect(page.locator("[data-sonner-toast]", has_text=f"“{name}” created.")).to_be_visible()
    [agent] = _agents_named(name)
    expect(page).to_have_url(re.compile(rf"/agents/{agent.id}/?$"))
    assert agent.venue == "GMX" and agent.weight_tweet == 100 and agent.weight_volatility == 0
    assert agent.stoploss == Decimal("0.08") and agent.sizing_profile == "aggressive"
    assert agent.leverage == Decimal(3)
    expect(page.locator("#accounts-table")).to_contain_text(f"@{seeded.handle}")
    expect(page.locator("#risk-settings")).to_contain_text("8.0%")
    expect(page.locator("#agent-leverage")).to_have_text("3x leverage")
    # Version 1 and the reference book come with the agent; its equity curve starts at once.
    expect(page.locator("#versions-table")).to_contain_text("first version")
    expect(page.locator("#versions-table")).to_contain_text("3x")
    expect(page.locator("#equity-chart .js-plotly-plot")).to_be_visible()

    page.goto(f"{app_url}/marketplace")
    row = page.locator("#agents-table .agent-row").filter(has_text=name)
    expect(row).to_have_count(1)
    expect(row.locator(".agent-leverage")).to_have_text("3x")

    page.locator("#account-menu").click()
    page.locator("#menu-my-agents").click()
    expect(page).to_have_url(re.compile(r"/my-agents/?$"))
    expect(page.locator("#my-agents-table")).to_contain_text(name)
    expect(page.locator(f"#edit-{agent.id}")).to_be_visible()


def test_the_builder_fits_a_phone(new_context, app_url: str) -> None:
    wallet = BrowserWallet()
    page = new_context(wallet).new_page()
    sign_in(page, app_url, wallet)  # at the desktop size: the phone header is the layout's to test
    page.set_viewport_size(PHONE)
    page.goto(f"{app_url}/agents/new")
    expect(page.locator("#builder-heading")).to_have_text("Build an agent")
    expect(page.locator("#weights-preview .js-plotly-plot")).to_be_visible()
    assert overflowing(page) == []
    submit = page.locator("#builder-submit")
    submit.scroll_into_view_if_needed()
    box = submit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 40


def test_only_the_owner_edits_and_archives(new_context, app_url: str) -> None:
    owner, stranger = BrowserWallet(), BrowserWallet()
    owner_page = new_context(owner).new_page()
    sign_in(owner_page, app_url, owner, "/agents/new")
    name = "E2E Owned"
    owner_page.locator("#builder-name").fill(name)
    owner_page.locator("#builder-submit").click()
    expect(owner_page.locator("#agent-name")).to_have_text(name)
    [agent] = _agents_named(name)
    edit_url = f"{app_url}/agents/{agent.id}/edit"

    stranger_page = new_context(stranger).new_page()
    sign_in(stranger_page, app_url, stranger)
    stranger_page.goto(edit_url)
    expect(stranger_page.locator("#edit-forbidden")).to_have_text("You can only edit your own agents")
    expect(stranger_page.locator("#builder-name")).to_have_count(0)

    # The owner's form comes prefilled; a private agent goes to My agents after saving.
    owner_page.goto(edit_url)
    expect(owner_page.locator("#builder-heading")).to_have_text("Edit agent")
    expect(owner_page.locator("#builder-name")).to_have_value(name)
    expect(owner_page.locator("#builder-stoploss")).to_have_value("10")
    owner_page.locator("#builder-visibility").get_by_role("radio", name="Private").click()
    owner_page.locator("#builder-stoploss").fill("")
    owner_page.locator("#builder-submit").click()
    refused = owner_page.locator("[data-sonner-toast]", has_text="Nothing was saved")
    expect(refused).to_have_count(1)
    owner_page.locator("#builder-stoploss").fill("10")
    owner_page.locator("#builder-submit").click()
    expect(owner_page).to_have_url(re.compile(r"/my-agents/?$"))
    expect(refused).to_have_count(0)
    expect(owner_page.locator("[data-sonner-toast]", has_text=f"Changes to “{name}” saved.")).to_be_visible()
    row = owner_page.locator(f"#my-agent-{agent.id}")
    expect(row).to_contain_text("Private")

    owner_page.locator(f"#archive-{agent.id}").click()
    expect(owner_page.locator("#archive-dialog")).to_contain_text(name)
    owner_page.locator("#archive-confirm").click()
    expect(row).to_contain_text("Archived")
    expect(owner_page.locator(f"#archive-{agent.id}")).to_have_count(0)
    [archived] = _agents_named(name)
    assert archived.status == "archived" and archived.visibility == "private"


def _user_id(address: str) -> int:
    with session_scope() as session:
        user = session.exec(select(User).where(User.address == address.lower())).one()
        assert user.id is not None
        return user.id


def test_admin_pages(new_context, app_url: str) -> None:
    admin, trader = BrowserWallet(), BrowserWallet()
    trader_page = new_context(trader).new_page()
    sign_in(trader_page, app_url, trader)
    trader_page.locator("#account-menu").click()
    expect(trader_page.locator("#menu-my-agents")).to_be_visible()
    expect(trader_page.locator("#menu-admin-users")).to_have_count(0)
    trader_page.keyboard.press("Escape")
    trader_page.goto(f"{app_url}/admin/users")
    expect(trader_page.locator("#admins-only")).to_have_text("Admins only")
    expect(trader_page.locator("#admin-users-table")).to_have_count(0)
    trader_page.goto(f"{app_url}/admin/audit")
    expect(trader_page.locator("#admins-only")).to_be_visible()

    with session_scope() as session:
        create_admin(session, admin.address)
    page = new_context(admin).new_page()
    sign_in(page, app_url, admin, "/agents/new")
    page.locator("#builder-name").fill("E2E Admin Agent")
    page.locator("#builder-submit").click()
    expect(page.locator("#agent-name")).to_have_text("E2E Admin Agent")

    page.locator("#account-menu").click()
    page.locator("#menu-admin-users").click()
    expect(page).to_have_url(re.compile(r"/admin/users/?$"))
    table = page.locator("#admin-users-table")
    expect(table).to_contain_text(admin.address.lower())
    expect(table).to_contain_text(trader.address.lower())

    trader_id, admin_id = _user_id(trader.address), _user_id(admin.address)
    page.locator(f"#grant-admin-{trader_id}").click()
    expect(page.locator(f"#revoke-admin-{trader_id}")).to_be_visible()
    page.locator(f"#revoke-admin-{trader_id}").click()
    expect(page.locator(f"#grant-admin-{trader_id}")).to_be_visible()
    # The platform always keeps one admin: revoking the only one is refused with the reason.
    page.locator(f"#revoke-admin-{admin_id}").click()
    expect(page.locator("#admin-users-error")).to_have_text("Cannot remove the last admin.")

    page.locator("#account-menu").click()
    page.locator("#menu-admin-audit").click()
    expect(page).to_have_url(re.compile(r"/admin/audit/?$"))
    rows = page.locator("#audit-table .audit-row")
    expect(rows.first).to_contain_text("user.role_changed")  # newest first
    expect(rows.filter(has_text="auth.sign_in")).not_to_have_count(0)
    expect(rows.filter(has_text="agent.created")).not_to_have_count(0)

    page.locator("#audit-action").click()
    page.get_by_role("option", name="agent.created", exact=True).click()
    expect(rows.filter(has_text="E2E Admin Agent")).to_have_count(1)
    expect(rows.filter(has_not_text="agent.created")).to_have_count(0)

    page.locator("#audit-action").click()
    page.get_by_role("option", name="auth.sign_in", exact=True).click()
    page.locator("#audit-actor").fill(trader.address)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(trader.short_address)
