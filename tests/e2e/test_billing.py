"""In Chromium against the running app: a trader's Billing page and a printable invoice.

The billing picture is written through the models (tests.billing_rows): a live Hyperliquid deployment with
its subscription, this month's running charges (one a builder fee the venue collected), and an open invoice.
The trader opens /billing from the account menu, reads the figures, opens the invoice, prints it and exports
it as CSV. Paper deployments say they are free. A fresh trader sees the model explained. Then Pay: the app
prepares a usdSend to PLATFORM_ADDRESS on the local Hyperliquid server, the injected wallet signs the typed
data, the server submits and confirms it, and the invoice shows Paid.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.config import get_settings
from backend.db import session_scope
from backend.models import Invoice, Subscription
from backend.models.common import utcnow
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    ExecutionVenue,
    InvoiceStatus,
    SubscriptionStatus,
    Venue,
)
from maxxit_ui.state.billing_rows import PAPER_IS_FREE
from tests.billing_support import invoice, line, subscription
from tests.e2e.conftest import Seeded, _database, _seed
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory
from tests.hyperliquid_server import HyperliquidServer

pytestmark = pytest.mark.e2e

PLATFORM = Account.create()
HL_FUNDS = Decimal(1_000)
SANDBOX_FAUCET = Decimal(1_000)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """SQLite only: the ledger, the payments and the reads behind these pages run on both databases in
    tests/integration; one browser pass over the pages is enough (and keeps `make test` within budget)."""
    with _database("sqlite", tmp_path_factory) as url:
        yield _seed(url)


@pytest.fixture(scope="module")
def hl_server() -> Iterator[HyperliquidServer]:
    with HyperliquidServer(faucet_usd=SANDBOX_FAUCET) as server:
        yield server


@pytest.fixture(scope="module")
def app_url(hl_server: HyperliquidServer, app_url_env: None, app_url: str) -> str:
    """conftest's app, started only once Hyperliquid and the platform's address are set."""
    assert get_settings().platform_address == PLATFORM.address
    return app_url


@pytest.fixture(scope="module")
def app_url_env(hl_server: HyperliquidServer) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYPERLIQUID_API", hl_server.url)
        mp.setenv("PLATFORM_ADDRESS", PLATFORM.address)
        # As `maxxit up` runs the demo: the server is the Hyperliquid sandbox with its faucet.
        mp.setenv("HYPERLIQUID_SANDBOX_URL", hl_server.url)
        mp.setenv("SANDBOX_FAUCET_USD", str(SANDBOX_FAUCET))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@dataclass(frozen=True)
class Picture:
    invoice_id: int
    number: str
    subscription_id: int
    paper_id: int


@pytest.fixture
def new_page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Callable[..., Page]]:
    opened: list[BrowserContext] = []

    def open_page(wallet: BrowserWallet, **overrides: Any) -> Page:
        context = context_with_wallet(browser, wallet, **{**browser_context_args, **overrides})
        opened.append(context)
        return context.new_page()

    yield open_page
    for context in opened:
        context.close()


def sign_in(page: Page, app_url: str, wallet: BrowserWallet) -> None:
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def open_billing(page: Page) -> None:
    page.locator("#account-menu").click()
    page.locator("#menu-billing").click()
    expect(page).to_have_url(re.compile(r"/billing/?$"))


def sends_of(hl_server: HyperliquidServer, wallet: BrowserWallet) -> list[Any]:
    """The usdSends this wallet made on the module's Hyperliquid server (other tests' are there too)."""
    return [s for s in hl_server.state.sends if s.user == wallet.address.lower()]


def billed_trader(wallet: BrowserWallet) -> Picture:
    """A trader with a live deployment in its trial, this month's charges, an open invoice for last month."""
    now = utcnow()
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = this_month - timedelta(days=1)
    with session_scope() as session:
        f = Factory(session)
        trader = f.user(address=wallet.address.lower())
        agent = f.agent(name="Billed Momentum", venue=Venue.HYPERLIQUID)
        live = f.deployment(agent, trader, venue=ExecutionVenue.HYPERLIQUID, user_wallet=trader.address)
        paper = f.paper_deployment(f.agent(name="Paper Swing"), trader)
        sub = subscription(session, live, SubscriptionStatus.TRIALING, trial_ends_at=now + timedelta(days=12))
        position = f.closed_position(live, Decimal(15), market="ETH")
        on = {"deployment": live, "position": position}
        line(session, trader, "0.20", at=now - timedelta(minutes=5), description="Trade fee: ETH", **on)
        line(
            session,
            trader,
            "1.5",
            at=now - timedelta(minutes=4),
            kind=BillingKind.PROFIT_SHARE,
            beneficiary=Beneficiary.CREATOR,
            description="Profit share: ETH",
            **on,
        )
        line(
            session,
            trader,
            "0.0354",
            at=now - timedelta(minutes=3),
            status=BillingStatus.COLLECTED,
            description="Builder fee: ETH",
            **on,
        )
        issued = this_month + timedelta(minutes=1)
        owed = invoice(
            session,
            trader,
            last.replace(day=1),
            InvoiceStatus.OPEN,
            "20.40",
            issued_at=issued,
            due_at=issued + timedelta(days=14),
        )
        at = last.replace(day=10)
        invoiced = {"status": BillingStatus.INVOICED, "invoice": owed, "at": at, "deployment": live}
        line(session, trader, "0.40", description="Trade fees: 2 trades", **invoiced)
        line(session, trader, "20", kind=BillingKind.SUBSCRIPTION, description="Subscription", **invoiced)
        return Picture(owed.id, owed.number or "", sub.id, paper.id)


