"""In Chromium against the running app: an operator manages CT accounts and pastes a post, then sees it read.

The classifier runs inline (Huey's immediate mode, in the app's process), so the pasted post's classification
reaches the page through its own refresh, with no separate consumer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, func, select

from backend.agents.reference import ensure_reference_book
from backend.audit import Action
from backend.auth.users import create_admin
from backend.db import make_engine, session_scope
from backend.models import Agent, AuditLog, CtAccount, CtPost, TokenRegistry
from tests.e2e.conftest import Seeded
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory

pytestmark = pytest.mark.e2e

PASTED = "$SOL breakout, longing here"
ARRIVING = "$ETH looks heavy here"


@pytest.fixture(scope="module")
def sol_listed(seeded: Seeded) -> None:
    """SOL in the token registry: a token outside it is never a signal."""
    engine = make_engine(seeded.url)
    with Session(engine) as session:
        if session.exec(select(TokenRegistry).where(TokenRegistry.symbol == "SOL")).first() is None:
            Factory(session).tokens("SOL")
    engine.dispose()


@pytest.fixture
def classify_inline(app_url: str) -> Iterator[None]:
    """The app's Huey runs tasks where they are queued (the app runs in this process) for this test only."""
    from tasks.app import huey

    before = huey.immediate
    huey.immediate = True
    yield
    huey.immediate = before


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


def _sign_in(page: Page, app_url: str, wallet: BrowserWallet) -> None:
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def _accounts_count() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(CtAccount)).one()


def _account(handle: str) -> CtAccount | None:
    with session_scope() as session:
        return session.exec(select(CtAccount).where(func.lower(CtAccount.handle) == handle.lower())).first()


def test_traders_see_admins_only(new_page, app_url: str) -> None:
    trader = BrowserWallet()
    page = new_page(trader)
    _sign_in(page, app_url, trader)
    for path in ("/admin/ct-accounts", "/admin/posts"):
        page.goto(f"{app_url}{path}")
        expect(page.locator("#admins-only")).to_have_text("Admins only")
    expect(page.locator("#ct-add")).to_have_count(0)
    expect(page.locator("#paste-submit")).to_have_count(0)


