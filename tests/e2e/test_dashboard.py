"""In Chromium: the trader's live dashboard and the operators' monitor page, against the running app.

The test process plays the position monitor: a price feed it drives, the real monitor cycle on the paper
venue (ticks, trailing highs, exits, closes), on the app's own database. The page must follow every cycle
by itself (no reload): the stop line moving up as the trailing stop arms, then the close with its exit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, select

from backend import audit
from backend.auth.users import create_admin
from backend.db import get_engine, session_scope
from backend.models import Agent, AgentDeployment, MarketTick, MonitorCycle, Position, User
from backend.models.common import utcnow
from backend.models.enums import CloseReason, PositionStatus, Side
from backend.monitor.close import finish_close
from backend.monitor.cycle import Monitor
from backend.trading.fees import FeePolicy
from tests.e2e.conftest import Seeded
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory
from tests.monitor_support import CIPHER, DrivenFeed, open_paper_position, paper_registry

pytestmark = pytest.mark.e2e

SHARE = Decimal("0.10")


@pytest.fixture
def new_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Callable[..., Page]]:
    opened: list[BrowserContext] = []

    def open_page(wallet: BrowserWallet) -> Page:
        context = context_with_wallet(browser, wallet, **browser_context_args)
        opened.append(context)
        return context.new_page()

    yield open_page
    for context in opened:
        context.close()


class Driver:
    """The monitor, run by the test: a feed it sets prices on, cycles on demand, closes finished inline."""

    def __init__(self) -> None:
        self.feed = DrivenFeed()
        self.venues = paper_registry(get_engine(), self.feed)
        self.monitor = Monitor(self.venues, self._close, holder="e2e")

    def _close(self, position_id: int) -> None:
        with Session(get_engine(), expire_on_commit=False) as session:
            finish_close(
                session, position_id, venues=self.venues, cipher=CIPHER, fees=FeePolicy(creator_share=SHARE)
            )

    def cycle(self, **prices: str) -> None:
        for market, price in prices.items():
            self.feed.set(market, price)
        with Session(get_engine(), expire_on_commit=False) as session:
            self.monitor.run_cycle(session)

    def open(self, deployment_id: int, agent_id: int, market: str, price: str) -> Position:
        self.feed.set(market, price)
        with Session(get_engine(), expire_on_commit=False) as session:
            deployment, agent = session.get(AgentDeployment, deployment_id), session.get(Agent, agent_id)
            return open_paper_position(
                session, Factory(session), self.venues, deployment, agent, market, Side.LONG
            )


def sign_in(page: Page, app_url: str, wallet: BrowserWallet, path: str = "/marketplace") -> None:
    page.goto(f"{app_url}{path}")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def paper_deployment(wallet: BrowserWallet, seeded: Seeded) -> tuple[int, int]:
    with session_scope() as session:
        user = session.exec(select(User).where(User.address == wallet.address.lower())).one()
        agent = session.get(Agent, seeded.gmx_id)
        return Factory(session).paper_deployment(agent, user).id, agent.id


def stored(position_id: int) -> Position:
    with session_scope() as session:
        return session.get(Position, position_id)


def legend(page: Page, position_id: int):
    return page.locator(f"#chart-{position_id} .legendtext")


def test_positions_chart_live_through_the_trailing_stop_and_a_manual_close(
    new_page, app_url: str, seeded: Seeded
) -> None:
    wallet = BrowserWallet()
    page = new_page(wallet)
    page.goto(f"{app_url}/dashboard")  # visitors sign in first
    expect(page).to_have_url(re.compile(r"/signin/?\?next=/dashboard/?$"))
    sign_in(page, app_url, wallet)
    expect(page.locator("#account-menu")).to_be_visible()
    page.goto(f"{app_url}/dashboard")
    expect(page.locator("#dashboard-no-positions")).to_have_text("No open positions right now.")
    expect(page.locator("#closed-empty")).to_be_visible()
    deployment_id, agent_id = paper_deployment(wallet, seeded)
    driver = Driver()
    eth = driver.open(deployment_id, agent_id, "ETH", "2000")
    btc = driver.open(deployment_id, agent_id, "BTC", "60000")
    assert eth.entry_price == Decimal("2000") and btc.entry_price == Decimal("60000")

    # The account menu leads to the dashboard; each open position is a card with its chart.
    page.goto(f"{app_url}/deployments")
    expect(page.locator("#deployments-dashboard")).to_have_attribute("href", "/dashboard")
    page.locator("#account-menu").click()
    page.locator("#menu-dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    card = page.locator(f"#position-card-{eth.id}")
    expect(card).to_contain_text("ETH")
    expect(card).to_contain_text("LONG")
    expect(card).to_contain_text("Paper")
    expect(page.locator(f"#card-status-{eth.id}")).to_have_text("Open")
    expect(page.locator(f"#card-stop-{eth.id}")).to_have_text("1,800")  # the 10% hard stop
    expect(page.locator(f"#position-card-{btc.id}")).to_be_visible()
    expect(legend(page, eth.id)).to_contain_text(["Entry", "Stop"])
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # The monitor sees ETH rise: the chart draws each mid, the stop steps up once the trailing stop arms.
    driver.cycle(ETH="2020")
    expect(page.locator(f"#card-last-{eth.id}")).to_have_text("2,020")
    expect(page.locator(f"#chart-box-{eth.id}")).to_have_attribute("data-points", "1")
    expect(page.locator(f"#card-pnl-{eth.id}")).to_contain_text("+$")
    expect(legend(page, eth.id)).to_contain_text(["Entry", "Stop", "Trailing high", "Price"])
    expect(page.locator(f"#card-stop-{eth.id}")).to_have_text("1,800")
    driver.cycle(ETH="2070")  # +3.5%: armed, 1% behind the best price
    expect(page.locator(f"#card-stop-{eth.id}")).to_have_text("2,049.3")
    expect(page.locator(f"#card-best-{eth.id}")).to_have_text("2,070")
    expect(card).to_contain_text("trailing")
    driver.cycle(ETH="2100")
    expect(page.locator(f"#card-stop-{eth.id}")).to_have_text("2,079")
    expect(page.locator(f"#chart-box-{eth.id}")).to_have_attribute("data-points", "3")

    # The pullback crosses the trailing stop: the monitor closes it, the card shows the exit.
    driver.cycle(ETH="2075")
    closed = stored(eth.id)
    assert (closed.status, closed.close_reason) == (PositionStatus.CLOSED, CloseReason.TRAILING_STOP)
    assert closed.exit_price == Decimal("2075")
    expect(page.locator(f"#card-status-{eth.id}")).to_have_text("Closed · Trailing stop")
    expect(page.locator(f"#card-exit-{eth.id}")).to_have_text("2,075")
    expect(page.locator(f"#card-realized-{eth.id}")).to_contain_text("+$")
    expect(page.locator(f"#close-{eth.id}")).to_have_count(0)
    expect(legend(page, eth.id)).to_contain_text(["Exit · Trailing stop"])
    row = page.locator(f"#closed-{eth.id}")
    expect(row).to_contain_text("Trailing stop")
    expect(row).to_contain_text("2,075")
    expect(page.locator(f"#equity-{deployment_id}")).to_contain_text("$10,0")
    expect(page.locator(f"#equity-chart-{deployment_id}")).to_be_visible()
    expect(page.locator("#equity-chart-account")).to_be_visible()

    # Close by hand: confirm, "closing…" until the next cycle closes it.
    page.locator(f"#close-{btc.id}").click()
    expect(page.locator("#close-dialog")).to_contain_text("reduce-only")
    page.locator("#close-confirm").click()
    expect(page.locator(f"#closing-{btc.id}")).to_have_text("closing…")
    expect(page.locator(f"#card-status-{btc.id}")).to_have_text("Closing…")
    assert (stored(btc.id).status, stored(btc.id).close_reason) == (
        PositionStatus.CLOSING,
        CloseReason.MANUAL,
    )
    driver.cycle(BTC="60300")
    assert stored(btc.id).status == PositionStatus.CLOSED
    expect(page.locator(f"#card-status-{btc.id}")).to_have_text("Closed · Closed by you")
    expect(page.locator(f"#card-exit-{btc.id}")).to_have_text("60,300")
    expect(legend(page, btc.id)).to_contain_text(["Exit · Closed by you"])
    expect(page.locator(f"#closed-{btc.id}")).to_contain_text("Closed by you")
    assert page.evaluate("window.__sameDocument") is True


def positions_at_3x(deployment_id: int) -> tuple[int, int]:
    """An open 3x BNB long the monitor has seen at 808, and a BTC long its trailing stop closed at 61,000.

    BNB: no other test here trades it, so no other test's ticks move its mark."""
    now = utcnow()
    with session_scope() as session:
        held = Position(
            deployment_id=deployment_id,
            venue="PAPER",
            market="BNB",
            side=Side.LONG,
            size=Decimal("1"),
            leverage=Decimal("3"),
            entry_price=Decimal("800"),
            entry_fee=Decimal("0.45"),
            opened_at=now - timedelta(minutes=2),
        )
        done = Position(
            deployment_id=deployment_id,
            venue="PAPER",
            market="BTC",
            side=Side.LONG,
            size=Decimal("0.01"),
            leverage=Decimal("3"),
            entry_price=Decimal("60000"),
            exit_price=Decimal("61000"),
            entry_fee=Decimal("0.27"),
            exit_fee=Decimal("0.27"),
            realized_pnl=Decimal("9.46"),
            status=PositionStatus.CLOSED,
            close_reason=CloseReason.TRAILING_STOP,
            opened_at=now - timedelta(hours=3),
            closed_at=now - timedelta(hours=2),
        )
        session.add_all([held, done])
        session.add(
            MarketTick(venue="PAPER", market="BNB", at=now - timedelta(minutes=1), price=Decimal("808"))
        )
        session.flush()
        return held.id, done.id


