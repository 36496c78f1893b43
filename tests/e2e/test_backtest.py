"""In Chromium against the running app with the demo loaded: the Backtest panel in the builder (a slider
moves, the curve and figures follow; Compare), on an agent page (open a trade's post, the reference book
beside the run), and on a 390 px phone."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, select

from backend.db import make_engine
from backend.demo import catalog
from backend.models import Agent
from tests.e2e.conftest import DemoDatabases, Seeded
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet

pytestmark = pytest.mark.e2e

DEMO_AGENT = catalog.AGENTS[0]  # public, months of trades from the accounts it follows


@dataclasses.dataclass(frozen=True)
class Demo:
    agent_id: int
    follows: tuple[str, ...]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request: pytest.FixtureRequest, demo_databases: DemoDatabases) -> Iterator[Seeded]:
    """conftest's seeded database with the demo loaded too (a copy of the session's: seeding takes long)."""
    with demo_databases.copy(request.param) as seeded:
        yield seeded


@pytest.fixture(scope="module")
def demo(seeded: Seeded) -> Iterator[Demo]:
    engine = make_engine(seeded.url)
    with Session(engine, expire_on_commit=False) as session:
        agent = session.exec(select(Agent).where(Agent.name == DEMO_AGENT.name)).one()
        yield Demo(agent.id, DEMO_AGENT.follows)
    engine.dispose()


@pytest.fixture
def new_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Callable[..., Page]]:
    opened: list[BrowserContext] = []

    def open_page(wallet: BrowserWallet | None = None, **overrides: Any) -> Page:
        args = {**browser_context_args, **overrides}
        context = (
            browser.new_context(**args) if wallet is None else context_with_wallet(browser, wallet, **args)
        )
        opened.append(context)
        return context.new_page()

    yield open_page
    for context in opened:
        context.close()


def sign_in(page: Page, app_url: str, wallet: BrowserWallet, path: str) -> None:
    page.goto(f"{app_url}{path}")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def _builder_following(new_page: Callable[..., Page], app_url: str, demo: Demo, **context: Any) -> Page:
    """A new agent's form following the demo agent's accounts, its first backtest shown; `context` goes to
    the browser context (a phone's viewport)."""
    wallet = BrowserWallet()
    page = new_page(wallet, **context)
    sign_in(page, app_url, wallet, "/agents/new")
    expect(page.locator("#builder-heading")).to_have_text("Build an agent")
    # Before any account is ticked the panel says what to fix.
    expect(page.locator("#bt-error")).to_have_text("Follow at least one CT account to backtest.")
    for handle in demo.follows:
        page.locator(".ct-account-option", has_text=f"@{handle}").locator("button[role=checkbox]").click()
    expect(page.locator("#bt-profit")).to_be_visible()
    expect(page.locator("#bt-chart .js-plotly-plot")).to_be_visible()
    expect(page.locator("#bt-running")).to_have_count(0)
    return page


def _move(page: Page, weight: str, key: str) -> None:
    thumb = page.locator(f"#weight-slider-{weight} [role=slider]")
    thumb.focus()
    thumb.press(key)


AUTHOR = re.compile(r"^@\w+$")

EQUITY_JS = "JSON.stringify(document.querySelector('#bt-chart .js-plotly-plot').data[0].y)"


def _equity(page: Page) -> str:
    """The equity curve Plotly drew (the first trace of the chart's graph div), as JSON."""
    return page.evaluate(EQUITY_JS)


def _wait_for_new_curve(page: Page, before: str) -> None:
    page.wait_for_function(f"([before]) => {EQUITY_JS} !== before", arg=[before], timeout=20_000)


def test_moving_a_slider_reruns_the_backtest(new_page, app_url: str, demo: Demo) -> None:
    page = _builder_following(new_page, app_url, demo)
    expect(page.locator("#bt-notice")).to_contain_text("Past results do not predict future ones")
    figures_before = page.locator("#bt-tiles").inner_text()
    curve_before = _equity(page)

    # The tweet weight to nothing and the momentum weight to the full: the scores, so the trades, change.
    _move(page, "tweet", "Home")
    _move(page, "momentum", "End")
    expect(page.locator("#weight-value-tweet")).to_have_text("0")
    expect(page.locator("#bt-tiles")).not_to_have_text(figures_before)
    expect(page.locator("#bt-running")).to_have_count(0)
    _wait_for_new_curve(page, curve_before)

    # A bad capital is refused beside its field; a good one runs again.
    page.locator("#bt-capital").fill("5")
    expect(page.locator("#field-error-bt-capital")).to_have_text(
        "Starting capital must be between $100 and $10,000,000."
    )
    page.locator("#bt-capital").fill("25000")
    expect(page.locator("#field-error-bt-capital")).to_have_count(0)
    expect(page.locator("#bt-window")).to_contain_text("$25,000 starting capital")
    expect(page.locator("#bt-summary-starting-balance")).to_have_text("$25,000.00")

    # Dates instead of days.
    page.locator("#bt-period").get_by_role("radio", name="Dates").click()
    page.locator("#bt-start").fill("2026-01-10")
    page.locator("#bt-end").fill("2026-01-01")
    expect(page.locator("#field-error-bt-period")).to_have_text(
        "The end date must not be before the start date."
    )


def test_compare_two_configurations(new_page, app_url: str, demo: Demo) -> None:
    page = _builder_following(new_page, app_url, demo)
    page.locator("#bt-compare").click()
    table = page.locator("#bt-compare-table")
    expect(table).to_be_visible()
    expect(table).to_contain_text("A · kept")
    expect(table).to_contain_text("B · edited")
    expect(page.locator("#bt-chart")).to_contain_text("A · kept")  # the legend of the overlay

    # Same configuration on both sides: every figure ties, none is marked better.
    expect(table.locator(".bt-better")).to_have_count(0)
    _move(page, "tweet", "Home")
    _move(page, "momentum", "End")
    expect(table.locator(".bt-better").first).to_be_visible()
    expect(page.locator("#bt-chart")).to_contain_text("B · edited")


def test_compare_the_saved_agent_with_the_edited_form(new_page, app_url: str, demo: Demo) -> None:
    page = _builder_following(new_page, app_url, demo)
    page.locator("#builder-name").fill("E2E Backtested")
    page.locator("#builder-submit").click()
    expect(page.locator("#agent-name")).to_have_text("E2E Backtested")
    agent_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    page.goto(f"{app_url}/agents/{agent_id}/edit")
    expect(page.locator("#builder-heading")).to_have_text("Edit agent")
    expect(page.locator("#bt-profit")).to_be_visible()
    page.locator("#bt-compare").click()
    table = page.locator("#bt-compare-table")
    expect(table).to_contain_text("A · saved")
    expect(table.locator(".bt-better")).to_have_count(0)  # the form still holds the saved configuration
    page.locator("#builder-signal-threshold").fill("80")
    expect(table.locator(".bt-better").first).to_be_visible()


def test_backtest_an_agent_and_open_a_trades_post(new_page, app_url: str, demo: Demo) -> None:
    visitor = new_page()
    visitor.goto(f"{app_url}/agents/{demo.agent_id}")
    expect(visitor.locator("#signin-to-backtest")).to_be_visible()
    expect(visitor.locator("#signin-to-backtest")).to_have_attribute(
        "href", re.compile(rf"/signin\?next=/agents/{demo.agent_id}$")
    )
    expect(visitor.locator("#bt-open")).to_have_count(0)

    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet, f"/agents/{demo.agent_id}")
    expect(page.locator("#bt-panel")).to_have_count(0)
    page.locator("#bt-open").click()
    expect(page.locator("#bt-profit")).to_be_visible()
    expect(page.locator("#bt-sweep-link")).to_have_attribute(
        "href", f"/backtests/sweep?agent={demo.agent_id}"
    )
    expect(page.locator("#bt-chart")).to_contain_text("Reference book (same start)")

    page.locator("#bt-period").get_by_role("radio", name="90 days").click()
    expect(page.locator("#bt-running")).to_have_count(0)
    post = page.locator("#bt-trades .bt-post-button").first
    expect(post).to_be_visible()
    row = page.locator("#bt-trades .bt-trade-row").filter(has=page.locator(".bt-post-button")).first
    market = row.locator("td").first.inner_text().split()[0]
    author = row.locator(".bt-trade-author")
    expect(author).to_have_text(AUTHOR)  # the table names who posted, before the post is opened
    post.click()
    dialog = page.locator("#bt-post-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#bt-post-author")).to_have_text(author.inner_text())
    expect(page.locator("#bt-post-text")).not_to_be_empty()
    expect(dialog).to_contain_text(market)
    page.locator("#bt-post-close").click()
    expect(dialog).to_have_count(0)


