"""In Chromium against the running app with the demo loaded: an agent's signal history and why each traded."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from backend.db import make_engine
from backend.demo import catalog
from backend.execution.reasons import SkipCategory, skip_reason
from backend.models import Agent
from backend.models.enums import SignalStatus, Visibility
from tests.e2e.conftest import DemoDatabases, Seeded
from tests.e2e.phone import PHONE, overflowing
from tests.factories import Factory

pytestmark = pytest.mark.e2e

DEMO_AGENT = catalog.AGENTS[0]  # a public demo agent with months of executed signals


@dataclasses.dataclass(frozen=True)
class Demo:
    agent_id: int
    agent_name: str
    quiet_id: int  # a public agent with pending and skipped signals only
    private_id: int  # someone else's private agent


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request: pytest.FixtureRequest, demo_databases: DemoDatabases) -> Iterator[Seeded]:
    """conftest's seeded database with the demo loaded too (a copy of the session's: seeding takes long)."""
    with demo_databases.copy(request.param) as seeded:
        yield seeded


@pytest.fixture(scope="module")
def demo(seeded: Seeded) -> Iterator[Demo]:
    """The demo on the module's database, plus the signal states the demo does not produce."""
    engine = make_engine(seeded.url)
    with Session(engine, expire_on_commit=False) as session:
        agent = session.exec(select(Agent).where(Agent.name == DEMO_AGENT.name)).one()
        f = Factory(session)
        caller = f.ct_account(handle="e2e_signals_caller")
        quiet = f.agent(name="Quiet Trader", follows=[caller])
        f.signal(quiet, f.post(caller, text="$SOL looks ready"), token="SOL", status=SignalStatus.PENDING)
        f.signal(
            quiet,
            f.post(caller, text="$DOGE to the moon"),
            token="DOGE",
            status=SignalStatus.SKIPPED,
            skip_reason="no deployments of this agent",
        )
        private = f.agent(name="Secret Sauce", visibility=Visibility.PRIVATE)
        f.signal(private, score=Decimal("0.9"))
        yield Demo(agent.id, agent.name, quiet.id, private.id)
    engine.dispose()


def test_from_the_agent_page_to_why_a_signal_traded(page: Page, app_url: str, demo: Demo) -> None:
    page.goto(f"{app_url}/agents/{demo.agent_id}")
    expect(page.locator("#agent-name")).to_have_text(demo.agent_name)
    page.locator("#all-signals-link").click()

    expect(page).to_have_url(re.compile(rf"/agents/{demo.agent_id}/signals/?$"))
    expect(page.locator("#signals-heading")).to_contain_text(demo.agent_name)
    expect(page.locator("#signals-threshold")).to_have_text("0.55")
    rows = page.locator("#signals-history .signal-row")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text(re.compile(r"Traded: \d+ positions?"))
    expect(rows.first).to_contain_text("≥ 0.55")
    expect(page.locator("#signals-page-label")).to_contain_text("Page 1 of")

    rows.first.click()
    explanation = page.locator("#signal-explanation")
    expect(explanation).to_be_visible()
    expect(page.locator("#feature-chart .js-plotly-plot")).to_be_visible()
    expect(page.locator("#feature-chart")).to_contain_text("Weighted contribution")
    expect(page.locator("#feature-table")).to_contain_text("Momentum")
    expect(page.locator("#explanation-score")).to_contain_text("threshold of 0.55")

    page.locator("#explanation-close").click()
    expect(explanation).to_have_count(0)


def test_the_explanation_opens_right_under_the_row_clicked(page: Page, app_url: str, demo: Demo) -> None:
    page.goto(f"{app_url}/agents/{demo.agent_id}/signals")
    rows = page.locator("#signals-history .signal-row")
    expect(rows).to_have_count(25)
    for index in (12, 3):  # a row far down the table, then one near its top
        row = rows.nth(index)
        row.click()
        explanation = page.locator("#signal-explanation")
        expect(explanation).to_be_visible()
        expect(row).to_have_attribute("aria-expanded", "true")
        below, under = row.bounding_box(), explanation.bounding_box()
        assert below is not None and under is not None
        assert 0 <= under["y"] - (below["y"] + below["height"]) <= 24, (below, under)
    expect(page.locator("#signal-explanation")).to_have_count(1)  # one open at a time
    rows.nth(3).click()
    expect(page.locator("#signal-explanation")).to_have_count(0)


