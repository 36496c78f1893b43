"""Reading billing: the trader's overview and invoices, a creator's earnings, the operators' summary, on
SQLite and PostgreSQL, from rows written straight through the models. Every total is the sum of its lines."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session

from backend.billing.errors import BillingNotFound
from backend.billing.schemas import LineOut
from backend.billing.views import billing_overview, earnings, invoice_csv, invoice_detail, operator_summary
from backend.config import Settings
from backend.models import Invoice
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
)
from tests.billing_support import NOW, Ledger, as_current, build_ledger, invoice, line, payment
from tests.factories import Factory

D = Decimal
PLATFORM = "0x" + "ab" * 20


@pytest.fixture
def ledger(session: Session, factory: Factory) -> Ledger:
    return build_ledger(session, factory)


@pytest.fixture
def settings() -> Settings:
    return Settings(platform_address=PLATFORM, subscription_usd=D("20"))


OWED = (BillingStatus.PENDING, BillingStatus.INVOICED, BillingStatus.PAID, BillingStatus.UNCOLLECTIBLE)


def _owed(lines: list[LineOut]) -> Decimal:
    return sum((x.amount for x in lines if x.status in OWED), D(0))


def test_the_overview_shows_this_months_running_charges_and_every_invoice(session, ledger, settings):
    view = billing_overview(session, as_current(ledger.trader), now=NOW, settings=settings)

    assert view.current_month == "2026-12"
    assert [x.id for x in view.current_lines] == [x.id for x in ledger.december_lines]
    assert view.current_total_usd == D("0.95") == _owed(view.current_lines)
    assert view.collected_at_source_usd == D("0.033")
    collected = [x for x in view.current_lines if x.collected_at_source]
    assert [x.amount for x in collected] == [D("0.033")]
    assert [(i.month, i.status) for i in view.invoices] == [
        ("2026-12", InvoiceStatus.DRAFT),
        ("2026-11", InvoiceStatus.PAID),
        ("2026-10", InvoiceStatus.OPEN),
        ("2026-09", InvoiceStatus.VOID),
    ]
    assert [i.total_usd for i in view.invoices] == [D("0.20"), D("23.20"), D("20.20"), D("0")]
    assert [i.overdue for i in view.invoices] == [False, False, True, False]
    assert view.outstanding_usd == D("20.20")
    assert all(i.user_address == ledger.trader.address for i in view.invoices)
    assert view.paper_is_free

    (sub,) = view.subscriptions
    assert (sub.id, sub.agent_name, sub.venue, sub.price_usd) == (
        ledger.subscription.id,
        ledger.agent.name,
        "HYPERLIQUID",
        D("20"),
    )


def test_every_invoice_total_is_the_sum_of_its_lines(session, ledger, settings):
    trader = as_current(ledger.trader)
    view = billing_overview(session, trader, now=NOW, settings=settings)

    for summary in view.invoices:
        detail = invoice_detail(session, trader, summary.id, now=NOW, settings=settings)
        assert detail.total_usd == summary.total_usd == _owed(detail.lines), summary.month
        assert summary.total_usd == session.get(Invoice, summary.id).total_usd  # as the ledger stored it
    outstanding = [i.total_usd for i in view.invoices if i.status == InvoiceStatus.OPEN]
    assert view.outstanding_usd == sum(outstanding, D(0))


def test_an_invoice_shows_its_lines_with_what_caused_them_and_its_payments(session, ledger, settings):
    trader = as_current(ledger.trader)
    payment(session, ledger.november, ledger.trader, PaymentStatus.CONFIRMED, tx_hash="0x" + "12" * 32)

    paid = invoice_detail(session, trader, ledger.november.id, now=NOW, settings=settings)

    assert paid.number == f"MX-2026-11-{ledger.november.id:06d}"
    assert [(x.kind, x.beneficiary, x.amount) for x in paid.lines] == [
        (BillingKind.TRADE_FEE, Beneficiary.PLATFORM, D("0.20")),
        (BillingKind.PROFIT_SHARE, Beneficiary.CREATOR, D("1.50")),
        (BillingKind.PROFIT_SHARE, Beneficiary.SOURCES, D("1.50")),
        (BillingKind.SUBSCRIPTION, Beneficiary.PLATFORM, D("20.00")),
    ]
    assert paid.lines[0].market == "ETH" and paid.lines[0].agent_name == ledger.agent.name
    assert paid.lines[3].subscription_id == ledger.subscription.id
    assert [p.status for p in paid.payments] == [PaymentStatus.CONFIRMED]
    assert not paid.payable

    open_one = invoice_detail(session, trader, ledger.october.id, now=NOW, settings=settings)
    assert open_one.payable and open_one.overdue
    no_address = Settings(platform_address=None)
    assert not invoice_detail(session, trader, ledger.october.id, now=NOW, settings=no_address).payable
    payment(session, ledger.october, ledger.trader, PaymentStatus.SUBMITTED)
    assert not invoice_detail(session, trader, ledger.october.id, now=NOW, settings=settings).payable

    void = invoice_detail(session, trader, ledger.september.id, now=NOW, settings=settings)
    assert (void.status, void.closed_reason, void.total_usd) == (InvoiceStatus.VOID, "test void", D("0"))


def test_a_late_line_on_this_months_draft_is_a_running_charge(session, ledger, settings):
    late = line(
        session,
        ledger.trader,
        "0.20",
        at=datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
        invoice=ledger.december,
        deployment=ledger.deployment,
    )

    view = billing_overview(session, as_current(ledger.trader), now=NOW, settings=settings)

    assert late.id in [x.id for x in view.current_lines]
    assert view.current_total_usd == D("1.15") == _owed(view.current_lines)
    assert view.invoices[0].total_usd == D("0.40")


def test_a_written_off_invoice_totals_what_was_written_off_and_is_no_revenue(session, ledger, settings):
    august = invoice(
        session,
        ledger.trader,
        datetime(2026, 8, 1, tzinfo=UTC),
        InvoiceStatus.UNCOLLECTIBLE,
        closed_reason="gone",
    )
    at = datetime(2026, 8, 5, tzinfo=UTC)
    line(session, ledger.trader, "20.00", at=at, status=BillingStatus.UNCOLLECTIBLE, invoice=august)

    view = billing_overview(session, as_current(ledger.trader), now=NOW, settings=settings)

    assert [(i.month, i.total_usd) for i in view.invoices][-1] == ("2026-08", D("20"))
    assert view.outstanding_usd == D("20.20")
    summary = operator_summary(session, now=NOW)
    assert "2026-08" not in {r.month for r in summary.revenue}
    assert summary.invoices_by_status["UNCOLLECTIBLE"] == 1


def test_someone_elses_invoice_is_not_found_but_operators_read_any(session, ledger, settings):
    stranger = as_current(ledger.stranger)
    with pytest.raises(BillingNotFound):
        invoice_detail(session, stranger, ledger.october.id, now=NOW, settings=settings)
    with pytest.raises(BillingNotFound):
        invoice_csv(session, stranger, ledger.october.id)
    with pytest.raises(BillingNotFound):
        invoice_detail(session, as_current(ledger.trader), 999_999, now=NOW, settings=settings)

    seen = invoice_detail(session, as_current(ledger.operator), ledger.october.id, now=NOW, settings=settings)
    assert seen.user_address == ledger.trader.address
    assert billing_overview(session, stranger, now=NOW, settings=settings).invoices == []


def test_the_csv_has_a_header_block_and_one_row_per_line(session, ledger):
    text = invoice_csv(session, as_current(ledger.trader), ledger.october.id)

    head, _, body = text.partition("\n\n")
    header = dict(csv.reader(io.StringIO(head)))
    assert header["invoice"] == ledger.october.number
    assert (header["month"], header["status"], header["total_usd"]) == ("2026-10", "OPEN", "20.200000")
    assert header["account"] == ledger.trader.address
    assert header["due_at"].startswith("2026-11-14")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["kind"], r["status"], r["amount_usd"]) for r in rows] == [
        ("TRADE_FEE", "INVOICED", "0.200000"),
        ("SUBSCRIPTION", "INVOICED", "20.000000"),
        ("TRADE_FEE", "WAIVED", "0.200000"),
    ]
    assert {r["agent"] for r in rows} == {ledger.agent.name}
    owed = sum(D(r["amount_usd"]) for r in rows if r["status"] != "WAIVED")
    assert owed == D(header["total_usd"])


def test_a_creator_sees_earnings_by_agent_and_month(session, ledger):
    mine = earnings(session, as_current(ledger.creator))

    assert [(r.agent_id, r.month, r.accrued_usd, r.collected_usd) for r in mine.rows] == [
        (ledger.agent.id, "2026-12", D("0.75"), D("0")),
        (ledger.agent.id, "2026-11", D("1.50"), D("1.50")),
    ]
    assert (mine.accrued_usd, mine.collected_usd, mine.paid_out_usd, mine.pending_usd) == (
        D("2.25"),
        D("1.50"),
        D("1.00"),
        D("0.50"),
    )
    assert mine.accrued_usd == sum((r.accrued_usd for r in mine.rows), D(0))
    assert [p.amount for p in mine.payouts] == [D("1.00")]
    assert mine.payouts[0].beneficiary_address == ledger.creator.address

    nothing = earnings(session, as_current(ledger.trader))
    assert (nothing.rows, nothing.accrued_usd, nothing.payouts) == ([], D(0), [])


def test_operators_see_revenue_invoices_subscriptions_and_balances(session, ledger):
    summary = operator_summary(session, now=NOW)

    revenue = [(r.month, r.kind, r.beneficiary, r.invoiced_usd, r.paid_usd) for r in summary.revenue]
    assert revenue == [
        ("2026-10", BillingKind.SUBSCRIPTION, Beneficiary.PLATFORM, D("20"), D("0")),
        ("2026-10", BillingKind.TRADE_FEE, Beneficiary.PLATFORM, D("0.20"), D("0")),
        ("2026-11", BillingKind.PROFIT_SHARE, Beneficiary.CREATOR, D("1.50"), D("1.50")),
        ("2026-11", BillingKind.PROFIT_SHARE, Beneficiary.SOURCES, D("1.50"), D("1.50")),
        ("2026-11", BillingKind.SUBSCRIPTION, Beneficiary.PLATFORM, D("20"), D("20")),
        ("2026-11", BillingKind.TRADE_FEE, Beneficiary.PLATFORM, D("0.20"), D("0.20")),
        ("2026-12", BillingKind.TRADE_FEE, Beneficiary.PLATFORM, D("0"), D("0.033")),
    ]
    assert summary.invoices_by_status == {"DRAFT": 1, "OPEN": 1, "PAID": 1, "VOID": 1, "UNCOLLECTIBLE": 0}
    assert summary.subscriptions_by_state["ACTIVE"] == 1
    assert sum(summary.subscriptions_by_state.values()) == 1
    assert [i.id for i in summary.overdue] == [ledger.october.id]

    (pool,) = summary.sources_pool
    assert (pool.ct_account_id, pool.handle) == (ledger.source.id, ledger.source.handle)
    assert (pool.accrued_usd, pool.collected_usd, pool.paid_out_usd, pool.owed_usd) == (
        D("1.50"),
        D("1.50"),
        D("0"),
        D("1.50"),
    )
    (creator,) = summary.creators
    assert (creator.user_id, creator.address) == (ledger.creator.id, ledger.creator.address)
    assert (creator.accrued_usd, creator.collected_usd, creator.paid_out_usd, creator.owed_usd) == (
        D("2.25"),
        D("1.50"),
        D("1.00"),
        D("0.50"),
    )


def test_a_month_with_nothing_billed_is_all_zero(session, factory, settings):
    user = as_current(factory.user())

    view = billing_overview(session, user, now=NOW, settings=settings)

    assert (view.current_lines, view.invoices, view.subscriptions) == ([], [], [])
    assert (view.current_total_usd, view.collected_at_source_usd, view.outstanding_usd) == (D(0), D(0), D(0))
    empty = operator_summary(session, now=NOW)
    assert (empty.revenue, empty.overdue, empty.sources_pool, empty.creators) == ([], [], [], [])