def test_compare_an_agent_with_another(new_page, app_url: str, demo: Demo) -> None:
    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet, f"/agents/{demo.agent_id}")
    page.locator("#bt-open").click()
    expect(page.locator("#bt-profit")).to_be_visible()
    page.locator("#bt-compare").click()
    page.locator("#bt-rival").click()
    rival = catalog.AGENTS[1].name
    page.get_by_role("option", name=rival).click()
    table = page.locator("#bt-compare-table")
    expect(table).to_contain_text(f"A · {rival}")
    expect(table).to_contain_text(f"B · {DEMO_AGENT.name}")
    expect(table.locator(".bt-better").first).to_be_visible()  # two strategies never tie on every figure
    expect(page.locator("#bt-chart")).to_contain_text(f"A · {rival}")


def test_the_panel_fits_a_phone(new_page, app_url: str, demo: Demo) -> None:
    wallet = BrowserWallet()
    page = new_page(wallet, viewport=PHONE)
    sign_in(page, app_url, wallet, f"/agents/{demo.agent_id}")
    page.locator("#bt-open").click()
    expect(page.locator("#bt-profit")).to_be_visible()
    expect(page.locator("#bt-trades, #bt-trades-empty").first).to_be_attached()
    # Tables scroll inside their own box: the page itself is never wider than the phone.
    assert fit(page).fits
    first_tile = page.locator("#bt-tiles > *").first
    assert first_tile.bounding_box()["y"] < page.locator("#bt-chart").bounding_box()["y"]