def test_on_a_phone_the_signals_page_stays_inside_the_screen(page: Page, app_url: str, demo: Demo) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{app_url}/agents/{demo.agent_id}/signals")
    rows = page.locator("#signals-history .signal-row")
    expect(rows).to_have_count(25)
    rows.first.click()
    expect(page.locator("#feature-chart .js-plotly-plot")).to_be_visible()
    assert overflowing(page) == []
    explanation = page.locator("#signal-explanation").bounding_box()
    assert (
        explanation is not None and explanation["x"] >= 0 and explanation["x"] + explanation["width"] <= 390
    )
    for button in ("#explanation-close", "#signals-next"):
        box = page.locator(button).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, button


def test_token_filter_and_pages(page: Page, app_url: str, demo: Demo) -> None:
    page.goto(f"{app_url}/agents/{demo.agent_id}/signals")
    rows = page.locator("#signals-history .signal-row")
    expect(rows).to_have_count(25)

    page.locator("#signals-next").click()
    expect(page.locator("#signals-page-label")).to_contain_text("Page 2 of")

    token = DEMO_AGENT.tokens[0]
    page.locator("#token-filter").fill(token.lower())
    expect(page.locator("#signals-page-label")).to_contain_text("Page 1 of")
    expect(rows.first).to_contain_text(token)
    for text in rows.locator("td:nth-child(1)").all_inner_texts():
        assert text == token

    page.locator("#token-filter").fill("zzz")
    expect(page.locator("#signals-empty")).to_have_text("No ZZZ signals yet.")
    page.locator("#token-clear").click()
    expect(rows).to_have_count(25)