def test_admin_adds_pauses_and_pastes_a_post(
    new_page, app_url: str, sol_listed: None, classify_inline
) -> None:
    admin = BrowserWallet()
    with session_scope() as session:
        create_admin(session, admin.address)
    page = new_page(admin)
    _sign_in(page, app_url, admin)
    page.locator("#account-menu").click()
    page.locator("#menu-admin-ct-accounts").click()
    expect(page).to_have_url(re.compile(r"/admin/ct-accounts/?$"))
    expect(page.locator("#ct-accounts-table")).to_contain_text("@e2e_caller")

    # A handle X would refuse is refused beside the field, and nothing is saved.
    before = _accounts_count()
    page.locator("#ct-handle").fill("not a handle!")
    page.locator("#ct-add").click()
    expect(page.locator("#field-error-handle")).to_have_text("1-15 letters, digits or underscores, as on X.")
    assert _accounts_count() == before

    page.locator("#ct-handle").fill("@e2e_sol_caller")
    page.locator("#ct-display-name").fill("SOL Caller")
    expect(page.locator("#field-error-handle")).to_have_count(0)
    page.locator("#ct-add").click()
    expect(page.locator("#ct-accounts-table")).to_contain_text("@e2e_sol_caller")
    account = _account("e2e_sol_caller")
    assert account is not None and account.display_name == "SOL Caller"
    status = page.locator(f"#status-{account.id}")
    expect(status).to_have_text("Active")

    page.locator("#ct-handle").fill("E2E_SOL_CALLER")
    page.locator("#ct-add").click()
    expect(page.locator("#field-error-handle")).to_have_text("Already followed.")
    assert _accounts_count() == before + 1

    page.locator(f"#pause-{account.id}").click()
    expect(status).to_have_text("Paused")
    assert _account("e2e_sol_caller").is_active is False
    page.locator(f"#resume-{account.id}").click()
    expect(status).to_have_text("Active")

    # From the account to its posts; a pasted post is stored, then classified while the page is open.
    page.locator(f"#posts-link-{account.id}").click()
    expect(page).to_have_url(re.compile(rf"/admin/posts/?\?account={account.id}$"))
    expect(page.locator("#posts-empty")).to_be_visible()
    page.locator("#paste-submit").click()
    expect(page.locator("#field-error-paste-text")).to_have_text("The post's text is empty.")
    page.locator("#paste-text").fill(PASTED)
    page.locator("#paste-submit").click()
    expect(page.locator("[data-sonner-toast]").filter(has_text="Post stored")).to_have_count(1)
    row = page.locator("#posts-table .post-row").filter(has_text=PASTED)
    expect(row).to_have_count(1)
    expect(row.locator(".post-status")).to_have_text("Signal")
    expect(row.locator(".post-token")).to_have_text("SOL")
    expect(row.locator(".post-side")).to_have_text("long")
    expect(page.locator("#paste-text")).to_have_value("")
    with session_scope() as session:
        [post] = session.exec(select(CtPost).where(CtPost.ct_account_id == account.id)).all()
        assert (post.source, post.text, post.is_signal, post.token) == ("manual", PASTED, True, "SOL")

    # A post that a worker stores while the page is open shows up without a click (the page re-reads itself).
    with session_scope() as session:
        Factory(session).post(session.get(CtAccount, account.id), text=ARRIVING)
    arriving = page.locator("#posts-table .post-row").filter(has_text=ARRIVING)
    expect(arriving.locator(".post-status")).to_have_text("Classifying…")
    expect(page.locator("#posts-table .post-row").first).to_contain_text(ARRIVING)  # newest first

    # Removing asks first; the account leaves the table, its post stays.
    page.locator("#ct-accounts-link").click()
    expect(page).to_have_url(re.compile(r"/admin/ct-accounts/?$"))
    page.locator(f"#remove-{account.id}").click()
    expect(page.locator("#remove-dialog")).to_contain_text("@e2e_sol_caller")
    page.locator("#remove-confirm").click()
    expect(page.locator(f"#ct-account-{account.id}")).to_have_count(0)
    assert _account("e2e_sol_caller").removed_at is not None
    page.goto(f"{app_url}/admin/posts?account={account.id}")
    expect(page.locator("#posts-table .post-row")).to_have_count(2)


def test_admin_rebuilds_metrics_with_a_progress_bar(new_page, app_url: str, seeded: Seeded) -> None:
    """The button recomputes figures and impact factors from stored reference-book trades, audited."""
    with session_scope() as session:
        f = Factory(session)
        caller = session.exec(select(CtAccount).where(CtAccount.handle == seeded.handle)).one()
        agent = session.get(Agent, seeded.gmx_id)
        book = ensure_reference_book(session, agent, capital=Decimal("10000"))
        session.commit()
        post = f.post(caller, text="$ETH long here")
        f.closed_position(book, Decimal("30"), days_ago=0.5, signal_id=f.signal(agent, post, token="ETH").id)
        admin = BrowserWallet()
        create_admin(session, admin.address)
        caller_id = caller.id
    page = new_page(admin)
    _sign_in(page, app_url, admin)
    page.goto(f"{app_url}/admin/ct-accounts")
    expect(page.locator(f"#ct-account-{caller_id}")).to_contain_text("no calls yet")

    page.locator("#rebuild-metrics").click()
    expect(page.locator("#rebuild-label")).to_have_text(
        re.compile(r"^Rebuilt \d+ agents' figures and \d+ impact")
    )
    expect(page.locator("#rebuild-progress")).to_be_visible()
    expect(page.locator(f"#ct-account-{caller_id}")).to_contain_text("· 1 call")
    with session_scope() as session:
        stored = session.get(Agent, seeded.gmx_id)
        assert (stored.trades_count, stored.total_pnl) == (1, Decimal("30.00"))
        audited = session.exec(select(AuditLog).where(AuditLog.action == Action.METRICS_REBUILT)).all()
        assert [a.actor for a in audited] == [admin.address.lower()]
