"""In Chromium, every page on a phone (390 x 844) and a desktop (1440 x 900): nothing wider than the screen.

For each page the test checks what a trader on a phone needs: the page does not scroll sideways
(`scrollWidth <= innerWidth`); the header's wallet or account button, the bell and the menu are on screen, at
least 40 px square on a phone, and nothing covers them (`elementFromPoint` at their centre); the page's key
figures and actions sit inside the screen without scrolling sideways, its key buttons 40 px tall on a phone.
The menus are opened and followed, the Leaderboard link scrolls to the landing page's leaderboard from
another page and from the landing page itself, and an unknown address shows the 404 page with the header.

One app per backend: the pages are visited in a loop inside a few tests, and every failure of a loop is
gathered so one run names every page that does not fit (with the elements sticking out).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from backend.auth.users import create_admin
from backend.config import get_settings
from backend.db import get_engine, session_scope
from backend.models import Agent, CtAccount, User
from backend.models.common import utcnow
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    CloseReason,
    ExecutionVenue,
    InvoiceStatus,
    SubscriptionStatus,
    Venue,
)
from backend.monitor.close import record_close
from backend.notify import dispatch
from backend.notify.senders import build_senders
from backend.trading.fees import FeePolicy
from tests.billing_support import invoice, line, subscription
from tests.e2e.conftest import Seeded, _database, _seed
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1440, "height": 900}
VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
MIN_TARGET_PX = 40


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """SQLite only: whether a page fits a screen does not depend on the database; every read behind these
    pages runs on both databases in tests/integration and in the pages' own browser modules."""
    with _database("sqlite", tmp_path_factory) as url:
        yield _seed(url)


# Whether the element is on screen, big enough and the one a tap at its centre reaches.
REACH_JS = """
([selector, minPx]) => {
  const el = document.querySelector(selector);
  if (!el) return "missing";
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return "not displayed";
  const [x0, x1, w, h] = [r.left, r.right, r.width, r.height].map(Math.round);
  if (r.left < 0 || r.right > window.innerWidth + 1) return `off screen (${x0}..${x1})`;
  if (r.width < minPx || r.height < minPx) return `too small to tap (${w} x ${h})`;
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (!hit || !el.contains(hit)) {
    return "covered by " + (hit ? hit.tagName.toLowerCase() + (hit.id ? "#" + hit.id : "") : "nothing");
  }
  return "ok";
}
"""

# Whether the element lies inside the screen's width once scrolled to vertically (no sideways scrolling),
# and, a button or a link around one, is big enough to tap.
IN_VIEW_JS = """
(el, minPx) => {
  const top = el.getBoundingClientRect().top + window.scrollY - 120;
  window.scrollTo(0, Math.max(0, top));
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return "not displayed";
  if (r.left < -1 || r.right > window.innerWidth + 1) {
    return `off screen sideways (${Math.round(r.left)}..${Math.round(r.right)} of ${window.innerWidth})`;
  }
  const button = el.tagName === "BUTTON" || (el.tagName === "A" && el.querySelector("button"));
  if (button && (r.width < minPx || r.height < minPx)) {
    return `too small to tap (${Math.round(r.width)} x ${Math.round(r.height)})`;
  }
  return "ok";
}
"""


# A table's first row: every cell still shown (a phone may hide some) lies within the screen's width, so
# what the page keeps on a phone is readable without scrolling the table sideways.
ROW_JS = """
(table) => {
  const row = table.querySelector("tbody tr");
  if (!row) return "no rows";
  window.scrollTo(0, Math.max(0, row.getBoundingClientRect().top + window.scrollY - 120));
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.innerText.trim());
  for (const [i, cell] of [...row.children].entries()) {
    const r = cell.getBoundingClientRect();
    if (r.width > 0 && (r.left < -1 || r.right > window.innerWidth + 1)) {
      const where = `${Math.round(r.left)}..${Math.round(r.right)}`;
      return `column "${heads[i] || i + 1}" off screen sideways (${where})`;
    }
  }
  return "ok";
}
"""
ROW = "row:"  # a key naming a table whose first row must fit the screen (ROW_JS)