def test_position_lines_and_figures_on_both_pages_and_on_a_phone(
    new_page, app_url: str, seeded: Seeded
) -> None:
    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet)
    deployment_id, _ = paper_deployment(wallet, seeded)
    held, done = positions_at_3x(deployment_id)

    # The card: take-profit (the agent's 20%) and the 3x liquidation price (BNB's max leverage is 10), at
    # BNB's 0.01 tick; size in BNB, notional and margin in dollars; the chart names all three lines (far
    # from the price path: at its edge, with their prices).
    page.goto(f"{app_url}/dashboard")
    expect(page.locator(f"#card-tp-{held}")).to_have_text("960")
    expect(page.locator(f"#card-liq-{held}")).to_have_text("561.4")  # 800 x (2/3) / (1 - 1/20)
    expect(page.locator(f"#card-size-{held}")).to_have_text("1 BNB · $808.00 notional · $266.67 margin")
    expect(page.locator(f"#chart-{held} .annotation-text")).to_contain_text(
        ["▼ Stop 720", "▲ Take profit 960", "▼ Liquidation 561.4"]
    )

    # /deployments: the open position's unrealised PnL, return on margin, mark and lines.
    page.goto(f"{app_url}/deployments")
    expect(page.locator(f"#position-pnl-{held}")).to_have_text("+$7.55")  # 1 x 8, less the 0.45 fee
    expect(page.locator(f"#position-pnl-note-{held}")).to_have_text("+3.00% on margin")
    expect(page.locator(f"#position-mark-{held}")).to_have_text("808")
    expect(page.locator(f"#position-stop-{held}")).to_have_text("720")
    expect(page.locator(f"#position-liq-{held}")).to_have_text("561.4")
    expect(page.locator(f"#equity-{deployment_id}")).to_have_text("$10,017.46")  # + 9.46 closed + 8 open
    # The closed one: exit price, why it closed, realised net and each fee.
    page.locator("#positions-status").get_by_role("radio", name="Closed").click()
    expect(page.locator(f"#position-mark-{done}")).to_have_text("61,000")
    expect(page.locator(f"#position-reason-{done}")).to_have_text("Trailing stop")
    expect(page.locator(f"#position-pnl-{done}")).to_have_text("+$9.46")
    expect(page.locator(f"#position-fees-{done}")).to_have_text("$0.27 open + $0.27 close + $0.00 Maxxit")

    # On a phone: no page-wide sideways scroll; tables scroll in their box; the buttons can be reached.
    page.set_viewport_size(PHONE)
    page.goto(f"{app_url}/deployments")
    cancel = page.locator(f"#cancel-{deployment_id}")
    expect(cancel).to_be_visible()
    cancel.scroll_into_view_if_needed()
    box = cancel.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 40
    assert fit(page).fits
    page.goto(f"{app_url}/dashboard")
    expect(page.locator(f"#card-liq-{held}")).to_be_visible()
    assert fit(page).fits