def test_a_new_trader_reads_how_billing_works(new_page, app_url: str, seeded: Seeded) -> None:
    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet)
    open_billing(page)
    empty = page.locator("#billing-empty")
    expect(empty).to_contain_text("Paper trading is free: no fees, no subscription.")
    expect(empty).to_contain_text("0.20 USDC per executed trade")
    expect(empty).to_contain_text("10% to the agent's creator and 10% to the signal's sources")
    expect(empty).to_contain_text("free for 30 days, then 20.00 USDC a month")
    expect(empty).to_contain_text("your own wallet")

    # Deploying to paper says it is free, before and at the review.
    page.goto(f"{app_url}/agents/{seeded.gmx_id}/deploy")
    page.locator("#deploy-next").click()
    expect(page.locator("#deploy-billing-note")).to_have_text(PAPER_IS_FREE)
    page.locator("#deploy-next").click()
    page.locator("#deploy-next").click()
    expect(page.locator("#deploy-review-billing-note")).to_have_text(PAPER_IS_FREE)


def test_billing_page_and_printable_invoice(new_page, app_url: str, seeded: Seeded) -> None:
    wallet = BrowserWallet()
    picture = billed_trader(wallet)
    page = new_page(wallet)
    sign_in(page, app_url, wallet)
    open_billing(page)

    # Totals: what will be invoiced excludes the builder fee the venue already took.
    expect(page.locator("#billing-current-total")).to_have_text("1.70 USDC")
    expect(page.locator("#billing-collected")).to_have_text("0.04 USDC")
    expect(page.locator("#billing-outstanding")).to_have_text("20.40 USDC")

    sub = picture.subscription_id
    expect(page.locator(f"#sub-status-{sub}")).to_have_text("Trial")
    expect(page.locator(f"#sub-period-{sub}")).to_contain_text("Trial until")
    expect(page.locator(f"#subscription-{sub}")).to_contain_text("20.00 USDC / month")

    expect(page.locator(".line-row")).to_have_count(3)
    expect(page.locator("#lines-table")).to_contain_text("Profit share (to the agent's creator)")
    expect(page.locator("#lines-table")).to_contain_text("ETH · Billed Momentum")
    expect(page.locator("[id^=collected-]")).to_have_text(["collected by the venue"])

    row = page.locator(f"#invoice-row-{picture.invoice_id}")
    expect(row).to_contain_text("Open")
    expect(row).to_contain_text("20.40 USDC")

    # Works on a phone: nothing wider than the screen but the tables, which scroll inside their cards.
    page.set_viewport_size(PHONE)
    expect(page.locator("#billing-heading")).to_be_visible()
    assert fit(page).fits
    page.set_viewport_size({"width": 1366, "height": 900})

    # The invoice: printable, exportable.
    page.locator(f"#invoice-link-{picture.invoice_id}").click()
    expect(page).to_have_url(re.compile(rf"/billing/invoices/{picture.invoice_id}/?$"))
    expect(page.locator("#invoice-number")).to_have_text(picture.number)
    expect(page.locator("#invoice-status")).to_have_text("Open")
    expect(page.locator("#invoice-bill-to")).to_have_text(wallet.address.lower())
    expect(page.locator("#invoice-total")).to_have_text("20.40 USDC")
    expect(page.locator("#invoice-lines .line-row")).to_have_count(2)
    expect(page.locator("#invoice-lines")).to_contain_text("Subscription")

    # A string that evaluates to a function is called by Playwright: assign inside one.
    page.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")
    page.locator("#invoice-print").click()
    page.wait_for_function("window.__printed >= 1")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__printed") == 1  # one dialog per click
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("#invoice-print")).to_be_hidden()
    expect(page.locator("#invoice-document")).to_be_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.locator("#invoice-csv").click()
    assert download.value.suggested_filename == f"{picture.number}.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"invoice,{picture.number}" in text and "total_usd,20.40" in text

    # Someone else's invoice looks like no invoice at all.
    other = BrowserWallet()
    with session_scope() as session:
        stranger = Factory(session).user(address=other.address.lower())
        theirs = invoice(session, stranger, datetime(2026, 1, 1, tzinfo=UTC), InvoiceStatus.OPEN, "5").id
    page.goto(f"{app_url}/billing/invoices/{theirs}")
    expect(page.locator("#invoice-not-found")).to_have_text("No such invoice.")

    # Paper deployments say they are free.
    page.goto(f"{app_url}/deployments")
    expect(page.locator("#deployments-paper-free")).to_contain_text(
        "Paper trading is free: no fees, no subscription."
    )
    expect(page.locator(f"#deployment-{picture.paper_id}")).to_contain_text("free")