LEADERBOARD_REACHED_JS = """
() => {
  const el = document.getElementById("leaderboard");
  if (!el) return false;
  const top = el.getBoundingClientRect().top;
  const lowest = document.documentElement.scrollHeight - window.innerHeight;
  return top >= 0 && (top < 160 || window.scrollY >= lowest - 2);
}
"""


@dataclass(frozen=True)
class Picture:
    """What the signed-in pages show: the trader's agent, deployments, invoice; the admin's wallet."""

    trader: BrowserWallet
    admin: BrowserWallet
    agent_id: int
    invoice_id: int


def _trader_picture(trader: BrowserWallet, seeded: Seeded) -> tuple[int, int, int]:
    """A trader who created an agent a follower pays a profit share on, runs a paper deployment with an open
    and a closed position, a live one in its trial with this month's charges and an open invoice; one
    position closed through the monitor's close leaves an unread notification."""
    now = utcnow()
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    with session_scope() as session:
        f = Factory(session)
        user = f.user(address=trader.address.lower())
        own = f.agent(creator=user, name="Viewport Momentum With A Long Name", venue=Venue.HYPERLIQUID)
        hyper = session.get(Agent, seeded.hyper_id)
        paper = f.paper_deployment(hyper, user)
        opened = [
            f.open_position(paper, market, opened_at=now - timedelta(hours=1)) for market in ("ETH", "SOL")
        ]
        to_close = opened[1].id
        live = f.deployment(own, user, venue=ExecutionVenue.HYPERLIQUID, user_wallet=user.address)
        subscription(session, live, SubscriptionStatus.TRIALING, trial_ends_at=now + timedelta(days=12))
        closed = f.closed_position(live, Decimal(15), market="ETH", entry_price=Decimal("3000"))
        line(session, user, "0.20", at=now - timedelta(minutes=5), deployment=live, position=closed)
        owed = invoice(
            session,
            user,
            last_month,
            InvoiceStatus.OPEN,
            "20.20",
            issued_at=this_month,
            due_at=this_month + timedelta(days=14),
        )
        invoiced = {"status": BillingStatus.INVOICED, "invoice": owed, "at": last_month.replace(day=10)}
        line(session, user, "0.20", description="Trade fees: 1 trade", deployment=live, **invoiced)
        line(session, user, "20", kind=BillingKind.SUBSCRIPTION, deployment=live, **invoiced)
        # A follower's profitable close of the trader's agent: the trader's earnings as its creator.
        follower = f.deployment(own, f.user(), venue=ExecutionVenue.HYPERLIQUID)
        win = f.closed_position(follower, Decimal(30), market="BTC")
        line(
            session,
            session.get(User, follower.user_id),
            "3.00",
            at=now - timedelta(hours=2),
            kind=BillingKind.PROFIT_SHARE,
            status=BillingStatus.PAID,  # collected from the follower: owed to the trader, a payout to make
            beneficiary=Beneficiary.CREATOR,
            beneficiary_user_id=user.id,
            deployment=follower,
            position=win,
        )
        caller = session.exec(select(CtAccount).where(CtAccount.handle == seeded.handle)).one()
        f.post(caller, text="$ETH looks heavy here, shorting a small size")  # for the admin's posts page
        agent_id, invoice_id = own.id, owed.id
    with session_scope() as session:
        record_close(session, to_close, Decimal(3100), Decimal(0), CloseReason.TAKE_PROFIT, FeePolicy())
    dispatch.run_once(get_engine(), build_senders(get_settings(), None))
    return agent_id, invoice_id


@pytest.fixture(scope="module")
def picture(app_url: str, seeded: Seeded) -> Picture:
    trader, admin = BrowserWallet(), BrowserWallet()
    agent_id, invoice_id = _trader_picture(trader, seeded)
    with session_scope() as session:
        create_admin(session, admin.address)
    return Picture(trader, admin, agent_id, invoice_id)


@pytest.fixture
def open_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Any]:
    contexts = []

    def _open(viewport: dict[str, int], wallet: BrowserWallet | None = None) -> Page:
        args = {**browser_context_args, "viewport": viewport}
        context = context_with_wallet(browser, wallet, **args) if wallet else browser.new_context(**args)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def _is_phone(page: Page) -> bool:
    return page.viewport_size is not None and page.viewport_size["width"] < 768