def record_cycles_and_a_finding() -> None:
    """Three cycles of the last seconds, as a running monitor leaves them, and one reconciliation finding."""
    now = utcnow()
    with session_scope() as session:
        for seconds, ms in ((1, "41.5"), (6, "12.5"), (11, "20")):
            session.add(
                MonitorCycle(
                    started_at=now - timedelta(seconds=seconds),
                    duration_ms=Decimal(ms),
                    positions_watched=17,
                    venue_requests=40,
                    holder="e2e",
                )
            )
        audit.record(
            session,
            action="reconcile.closed_outside",
            entity_type="position",
            entity_id=4242,
            details={"market": "ETH", "venue": "HYPERLIQUID"},
        )


REFUSAL = "User or API Wallet 0xabc does not exist."


def refused_close(wallet: BrowserWallet, seeded: Seeded) -> int:
    """A position whose close the venue refused while still holding it, as `finish_close` leaves it."""
    deployment_id, _ = paper_deployment(wallet, seeded)
    with session_scope() as session:
        position = Position(
            deployment_id=deployment_id,
            venue="PAPER",
            market="ETH",
            side=Side.LONG,
            size=Decimal("0.5"),
            entry_price=Decimal("2000"),
            status=PositionStatus.CLOSING,
            close_reason=CloseReason.STOP_LOSS,
            close_error=REFUSAL,
            close_attempts=3,
            next_close_attempt_at=utcnow() + timedelta(seconds=20),
        )
        session.add(position)
        session.flush()
        return position.id