def test_paying_an_invoice_from_the_wallet(
    new_page, app_url: str, seeded: Seeded, hl_server: HyperliquidServer
) -> None:
    wallet = BrowserWallet()
    hl_server.fund(wallet.address, HL_FUNDS)
    picture = billed_trader(wallet)
    page = new_page(wallet)
    sign_in(page, app_url, wallet)
    page.goto(f"{app_url}/billing/invoices/{picture.invoice_id}")
    pay = page.locator("#invoice-pay")
    expect(pay).to_have_text("Pay 20.40 USDC")

    # A rejection in the wallet sends nothing and says so beside the button.
    wallet.reject_next = True
    pay.click()
    expect(page.locator("#invoice-pay-error")).to_contain_text("You rejected the payment in your wallet")
    assert sends_of(hl_server, wallet) == []

    # Signed by another account: refused with the reason, nothing sent, Pay offered again.
    wallet.typed_signer = Account.create()
    pay.click()
    expect(page.locator("#invoice-pay-error")).to_contain_text("pay again from the invoice's account")
    assert sends_of(hl_server, wallet) == []
    wallet.typed_signer = None

    pay.click()
    expect(page.locator("#invoice-status")).to_have_text("Paid")
    expect(page.locator("#invoice-pay-message")).to_have_text("Payment confirmed: the invoice is paid.")
    expect(page.locator("#invoice-pay")).to_have_count(0)  # nothing left to pay
    expect(page.locator(".payment-row")).to_contain_text(["Confirmed"])
    typed = wallet.signed_typed[-1]
    assert typed["primaryType"] == "HyperliquidTransaction:UsdSend"
    assert typed["message"]["destination"].lower() == PLATFORM.address.lower()
    assert typed["message"]["amount"] == "20.4"
    [send] = sends_of(hl_server, wallet)
    assert (send.user, send.destination, send.amount) == (
        wallet.address.lower(),
        PLATFORM.address.lower(),
        Decimal("20.4"),
    )
    with session_scope() as session:
        assert session.get(Invoice, picture.invoice_id).status == InvoiceStatus.PAID

    page.goto(f"{app_url}/billing")
    expect(page.locator(f"#invoice-row-{picture.invoice_id}")).to_contain_text("Paid")
    expect(page.locator("#billing-outstanding")).to_have_text("0.00 USDC")


