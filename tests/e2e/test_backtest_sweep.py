"""In Chromium on a 390 px wide phone: the sweep page from an agent's link to its heatmap.

The sweep's Huey task runs inline where the page queues it (no consumer runs beside the harness); the page's
timer then finds the row done and draws the grid. A bad value is refused beside its field first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import col, select

from backend.db import session_scope
from backend.models import BacktestRun
from tests.backtest_data import History, backtest_history
from tests.e2e.conftest import Seeded
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory

pytestmark = pytest.mark.e2e


@pytest.fixture
def phone_page(
    browser: Browser, browser_context_args: dict[str, Any]
) -> Iterator[Callable[[BrowserWallet], Page]]:
    opened: list[BrowserContext] = []

    def open_page(wallet: BrowserWallet) -> Page:
        context = context_with_wallet(browser, wallet, **{**browser_context_args, "viewport": PHONE})
        opened.append(context)
        return context.new_page()

    yield open_page
    for context in opened:
        context.close()


@pytest.fixture
def inline_tasks(app_url: str) -> Iterator[None]:
    """Huey runs the sweep where the page queues it, for this test only."""
    from tasks.app import huey

    before = huey.immediate
    huey.immediate = True
    yield
    huey.immediate = before


@pytest.fixture
def history(app_url: str, seeded: Seeded) -> History:
    with session_scope() as session:
        return backtest_history(Factory(session))


def test_a_sweep_from_the_form_to_the_heatmap_on_a_phone(phone_page, app_url, history, inline_tasks) -> None:
    wallet = BrowserWallet()
    page = phone_page(wallet)
    page.goto(f"{app_url}/backtests/sweep?agent={history.agent.id}")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)
    expect(page.locator("#sweep-heading")).to_be_visible()
    expect(page.locator("#sweep-agent")).to_contain_text(history.agent.name)

    page.locator("#sweep-x_values").fill("0, 101")
    page.locator("#sweep-start").click()
    expect(page.locator("#sweep-error-x_values")).to_contain_text("whole number from 0 to 100")

    page.locator("#sweep-x_values").fill("40, 80")
    page.locator("#sweep-y_values").fill("0.3, 0.6")
    page.locator("#sweep-start").click()
    heatmap = page.locator("#sweep-heatmap")
    expect(heatmap).to_be_visible(timeout=60_000)
    expect(heatmap.locator(".heatmaplayer")).to_have_count(1)

    heatmap.locator(".nsewdrag").first.click()  # the middle of the grid: one of its cells
    expect(page.locator("#sweep-cell")).to_contain_text("Total profit")
    assert fit(page).fits

    with session_scope() as session:
        rows = session.exec(
            select(BacktestRun).where(
                col(BacktestRun.kind) == "sweep", BacktestRun.agent_id == history.agent.id
            )
        ).all()
        assert [(r.status, r.progress_done, r.progress_total) for r in rows] == [("done", 4, 4)]
