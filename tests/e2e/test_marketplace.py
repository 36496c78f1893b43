"""In Chromium against the running app: landing figures, marketplace filters (held in the URL), agent page,
its track record and its owner's Edit button, on a desktop and on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session

from backend.agents.reference import ensure_reference_book
from backend.auth.identity import normalize_address
from backend.db import make_engine
from backend.models.common import utcnow
from backend.models.enums import Visibility
from tests.e2e.conftest import Seeded
from tests.e2e.phone import PHONE
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory

pytestmark = pytest.mark.e2e


def test_landing_shows_live_figures_and_leaderboard(page: Page, app_url: str, seeded: Seeded) -> None:
    page.goto(f"{app_url}/")

    expect(page.locator("#stat-agents")).to_have_text("2")
    expect(page.locator("#stat-trades")).to_have_text("1")
    expect(page.locator("#stat-pnl")).to_have_text("+$42.00")
    # Only agents that have traded make the leaderboard.
    expect(page.locator("#leaderboard-table")).to_contain_text(seeded.hyper_name)
    expect(page.locator("#leaderboard-table")).not_to_contain_text(seeded.gmx_name)

    page.locator("#cta-marketplace").click()
    expect(page).to_have_url(re.compile(r"/marketplace/?$"))


def test_marketplace_filter_then_agent_page(page: Page, app_url: str, seeded: Seeded) -> None:
    page.goto(f"{app_url}/marketplace")
    rows = page.locator("#agents-table .agent-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=seeded.hyper_name)).to_have_count(1)
    expect(rows.filter(has_text=seeded.gmx_name)).to_have_count(1)
    expect(page.locator("#total-count")).to_have_text("2 agents")

    page.locator("#venue-filter").click()
    page.get_by_role("option", name="GMX").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(seeded.gmx_name)
    expect(page.locator("#page-label")).to_have_text("Page 1 of 1")

    page.locator("#venue-filter").click()
    page.get_by_role("option", name="Hyperliquid").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(seeded.hyper_name)
    expect(rows.first.locator(".agent-leverage")).to_have_text("1x")

    rows.first.get_by_role("link", name=seeded.hyper_name).click()
    expect(page).to_have_url(re.compile(rf"/agents/{seeded.hyper_id}/?$"))
    expect(page.locator("#agent-name")).to_have_text(seeded.hyper_name)
    expect(page.locator("#figure-apr-30d")).to_have_text("+24.5%")
    expect(page.locator("#weights-chart .js-plotly-plot")).to_be_visible()
    expect(page.locator("#weights-chart")).to_contain_text("Momentum")
    expect(page.locator("#accounts-table")).to_contain_text(f"@{seeded.handle}")
    expect(page.locator("#figure-pnl")).to_have_text("+$42.00")
    expect(page.locator("#agent-leverage")).to_have_text("1x leverage")
    expect(page.locator("#equity-empty")).to_be_visible()  # made by hand: no reference book yet
    # The seeded closed trade is another trader's: a visitor sees the agent's figures, never its positions.
    expect(page.locator("#positions-table")).to_have_count(0)
    expect(page.locator("#positions-empty")).to_have_count(0)


def test_search_and_empty_result(page: Page, app_url: str, seeded: Seeded) -> None:
    page.goto(f"{app_url}/marketplace")
    rows = page.locator("#agents-table .agent-row")
    expect(rows).to_have_count(2)

    page.locator("#search-input").fill("swing")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(seeded.gmx_name)

    page.locator("#search-input").fill("no such agent")
    expect(page.locator("#agents-empty")).to_contain_text("No agents match")
    page.locator("#clear-filters").click()
    expect(rows).to_have_count(2)


def test_unknown_agent_shows_not_found(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/agents/999999")
    expect(page.locator("#agent-not-found")).to_have_text("Agent not found")
    page.goto(f"{app_url}/agents/not-a-number")
    expect(page.locator("#agent-not-found")).to_be_visible()


def test_pages_work_under_the_content_security_policy(page: Page, app_url: str, seeded: Seeded) -> None:
    """Landing, marketplace and an agent page with its Plotly chart, and not one CSP violation on the way."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )

    response = page.goto(f"{app_url}/")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    expect(page.locator("#stat-agents")).to_have_text("2")
    page.goto(f"{app_url}/agents/{seeded.hyper_id}")
    expect(page.locator("#weights-chart .js-plotly-plot")).to_be_visible()
    expect(page.locator("#figure-pnl")).to_have_text("+$42.00")

    assert page.evaluate("window.__csp") == []
    assert violations == []


