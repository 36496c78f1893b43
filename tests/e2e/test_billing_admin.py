"""In Chromium against the running app: an operator voids an open invoice with a reason (on a phone), and a
creator reads on /earnings the profit share from a follower's profitable live close.

One backend (SQLite) only: the views and operations behind both pages are tested on both in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from backend.audit import Action
from backend.auth.users import create_admin
from backend.billing.charges import bill_close
from backend.billing.trade_fee import fee_policy
from backend.config import get_settings
from backend.db import session_scope
from backend.models import AuditLog, BillingEvent, Invoice, Payout
from backend.models.common import utcnow
from backend.models.enums import (
    BillingKind,
    BillingStatus,
    ExecutionVenue,
    InvoiceStatus,
)
from tests.e2e.conftest import Seeded, _database, _seed
from tests.e2e.phone import PHONE, fit
from tests.e2e.wallet import BrowserWallet, context_with_wallet
from tests.factories import Factory

pytestmark = pytest.mark.e2e

REASON = "Duplicate charge, refunded by support"
PAYOUT_TX = "0x" + "c0ffee" * 10 + "beef"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with _database("sqlite", tmp_path_factory) as url:
        yield _seed(url)


def _signed_in(browser: Browser, wallet: BrowserWallet, app_url: str, **context_args: Any) -> Page:
    page = context_with_wallet(browser, wallet, **context_args).new_page()
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)
    return page


def _open_invoice() -> int:
    """A trader's issued, overdue invoice for last month with one subscription line on it."""
    now = utcnow()
    with session_scope() as session:
        f = Factory(session)
        trader = f.user()
        deployment = f.deployment(f.agent(), trader, venue=ExecutionVenue.HYPERLIQUID)
        month = (now.replace(day=1) - timedelta(days=1)).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        invoice = Invoice(
            number=f"MX-{month:%Y-%m}-000901",
            user_id=trader.id,
            month=month,
            status=InvoiceStatus.OPEN,
            total_usd=Decimal("20.00"),
            issued_at=now - timedelta(days=20),
            due_at=now - timedelta(days=6),
        )
        session.add(invoice)
        session.flush()
        session.add(
            BillingEvent(
                idempotency_key=f"e2e-subscription-{invoice.id}",
                kind=BillingKind.SUBSCRIPTION,
                status=BillingStatus.INVOICED,
                user_id=trader.id,
                deployment_id=deployment.id,
                invoice_id=invoice.id,
                amount=Decimal("20.00"),
                description="Subscription",
                period_start=month,
                period_end=month + timedelta(days=30),
            )
        )
        return invoice.id


def test_operator_voids_an_open_invoice_with_a_reason_at_390px(
    browser: Browser, browser_context_args: dict[str, Any], app_url: str
) -> None:
    invoice_id = _open_invoice()
    admin = BrowserWallet()
    with session_scope() as session:
        create_admin(session, admin.address)
    page = _signed_in(browser, admin, app_url, **{**browser_context_args, "viewport": PHONE})

    page.locator("#account-menu").click()
    page.locator("#menu-admin-billing").click()
    expect(page.locator("#invoices-count-OPEN")).to_have_text("1")
    overdue = page.locator(f"#overdue-{invoice_id}")
    expect(overdue).to_contain_text("20.00 USDC")
    overdue.get_by_role("button", name="Open").click()
    expect(page.locator("#invoice-status")).to_have_text("Open")
    expect(page.locator(".line-row")).to_have_count(1)

    page.locator("#invoice-void").click()
    expect(page.locator("#action-target")).to_have_value(str(invoice_id))
    page.locator("#action-confirm").click()  # no reason yet: refused beside the field
    expect(page.locator("#field-error-action-reason")).to_be_visible()
    page.locator("#action-reason").fill(REASON)
    page.locator("#action-confirm").click()

    expect(page.locator("#invoice-status")).to_have_text("Void")
    expect(page.locator("#invoice-reason")).to_contain_text(REASON)
    expect(page.locator("#invoice-void")).to_have_count(0)  # nothing left to void
    expect(page.locator("#overdue-empty")).to_be_visible()
    expect(page.locator("#invoices-count-VOID")).to_have_text("1")
    # The page fits a phone: wide tables scroll inside their cards, the page itself does not.
    assert fit(page).fits

    with session_scope() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None and invoice.status == InvoiceStatus.VOID
        line = session.exec(select(BillingEvent).where(BillingEvent.invoice_id == invoice_id)).one()
        assert line.status == BillingStatus.WAIVED
        audited = session.exec(
            select(AuditLog).where(AuditLog.action == Action.INVOICE_VOIDED).order_by(AuditLog.id)
        ).all()
    assert len(audited) == 1 and REASON in str(audited[0].details)
    page.context.close()