def _header_problems(page: Page, wallet_button: str) -> list[str]:
    """The header's controls a thumb needs: wallet or account button, bell, menu (on a phone), logo."""
    page.evaluate("window.scrollTo(0, 0)")
    phone = _is_phone(page)
    controls = [wallet_button, "#nav-home"]
    if wallet_button == "#account-menu":
        controls.append("#nav-bell")
    controls.append("#nav-menu" if phone else "#nav-marketplace")
    problems = []
    for selector in controls:
        verdict = page.evaluate(REACH_JS, [selector, MIN_TARGET_PX if phone else 1])
        if verdict != "ok":
            problems.append(f"{selector}: {verdict}")
    return problems


def _page_problems(page: Page, keys: tuple[str, ...], wallet_button: str) -> list[str]:
    """Every way the page fails the phone or desktop test, empty when it passes."""
    # The page has loaded its rows once its first key element shows; the others may still be coming.
    for n, key in enumerate(keys):
        try:
            expect(page.locator(key.removeprefix(ROW)).first).to_be_attached(
                timeout=None if n == 0 else 5_000
            )
        except AssertionError:
            if n == 0:
                return [f"{key} never showed"]
    problems = _header_problems(page, wallet_button)
    width = fit(page)
    if not width.fits:
        problems.append(f"page is {width.width} px wide for {width.viewport}: {'; '.join(width.sticking)}")
    for key in keys:
        selector = key.removeprefix(ROW)
        found = page.locator(selector)
        try:
            # Wait again: a state kept from the tab's previous page renders first, then the page's own load
            # replaces it (the builder's form shows, goes while the agent loads, and comes back).
            expect(found.first).to_be_attached(timeout=5_000)
        except AssertionError:
            problems.append(f"{selector}: missing")
            continue
        if key.startswith(ROW):
            verdict = found.first.evaluate(ROW_JS)
        else:
            verdict = found.first.evaluate(IN_VIEW_JS, MIN_TARGET_PX if _is_phone(page) else 1)
        if verdict != "ok":
            problems.append(f"{selector}: {verdict}")
    page.evaluate("window.scrollTo(0, 0)")
    return problems


def _visit_all(page: Page, base: str, routes: dict[str, tuple[str, ...]], wallet_button: str) -> list[str]:
    failures = []
    for route, keys in routes.items():
        page.goto(f"{base}{route}")
        failures += [f"{route}: {problem}" for problem in _page_problems(page, keys, wallet_button)]

    return failures


def _sign_in(page: Page, app_url: str, wallet: BrowserWallet) -> None:
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def _at_the_leaderboard(page: Page) -> None:
    """The leaderboard is on screen, scrolled to: its top just under the header, or the page as far down as
    it goes (a desktop may show the whole landing page without scrolling)."""
    expect(page.locator("#leaderboard-table")).to_be_visible()
    page.wait_for_function(LEADERBOARD_REACHED_JS)
    expect(page.locator("#leaderboard")).to_be_in_viewport()