def test_the_event_socket_accepts_our_origin_only(app_url: str) -> None:
    """Reflex hands cors_allowed_origins to its Socket.IO server: a page elsewhere cannot open the socket."""
    from reflex_base.config import get_config
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    socket_url = get_config().api_url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    with connect(socket_url, origin=app_url, open_timeout=10) as ours:
        assert str(ours.recv(timeout=10)).startswith("0")  # the Engine.IO handshake
    with pytest.raises(InvalidStatus), connect(socket_url, origin="http://127.0.0.1:6666", open_timeout=10):
        pass


def test_demo_banner_on_every_page_even_on_a_phone(page: Page, app_url: str, seeded: Seeded) -> None:
    """The app runs on the simulated price feed here, so every page says its data is made up."""
    page.set_viewport_size(PHONE)
    for path in ("/", "/marketplace", f"/agents/{seeded.hyper_id}"):
        page.goto(f"{app_url}{path}")
        banner = page.locator("#demo-banner")
        expect(banner).to_have_text("Demo data: simulated prices and posts")
        expect(banner).to_be_visible()
        box = banner.bounding_box()
        assert box is not None and box["y"] <= 1 and box["width"] <= 390 and box["height"] <= 48
        # The text wraps inside the banner instead of running off a narrow screen.
        assert banner.evaluate("el => el.scrollWidth <= el.clientWidth")


PAPER_ONLY = "Paper trading only for now"


# What sticks out past the screen's right edge in the page's own column (the content below the header,
# which the shared layout owns and tests in test_viewports.py), skipping what scrolls inside its own box.
OVERFLOWING = """(anchor) => {
  let column = document.querySelector(anchor);
  const banner = document.querySelector("#demo-banner");
  while (!column.parentElement.contains(banner)) column = column.parentElement;
  const scrolls = (el) => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(el).overflowX);
  const inBox = (el) => { for (let p = el.parentElement; p && p !== column; p = p.parentElement)
    if (scrolls(p)) return true; return false; };
  return [column, ...column.querySelectorAll("*")]
    .filter((el) => !inBox(el) && el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`.slice(0, 120));
}"""


def _no_content_overflow(page: Page, anchor: str) -> None:
    assert page.evaluate(OVERFLOWING, anchor) == []


def test_filters_sort_and_page_live_in_the_url(page: Page, app_url: str, seeded: Seeded) -> None:
    rows = page.locator("#agents-table .agent-row")
    page.goto(f"{app_url}/marketplace?venue=gmx")  # a shared link, in any case
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(seeded.gmx_name)
    expect(page.locator("#venue-filter")).to_have_text("GMX")

    page.locator("#sort-select").click()
    page.get_by_role("option", name="Total PnL").click()
    expect(page).to_have_url(re.compile(r"/marketplace/?\?venue=GMX&sort=pnl$"))
    expect(rows).to_have_count(1)

    page.reload()
    expect(page.locator("#sort-select")).to_have_text("Total PnL")
    expect(page.locator("#venue-filter")).to_have_text("GMX")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(seeded.gmx_name)

    page.locator("#venue-filter").click()
    page.get_by_role("option", name="All venues").click()
    expect(page).to_have_url(re.compile(r"/marketplace/?\?sort=pnl$"))
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(seeded.hyper_name)  # sorted by PnL: the one that made $42 first

    page.go_back()  # back to the GMX filter, the list with it
    expect(page).to_have_url(re.compile(r"/marketplace/?\?venue=GMX&sort=pnl$"))
    expect(rows).to_have_count(1)
    expect(page.locator("#venue-filter")).to_have_text("GMX")

    page.goto(f"{app_url}/marketplace?venue=NASDAQ&sort=luck&page=9")  # nonsense reads as the defaults
    expect(rows).to_have_count(2)
    expect(page.locator("#page-label")).to_have_text("Page 1 of 1")
    expect(page.locator("#venue-filter")).to_have_text("All venues")