def test_canceling_a_trial_subscription(new_page, app_url: str, seeded: Seeded) -> None:
    """Needs backend.billing.subscriptions.cancel_subscription (branch b16-ledger)."""
    wallet = BrowserWallet()
    picture = billed_trader(wallet)
    page = new_page(wallet, viewport=PHONE)  # on a phone, as the dialog must fit one
    sign_in(page, app_url, wallet)
    page.goto(f"{app_url}/billing")
    sub = picture.subscription_id
    page.locator(f"#cancel-sub-{sub}").click()
    dialog = page.locator("#cancel-sub-dialog")
    expect(dialog).to_contain_text("During the trial it ends now and nothing is charged.")
    page.locator("#cancel-sub-confirm").click()
    expect(page.locator(f"#sub-status-{sub}")).to_have_text("Canceled")
    expect(page.locator(f"#cancel-sub-{sub}")).to_have_count(0)
    with session_scope() as session:
        assert session.get(Subscription, sub).status == SubscriptionStatus.CANCELED

    # The invoice page fits a phone too.
    page.goto(f"{app_url}/billing/invoices/{picture.invoice_id}")
    expect(page.locator("#invoice-total")).to_have_text("20.40 USDC")
    assert fit(page).fits


def test_a_payment_hyperliquid_did_not_answer_waits_for_its_confirmation(
    new_page, app_url: str, seeded: Seeded, hl_server: HyperliquidServer
) -> None:
    wallet = BrowserWallet()
    hl_server.fund(wallet.address, HL_FUNDS)
    picture = billed_trader(wallet)
    page = new_page(wallet)
    sign_in(page, app_url, wallet)
    page.goto(f"{app_url}/billing/invoices/{picture.invoice_id}")
    hl_server.fail_next(503, path="/exchange")
    page.locator("#invoice-pay").click()
    expect(page.locator("#invoice-pay-message")).to_have_text(
        "Payment submitted: waiting for Hyperliquid to confirm it."
    )
    expect(page.locator("#invoice-pay")).to_be_disabled()  # never sent twice: the ledger will tell
    expect(page.locator(".payment-row").first).to_contain_text("Submitted")
    expect(page.locator("#invoice-status")).to_have_text("Open")
    assert sends_of(hl_server, wallet) == []


def test_in_the_sandbox_a_trader_funds_the_account_invoices_the_month_and_pays(
    new_page, app_url: str, seeded: Seeded, hl_server: HyperliquidServer
) -> None:
    wallet = BrowserWallet()
    now = utcnow()
    with session_scope() as session:
        f = Factory(session)
        trader = f.user(address=wallet.address.lower())
        live = f.deployment(
            f.agent(name="Sandbox Breakout", venue=Venue.HYPERLIQUID),
            trader,
            venue=ExecutionVenue.HYPERLIQUID,
            user_wallet=trader.address,
        )
        position = f.closed_position(live, Decimal(12), market="SOL")
        on = {"deployment": live, "position": position}
        line(session, trader, "0.20", at=now - timedelta(minutes=2), description="Trade fee: SOL", **on)
        line(
            session,
            trader,
            "1.2",
            at=now - timedelta(minutes=1),
            kind=BillingKind.PROFIT_SHARE,
            beneficiary=Beneficiary.CREATOR,
            description="Profit share: SOL",
            **on,
        )
    page = new_page(wallet, viewport=PHONE)
    sign_in(page, app_url, wallet)
    open_billing(page)
    expect(page.locator("#sandbox-notice")).to_contain_text("no real funds")

    page.locator("#sandbox-faucet").click()
    expect(page.locator("#sandbox-faucet-done")).to_contain_text("Credited 1,000 sandbox USDC")
    assert hl_server.state.account(wallet.address).cash == SANDBOX_FAUCET

    page.locator("#sandbox-issue-invoice").click()
    expect(page).to_have_url(re.compile(r"/billing/invoices/\d+$"))
    invoice_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    pay = page.locator("#invoice-pay")
    expect(pay).to_have_text("Pay 1.40 USDC")
    pay.click()
    expect(page.locator("#invoice-status")).to_have_text("Paid")
    [send] = sends_of(hl_server, wallet)
    assert (send.destination, send.amount) == (PLATFORM.address.lower(), Decimal("1.4"))
    assert hl_server.state.account(wallet.address).cash == SANDBOX_FAUCET - Decimal("1.4")
    with session_scope() as session:
        paid = session.get(Invoice, invoice_id)
        assert (paid.status, paid.total_usd, paid.user_id) == (InvoiceStatus.PAID, Decimal("1.4"), trader.id)