def _open_nav(page: Page, item: str) -> None:
    """Follow a header link: straight on a desktop, through the menu button on a phone."""
    if _is_phone(page):
        page.locator("#nav-menu").click()
        page.locator(f"#menu-{item}").click()
    else:
        page.locator(f"#nav-{item}").click()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_public_pages_fit_and_the_menu_leads_to_the_leaderboard(
    open_page, app_url: str, seeded: Seeded, viewport: dict[str, int]
) -> None:
    page = open_page(viewport)
    routes = {
        "/": ("#stat-pnl", "row:#leaderboard-table", "#leader-pnl-0", "#cta-marketplace"),
        "/marketplace": ("row:#agents-table",),
        f"/agents/{seeded.hyper_id}": ("#agent-name", "#agent-figures"),
        f"/agents/{seeded.hyper_id}/signals": ("#signals-heading",),
        "/signin": ("#signin-heading",),
        "/no-such-page": ("#not-found", "#not-found-home"),
    }
    failures = _visit_all(page, app_url, routes, "#connect-wallet")

    # The menu leads to the marketplace, then the Leaderboard link back to the landing page's leaderboard.
    page.goto(f"{app_url}/no-such-page")
    _open_nav(page, "marketplace")
    expect(page).to_have_url(re.compile(r"/marketplace/?$"))
    expect(page.locator("#agents-table")).to_be_visible()
    _open_nav(page, "leaderboard")
    expect(page).to_have_url(re.compile(r"/#leaderboard$"))
    _at_the_leaderboard(page)
    # From the landing page itself, scrolled back to the top first.
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator("#landing-title")).to_be_in_viewport()
    _open_nav(page, "leaderboard")
    _at_the_leaderboard(page)
    # A link to /#leaderboard typed in or shared lands there too.
    page.goto(f"{app_url}/#leaderboard")
    _at_the_leaderboard(page)

    # The 404 page's way back.
    page.goto(f"{app_url}/no-such-page")
    page.locator("#not-found-home").click()
    expect(page.locator("#landing-title")).to_be_visible()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_traders_pages_fit_and_the_account_menu_works(
    open_page, app_url: str, seeded: Seeded, picture: Picture, viewport: dict[str, int]
) -> None:
    page = open_page(viewport, picture.trader)
    _sign_in(page, app_url, picture.trader)
    agent = picture.agent_id
    routes = {
        "/dashboard": ('[id^="position-card-"]', '[id^="close-"]'),
        "/deployments": ("row:#deployments-table", '[id^="equity-"]', '[id^="pause-"]', '[id^="cancel-"]'),
        "/my-agents": (
            "row:#my-agents-table",
            '[id^="my-agent-apr-"]',
            '[id^="edit-"]',
            '[id^="archive-"]',
            "#build-agent",
        ),
        "/billing": (
            "#billing-current-total",
            '[id^="cancel-sub-"]',
            '[id^="invoice-link-"]',
            "#lines-total",
        ),
        f"/billing/invoices/{picture.invoice_id}": ("#invoice-total", "#invoice-number", "#invoice-print"),
        "/earnings": ("#earnings-accrued", "row:#earnings-table", '[id^="earning-accrued-"]'),
        "/notifications": (".inbox-item", "#inbox-mark-all"),
        "/settings/notifications": ("#preferences", "#webhook-add"),
        "/settings/notifications/verify-email": ("#verify-email-back",),
        "/backtests/sweep": ("#sweep-start",),
        "/agents/new": ("#builder-submit",),
        f"/agents/{agent}/edit": ("#builder-submit",),
        f"/agents/{seeded.gmx_id}/deploy": ("#deploy-next",),
        f"/agents/{agent}": ("#agent-name", "#agent-figures"),
    }
    failures = _visit_all(page, app_url, routes, "#account-menu")

    # The account menu opens on screen and its links work.
    page.goto(f"{app_url}/marketplace")
    page.locator("#account-menu").click()
    item = page.locator("#menu-billing")
    expect(item).to_be_in_viewport()
    item.click()
    expect(page).to_have_url(re.compile(r"/billing/?$"))
    page.locator("#nav-bell").click()
    expect(page).to_have_url(re.compile(r"/notifications/?$"))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_admin_pages_fit(open_page, app_url: str, picture: Picture, viewport: dict[str, int]) -> None:
    page = open_page(viewport, picture.admin)
    _sign_in(page, app_url, picture.admin)
    routes = {
        "/admin/users": ("row:#admin-users-table", '[id^="grant-admin-"]'),
        "/admin/audit": ("#audit-table",),
        "/admin/ct-accounts": ("row:#ct-accounts-table", "#ct-add", '[id^="pause-"]'),
        "/admin/posts": ("#paste-submit", "#posts-table"),
        "/admin/monitor": ("#monitor-state",),
        "/admin/venues": ("#refresh-venues",),
        "/admin/billing": (
            "#invoice-lookup",
            "row:#revenue-table",
            '[id^="creator-"]',
            '[id^="pay-creator-"]',
        ),
    }
    failures = _visit_all(page, app_url, routes, "#account-menu")
    page.locator("#account-menu").click()
    page.locator("#menu-admin-users").click()
    expect(page).to_have_url(re.compile(r"/admin/users/?$"))
    assert not failures, "\n".join(failures)