def test_rows_show_pnl_drawdown_and_say_which_agents_trade_on_paper_only(
    page: Page, app_url: str, seeded: Seeded
) -> None:
    page.goto(f"{app_url}/marketplace")
    table = page.locator("#agents-table")
    expect(table.locator("th", has_text="Total PnL")).to_be_visible()
    expect(table.locator("th", has_text="Max drawdown")).to_be_visible()
    hyper = table.locator(".agent-row", has_text=seeded.hyper_name)
    gmx = table.locator(".agent-row", has_text=seeded.gmx_name)
    expect(hyper.locator(".agent-pnl")).to_have_text("+$42.00")
    expect(hyper.locator(".agent-drawdown")).to_have_text("no trades yet")
    expect(gmx.locator(".paper-only")).to_have_text(PAPER_ONLY)
    expect(hyper.locator(".paper-only")).to_have_count(0)

    page.goto(f"{app_url}/agents/{seeded.gmx_id}")
    expect(page.locator("#agent-paper-only")).to_contain_text(PAPER_ONLY)
    page.goto(f"{app_url}/agents/{seeded.hyper_id}")
    expect(page.locator("#agent-name")).to_have_text(seeded.hyper_name)
    expect(page.locator("#agent-paper-only")).to_have_count(0)
    expect(page.locator("#edit-agent")).to_have_count(0)  # a visitor edits nothing


@pytest.fixture
def owner(
    browser: Browser, browser_context_args: dict[str, Any], app_url: str, seeded: Seeded
) -> Iterator[tuple[Page, int]]:
    """A signed-in trader and their own private agent with a reference book (private: the marketplace's
    and landing's counts stay as seeded)."""
    wallet = BrowserWallet()
    engine = make_engine(seeded.url)
    with Session(engine, expire_on_commit=False) as session:
        f = Factory(session)
        user = f.user(address=normalize_address(wallet.address))
        agent = f.agent(user, name="Owner's Book", visibility=Visibility.PRIVATE)
        ensure_reference_book(session, agent, capital=Decimal("10000"), now=utcnow() - timedelta(days=3))
        session.commit()
    engine.dispose()
    context: BrowserContext = context_with_wallet(browser, wallet, **browser_context_args)
    page = context.new_page()
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)
    yield page, agent.id
    context.close()


def test_agent_page_leads_with_its_track_record_and_its_owner_may_edit(
    owner: tuple[Page, int], app_url: str
) -> None:
    page, agent_id = owner
    page.goto(f"{app_url}/agents/{agent_id}")
    expect(page.locator("#edit-agent")).to_be_visible()
    expect(page.locator("#edit-agent")).to_have_attribute("href", f"/agents/{agent_id}/edit")

    chart = page.locator("#equity-chart")
    expect(chart.locator(".js-plotly-plot")).to_be_visible()
    figures = page.locator("#agent-figures")
    expect(figures).to_be_visible()
    chart_box, figures_box = chart.bounding_box(), figures.bounding_box()
    weights_box = page.locator("#weights-chart").bounding_box()
    assert chart_box and figures_box and weights_box
    assert chart_box["y"] < figures_box["y"] < weights_box["y"]  # record, then figures, then strategy
    expect(page.locator("#figure-avg-win")).to_have_text("no trades yet")

    page.locator("#edit-agent").click()
    expect(page).to_have_url(re.compile(rf"/agents/{agent_id}/edit$"))


def test_marketplace_and_agent_page_fit_a_phone(page: Page, app_url: str, seeded: Seeded) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{app_url}/marketplace?sort=pnl")
    rows = page.locator("#agents-table .agent-row")
    expect(rows).to_have_count(2)
    _no_content_overflow(page, "#agents-table")
    # The first columns in view are the name and the result; the table scrolls inside its card.
    pnl = rows.first.locator(".agent-pnl")
    expect(pnl).to_be_in_viewport()

    page.goto(f"{app_url}/agents/{seeded.gmx_id}")
    expect(page.locator("#agent-name")).to_have_text(seeded.gmx_name)
    expect(page.locator("#agent-paper-only")).to_be_visible()
    expect(page.locator("#figure-pnl")).to_be_visible()
    _no_content_overflow(page, "#agent-name")