def test_a_creator_sees_the_profit_share_from_a_followers_profitable_close(
    browser: Browser, browser_context_args: dict[str, Any], app_url: str
) -> None:
    creator = BrowserWallet()
    with session_scope() as session:
        f = Factory(session)
        me = f.user(address=creator.address.lower())
        agent = f.agent(creator=me, name="Creator's Breakout")
        follower = f.user()
        deployment = f.deployment(agent, follower, venue=ExecutionVenue.HYPERLIQUID)
        position = f.closed_position(deployment, Decimal("49.80"), market="ETH", entry_price=Decimal("3000"))
        # The ledger's own charging of a close: 10% of 49.80 to the creator (no signal, so no sources' line).
        assert bill_close(session, position, fee_policy(get_settings())) == 1
    page = _signed_in(browser, creator, app_url, **browser_context_args)
    page.locator("#account-menu").click()
    page.locator("#menu-earnings").click()

    expect(page.locator("#earnings-accrued")).to_have_text("4.98 USDC")
    expect(page.locator("#earnings-paid-out")).to_have_text("0.00 USDC")
    expect(page.locator(".earning-row")).to_have_count(1)
    expect(page.locator(".earning-row")).to_contain_text("Creator's Breakout")
    expect(page.locator(".earning-row")).to_contain_text("4.98 USDC")
    expect(page.locator("#earnings-share-note")).to_contain_text("10%")
    expect(page.locator("#payouts-empty")).to_be_visible()
    page.context.close()


def test_a_trader_without_agents_reads_how_earnings_come_and_no_operators_page(
    browser: Browser, browser_context_args: dict[str, Any], app_url: str
) -> None:
    page = _signed_in(browser, BrowserWallet(), app_url, **{**browser_context_args, "viewport": PHONE})
    page.goto(f"{app_url}/earnings")
    expect(page.locator("#earnings-no-agents")).to_be_visible()
    assert fit(page).fits
    page.locator("#account-menu").click()
    expect(page.locator("#menu-earnings")).to_be_visible()
    expect(page.locator("#menu-admin-billing")).to_have_count(0)
    page.keyboard.press("Escape")
    page.goto(f"{app_url}/admin/billing")
    expect(page.locator("#admins-only")).to_be_visible()
    page.context.close()


def test_operator_pays_a_creator_out_and_waives_a_line_by_id(
    browser: Browser, browser_context_args: dict[str, Any], app_url: str
) -> None:
    with session_scope() as session:
        f = Factory(session)
        creator = f.user()
        follower = f.user()
        deployment = f.deployment(f.agent(creator=creator), follower, venue=ExecutionVenue.HYPERLIQUID)
        position = f.closed_position(deployment, Decimal("49.80"))
        assert bill_close(session, position, fee_policy(get_settings())) == 1
        share = session.exec(select(BillingEvent).where(BillingEvent.position_id == position.id)).one()
        share.status = BillingStatus.PAID  # its invoice was paid: collected, owed to the creator
        fee = BillingEvent(
            idempotency_key=f"e2e-trade-fee-{position.id}",
            kind=BillingKind.TRADE_FEE,
            user_id=follower.id,
            deployment_id=deployment.id,
            position_id=position.id,
            amount=Decimal("0.20"),
            description="Trade fee",
        )
        session.add_all([share, fee])
        session.flush()
        creator_id, fee_id = creator.id, fee.id
    admin = BrowserWallet()
    with session_scope() as session:
        create_admin(session, admin.address)
    page = _signed_in(browser, admin, app_url, **browser_context_args)
    page.goto(f"{app_url}/admin/billing")

    row = page.locator(f"#creator-{creator_id}")
    expect(row).to_contain_text("4.98 USDC")
    page.locator(f"#pay-creator-{creator_id}").click()
    expect(page.locator("#payout-amount")).to_have_value("4.98")
    page.locator("#payout-tx").fill("0x1234")
    page.locator("#payout-record").click()
    expect(page.locator("#field-error-payout-tx")).to_contain_text("64 hex characters")
    page.locator("#payout-tx").fill(PAYOUT_TX)
    page.locator("#payout-note").fill("December")
    page.locator("#payout-record").click()
    expect(row.locator("td").nth(4)).to_have_text("0.00 USDC")  # owed
    expect(page.locator(f"#pay-creator-{creator_id}")).to_have_count(0)

    page.locator("#waive-by-id").click()
    page.locator("#action-target").fill(str(fee_id))
    page.locator("#action-reason").fill("Goodwill: first trade")
    page.locator("#action-confirm").click()
    expect(page.locator("#action-dialog")).to_have_count(0)

    with session_scope() as session:
        payout = session.exec(select(Payout).where(Payout.tx_hash == PAYOUT_TX)).one()
        assert payout.beneficiary_user_id == creator_id and payout.amount == Decimal("4.98")
        assert payout.note == "December"
        waived = session.get(BillingEvent, fee_id)
        assert waived is not None and waived.status == BillingStatus.WAIVED
        actions = session.exec(
            select(AuditLog.action)
            .where(col(AuditLog.action).in_([Action.PAYOUT_RECORDED, Action.BILLING_LINE_WAIVED]))
            .order_by(AuditLog.id)
        ).all()
    assert actions == [Action.PAYOUT_RECORDED, Action.BILLING_LINE_WAIVED]
    page.context.close()