def test_pending_and_skipped_outcomes(page: Page, app_url: str, demo: Demo) -> None:
    page.goto(f"{app_url}/agents/{demo.quiet_id}/signals")
    rows = page.locator("#signals-history .signal-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="SOL")).to_contain_text("Awaiting execution")
    expect(rows.filter(has_text="DOGE")).to_contain_text("Skipped: no deployments of this agent")
    expect(rows.filter(has_text="DOGE")).to_contain_text("@e2e_signals_caller")


def test_empty_history_explains_when_an_agent_trades(page: Page, app_url: str, seeded: Seeded) -> None:
    page.goto(f"{app_url}/agents/{seeded.gmx_id}/signals")
    expect(page.locator("#signals-heading")).to_contain_text(seeded.gmx_name)
    expect(page.locator("#signals-empty")).to_have_text(
        "No signals yet — this agent trades when accounts it follows post a call that scores above its "
        "threshold."
    )


def test_private_and_unknown_agents_are_not_found(page: Page, app_url: str, demo: Demo) -> None:
    page.goto(f"{app_url}/agents/{demo.private_id}/signals")
    expect(page.locator("#agent-not-found")).to_have_text("Agent not found")
    page.goto(f"{app_url}/agents/999999/signals")
    expect(page.locator("#agent-not-found")).to_be_visible()


@dataclasses.dataclass(frozen=True)
class Followed:
    agent_id: int
    agent_name: str


# Distinctive values of one trader's deployment, none of which a visitor's page may carry.
DEPLOYMENT_ID, POSITION_ID, SIZE = 987_654, 876_543, Decimal("7.654321")
# Whole tokens only: a bare "123.45" or "7.6543" can be a coordinate in a chart's SVG path.
PRIVATE_VALUES = ("987654", "987,654", "876543", "876,543", "7.654321", "$123.45", "$30.00")


@pytest.fixture(scope="module")
def followed(seeded: Seeded) -> Iterator[Followed]:
    """A public agent whose signal one trader traded (a distinctive size) and another's could not afford."""
    engine = make_engine(seeded.url)
    with Session(engine, expire_on_commit=False) as session:
        f = Factory(session)
        caller = f.ct_account(handle="e2e_leak_caller")
        agent = f.agent(name="Leak Check", follows=[caller])
        signal = f.signal(agent, f.post(caller, text="$ETH breakout"), token="ETH")
        traded = f.deployment(agent, id=DEPLOYMENT_ID)
        f.closed_position(traded, Decimal("5"), id=POSITION_ID, signal_id=signal.id, market="ETH", size=SIZE)
        untraded = f.signal(agent, f.post(caller, text="$BTC breakout"), token="BTC")
        broke = f.deployment(agent)
        reason = skip_reason(SkipCategory.INSUFFICIENT_BALANCE, "$123.45 available, $30.00 kept in reserve")
        for skipped in (signal, untraded):
            f.execution(skipped, broke, reason=reason)
        yield Followed(agent.id, agent.name)
    engine.dispose()


def test_a_visitor_gets_no_deployment_id_size_or_balance(
    page: Page, app_url: str, followed: Followed
) -> None:
    """Neither the rendered page nor anything the websocket sent carries another trader's position."""
    frames: list[str] = []

    def record(socket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", record)
    page.goto(f"{app_url}/agents/{followed.agent_id}")
    expect(page.locator("#agent-name")).to_have_text(followed.agent_name)
    signals = page.locator("#signals-table")
    expect(signals).to_contain_text("Partly traded: 1 position, 1 skipped (insufficient balance)")
    expect(signals).to_contain_text("Not traded: 1 deployment skipped (insufficient balance)")
    expect(page.locator("#positions-table")).to_have_count(0)
    assert any("insufficient balance" in frame for frame in frames)  # the state did travel by these frames
    html = [page.content()]

    page.goto(f"{app_url}/agents/{followed.agent_id}/signals")
    rows = page.locator("#signals-history .signal-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="BTC")).to_contain_text(
        "Not traded: 1 deployment skipped (insufficient balance)"
    )
    rows.filter(has_text="ETH").click()
    expect(page.locator("#signal-explanation")).to_contain_text("1 skipped (insufficient balance)")
    expect(page.locator("#explanation-mine")).to_have_count(0)

    html.append(page.content())
    for value in PRIVATE_VALUES:
        assert not [text for text in html if value in text], value
        assert not [frame for frame in frames if value in frame], value


def _badge(page: Page, scope: str, text: str) -> dict[str, str]:
    """The outcome badge saying `text` in `scope`: its kind, colour, and whether it fits in its cell."""
    badge = page.locator(f"{scope} .outcome-badge", has_text=text)
    expect(badge).to_have_count(1)
    return badge.evaluate(
        """b => {
            const cell = b.closest('td').getBoundingClientRect(), box = b.getBoundingClientRect();
            return {kind: b.dataset.outcome, colour: getComputedStyle(b).color,
                    fits: String(box.left >= cell.left - 1 && box.right <= cell.right + 1)};
        }"""
    )


def test_both_pages_say_and_colour_an_outcome_the_same_way(
    page: Page, app_url: str, followed: Followed
) -> None:
    partly = "Partly traded: 1 position, 1 skipped (insufficient balance)"
    untraded = "Not traded: 1 deployment skipped (insufficient balance)"
    page.goto(f"{app_url}/agents/{followed.agent_id}")
    expect(page.locator("#signals-table")).to_contain_text(untraded)
    on_agent_page = {text: _badge(page, "#signals-table", text) for text in (partly, untraded)}
    page.goto(f"{app_url}/agents/{followed.agent_id}/signals")
    expect(page.locator("#signals-history")).to_contain_text(untraded)
    on_signals_page = {text: _badge(page, "#signals-history", text) for text in (partly, untraded)}

    assert on_agent_page == on_signals_page
    assert on_signals_page[partly]["kind"] == "partly_traded"
    assert on_signals_page[untraded]["kind"] == "not_traded"
    assert on_signals_page[partly]["colour"] != on_signals_page[untraded]["colour"]
    assert all(badge["fits"] == "true" for badge in on_signals_page.values())
