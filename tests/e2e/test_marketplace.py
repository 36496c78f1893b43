"""In Chromium against the running app: landing figures, marketplace filters, agent page and its chart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Seeded

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
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/marketplace", f"/agents/{seeded.hyper_id}"):
        page.goto(f"{app_url}{path}")
        banner = page.locator("#demo-banner")
        expect(banner).to_have_text("Demo data: simulated prices and posts")
        expect(banner).to_be_visible()
        box = banner.bounding_box()
        assert box is not None and box["y"] <= 1 and box["width"] <= 390 and box["height"] <= 48
        # The text wraps inside the banner instead of running off a narrow screen.
        assert banner.evaluate("el => el.scrollWidth <= el.clientWidth")