def test_admins_see_the_monitor_and_traders_do_not(new_page, app_url: str, seeded: Seeded) -> None:
    trader = BrowserWallet()
    page = new_page(trader)
    sign_in(page, app_url, trader)
    page.goto(f"{app_url}/admin/monitor")
    expect(page.locator("#admins-only")).to_have_text("Admins only")

    # A close the venue refused: the trader reads it on the card and in the positions table.
    refused = refused_close(trader, seeded)
    notice = f"Close refused by the venue: {REFUSAL}; retrying"
    page.goto(f"{app_url}/dashboard")
    expect(page.locator(f"#card-status-{refused}")).to_have_text("Close refused")
    expect(page.locator(f"#card-refused-{refused}")).to_contain_text(notice)
    page.goto(f"{app_url}/deployments")
    expect(page.locator(f"#position-refused-{refused}")).to_have_text(notice)

    admin = BrowserWallet()
    with session_scope() as session:
        create_admin(session, admin.address)
    page = new_page(admin)
    sign_in(page, app_url, admin)
    record_cycles_and_a_finding()
    page.locator("#account-menu").click()
    page.locator("#menu-admin-monitor").click()
    expect(page).to_have_url(re.compile(r"/admin/monitor/?$"))
    expect(page.locator("#monitor-state")).to_have_text("Running")
    expect(page.locator("#monitor-positions")).to_have_text("17")
    expect(page.locator("#monitor-median")).to_have_text(re.compile(r"^[\d,]+\.\d ms$"))
    expect(page.locator("#monitor-max")).to_have_text(re.compile(r"^[\d,]+\.\d ms$"))
    expect(page.locator("#monitor-requests")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#monitor-budget")).to_contain_text("of 240 per minute")
    expect(page.locator("#monitor-limit")).to_contain_text("Hyperliquid's 1,200 weight per minute")
    expect(page.locator("#monitor-budget-bar")).to_be_visible()
    finding = page.locator("#monitor-findings .finding-row").filter(has_text="position #4242")
    expect(finding).to_contain_text("Closed outside")
    expect(finding).to_contain_text('"market": "ETH"')
    attention = page.locator(f"#attention-{refused}")
    expect(attention).to_contain_text(REFUSAL)
    expect(attention).to_contain_text(trader.short_address)
    expect(attention).to_contain_text("Paper")
    expect(attention).to_contain_text("3")