# Where a table sits (by the id of its table or of Radix's root around it): the nearest box of its that
# scrolls sideways, how wide the table is and how wide and where that box is; its cells whose text is cut
# off; how many cells end past the screen's right edge.
TABLE_JS = """(id) => {
    const root = document.getElementById(id);
    const table = root.tagName === 'TABLE' ? root : root.querySelector('table');
    let box = table.parentElement;
    while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
    const r = box.getBoundingClientRect();
    const cells = [...table.querySelectorAll('td, th')];
    return {
        table: table.scrollWidth, box: box.clientWidth, left: r.left, right: r.right,
        clipped: cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText),
        outside: cells.filter(c => c.getBoundingClientRect().right > window.innerWidth + 1).length,
    };
}"""


def _table(page: Page, element_id: str) -> dict[str, Any]:
    return page.evaluate(TABLE_JS, element_id)


def _fits(page: Page) -> None:
    found = fit(page)
    assert found.fits, f"the page is {found.width} px wide on a {found.viewport} px phone: {found.sticking}"


def test_the_builder_panel_and_compare_fit_a_phone(new_page, app_url: str, demo: Demo) -> None:
    page = _builder_following(new_page, app_url, demo, viewport=PHONE)
    page.locator("#bt-period").get_by_role("radio", name="90 days").click()
    expect(page.locator("#bt-window")).to_contain_text("starting capital")
    expect(page.locator("#bt-running")).to_have_count(0)
    expect(page.locator("#bt-trades .bt-trade-row").first).to_be_attached()
    expect(page.locator("#bt-by-reason")).to_be_attached()
    expect(page.locator("#bt-by-token")).to_be_attached()
    _fits(page)

    chart = page.locator("#bt-chart .js-plotly-plot")
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] > 200

    # The trades table is wider than a phone: it scrolls inside its own box, which stays on the screen.
    trades = _table(page, "bt-trades")
    assert trades["table"] > trades["box"] and trades["left"] >= 0 and trades["right"] <= PHONE["width"]
    for element_id in ("bt-summary", "bt-by-reason", "bt-by-token"):
        table = _table(page, element_id)
        assert table["left"] >= 0 and table["right"] <= PHONE["width"], (element_id, table)
    posted = page.locator("#bt-trades .bt-trade-row").filter(has=page.locator(".bt-post-button")).first
    expect(posted.locator(".bt-trade-author")).to_have_text(AUTHOR)

    # Compare: both columns on the screen at once, no figure cut off, the page still a phone's width.
    page.locator("#bt-compare").click()
    compare = page.locator("#bt-compare-table")
    expect(compare).to_contain_text("B · edited")
    _move(page, "tweet", "Home")
    _move(page, "momentum", "End")
    expect(compare.locator(".bt-better").first).to_be_attached()
    expect(page.locator("#bt-running")).to_have_count(0)
    _fits(page)
    figures = _table(page, "bt-compare-table")
    assert figures["table"] <= figures["box"], figures  # no sideways scroll needed to read A beside B
    assert figures["outside"] == 0 and figures["clipped"] == [], figures
    profit = compare.locator("#bt-compare-profit-total-abs")
    profit.scroll_into_view_if_needed()
    expect(profit.locator("td").nth(1)).to_be_in_viewport()
    expect(profit.locator("td").nth(2)).to_be_in_viewport()
