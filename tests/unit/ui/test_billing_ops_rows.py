"""The Earnings and operators' Billing pages' pure parts: USDC to the cent, shares as percent, months in
words, rows from the views' shapes, the payout form read as the service's input, and the revenue chart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from backend.billing.schemas import (
    CreatorBalanceRow,
    EarningRow,
    InvoiceOut,
    LineOut,
    PayoutOut,
    RevenueRow,
    SourcePoolRow,
)
from backend.models.enums import Beneficiary, BillingKind, BillingStatus, InvoiceStatus
from maxxit_ui.components import billing_format as bf
from maxxit_ui.state import admin_billing_rows as rows
from maxxit_ui.state.admin_billing import payout_body
from maxxit_ui.state.earnings import earning_row, payout_row

AT = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
ADDRESS = "0x" + "ab" * 20
TX = "0x" + "1f" * 32


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("0"), "0.00 USDC"),
        (D("0.005"), "0.01 USDC"),  # half up, not to even
        (D("0.004999"), "0.00 USDC"),
        (D("1234.5"), "1,234.50 USDC"),
        (D("-3.125"), "-3.13 USDC"),
        (None, "—"),
    ],
)
def test_usdc_is_shown_to_the_cent(value, shown):
    assert bf.usdc(value) == shown


def test_shares_are_fractions_until_drawn_and_months_read_as_words():
    assert bf.share(D("0.10")) == "10%"
    assert bf.share(D("0.125")) == "12.5%"
    assert bf.month("2026-12") == "Dec 2026"
    assert bf.month("not a month") == "not a month"
    assert bf.tx_short(TX) == TX[:10] + "…" + TX[-4:]


def test_an_earning_row_and_a_payout_row():
    row = earning_row(
        EarningRow(agent_id=4, agent_name="Hyper", month="2026-11", accrued_usd=D("2.4"), collected_usd=D(0))
    )
    assert row == {
        "id": "4-2026-11", "agent": "Hyper", "month": "Nov 2026", "accrued": "2.40 USDC",
        "collected": "0.00 USDC",
    }  # fmt: skip
    payout = payout_row(
        PayoutOut(
            id=9,
            beneficiary=Beneficiary.CREATOR,
            beneficiary_user_id=2,
            beneficiary_address=ADDRESS,
            ct_account_id=None,
            ct_handle=None,
            amount=D("12.345"),
            tx_hash=TX,
            note="",
            created_at=AT,
        )
    )
    assert payout["amount"] == "12.35 USDC" and payout["date"] == "2026-12-03 14:05 UTC"
    assert payout["tx_hash"] == TX and payout["note"] == "—"


def _line(line_id: int, status: BillingStatus, **extra) -> LineOut:
    fields = {
        "id": line_id, "kind": BillingKind.PROFIT_SHARE, "status": status, "beneficiary": Beneficiary.CREATOR,
        "amount": D("1.5"), "description": "Profit share", "created_at": AT, "deployment_id": 3,
        "agent_name": "Hyper", "position_id": 8, "market": "ETH", "subscription_id": None,
        "period_start": None, "period_end": None, "invoice_id": 5, "collected_at_source": False,
    }  # fmt: skip
    return LineOut(**{**fields, **extra})


def _invoice(status: InvoiceStatus, lines: list[LineOut]) -> InvoiceOut:
    return InvoiceOut(
        id=5, number="MX-2026-11-000005", month="2026-11", status=status, total_usd=D("21.5"), issued_at=AT,
        due_at=AT, paid_at=None, overdue=True, user_address=ADDRESS, lines=lines, payments=[], payable=True,
        closed_reason=None,
    )  # fmt: skip


def test_only_pending_and_invoiced_lines_can_be_waived():
    shown = [rows.line_row(_line(i, s)) for i, s in enumerate(BillingStatus, start=1)]
    assert {r["status"]: r["waivable"] for r in shown} == {
        "Pending": True, "Invoiced": True, "Paid": False, "Collected": False, "Waived": False,
        "Uncollectible": False,
    }  # fmt: skip
    assert shown[0]["description"] == "Profit share (Hyper · ETH)" and shown[0]["amount"] == "1.50 USDC"
    assert rows.line_row(_line(1, BillingStatus.PENDING, agent_name=None, market=None))["description"] == (
        "Profit share"
    )


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        (InvoiceStatus.DRAFT, (True, False)),
        (InvoiceStatus.OPEN, (True, True)),
        (InvoiceStatus.PAID, (False, False)),
        (InvoiceStatus.VOID, (False, False)),
        (InvoiceStatus.UNCOLLECTIBLE, (False, False)),
    ],
)
def test_void_and_write_off_are_offered_only_where_they_apply(status, actions):
    assert rows.invoice_actions(_invoice(status, [])) == actions


def test_an_invoice_row_names_its_number_or_the_draft():
    row = rows.invoice_row(_invoice(InvoiceStatus.OPEN, []))
    assert row["number"] == "MX-2026-11-000005" and row["total"] == "21.50 USDC"
    assert row["user_short"] == "0xabab…abab" and row["status"] == "Open" and row["status_color"] == "blue"
    assert row["due"] == "2026-12-03" and row["overdue"] is True
    draft = rows.invoice_row(_invoice(InvoiceStatus.DRAFT, []).model_copy(update={"number": None}))
    assert draft["number"] == "Draft #5"


def test_counts_keep_the_lifecycle_order_with_zeros():
    shown = rows.invoice_counts({"PAID": 3, "OPEN": 1})
    assert [(c["label"], c["count"]) for c in shown] == [
        ("Draft", "0"), ("Open", "1"), ("Paid", "3"), ("Void", "0"), ("Uncollectible", "0"),
    ]  # fmt: skip
    subs = rows.subscription_counts({"TRIALING": 1200})
    assert subs[0] == {"key": "TRIALING", "label": "Trialing", "count": "1,200", "color": "blue"}
    assert [c["key"] for c in subs] == ["TRIALING", "ACTIVE", "PAST_DUE", "SUSPENDED", "CANCELED"]


def test_balances_prefill_what_is_owed_and_never_a_negative_amount():
    source = rows.source_row(
        SourcePoolRow(
            ct_account_id=7,
            handle="caller",
            accrued_usd=D("3.000000"),
            collected_usd=D("2.5"),
            paid_out_usd=D("1"),
            owed_usd=D("1.500000"),
        )
    )
    assert source["handle"] == "@caller" and source["owed"] == "1.50 USDC"
    assert source["owed_raw"] == "1.5" and source["owes"] is True
    creator = rows.creator_row(
        CreatorBalanceRow(
            user_id=2, address=ADDRESS, accrued_usd=D(1), collected_usd=D(1), paid_out_usd=D(1), owed_usd=D(0)
        )
    )
    assert creator["owed_raw"] == "0" and creator["owes"] is False


def test_the_payout_form_reads_as_the_services_input():
    body, errors = payout_body("CREATOR", f" {ADDRESS} ", None, "12.50", TX, " sent ")
    assert errors == {} and body is not None
    assert body.beneficiary == Beneficiary.CREATOR and body.user_address == ADDRESS
    assert body.ct_account_id is None and body.amount == D("12.50") and body.note == "sent"
    body, errors = payout_body("SOURCES", ADDRESS, 7, "1", TX, "")
    assert errors == {} and body is not None and body.ct_account_id == 7 and body.user_address is None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (("CREATOR", "", None, "1", TX, ""), "user_address"),
        (("CREATOR", "0x12", None, "1", TX, ""), "user_address"),
        (("SOURCES", "", None, "1", TX, ""), "ct_account_id"),
        (("CREATOR", ADDRESS, None, "ten", TX, ""), "amount"),
        (("CREATOR", ADDRESS, None, "0", TX, ""), "amount"),
        (("CREATOR", ADDRESS, None, "1.0000001", TX, ""), "amount"),
        (("CREATOR", ADDRESS, None, "1", "0xdead", ""), "tx_hash"),
        (("CREATOR", ADDRESS, None, "1", TX, "x" * 257), "note"),
        (("PLATFORM", ADDRESS, None, "1", TX, ""), "beneficiary"),
    ],
)
def test_the_payout_form_refuses_a_field_beside_it(form, field):
    body, errors = payout_body(*form)
    assert body is None and field in errors and errors[field]


def _revenue(month: str, kind: BillingKind, invoiced: str, paid: str, to=Beneficiary.PLATFORM) -> RevenueRow:
    return RevenueRow(month=month, kind=kind, beneficiary=to, invoiced_usd=D(invoiced), paid_usd=D(paid))


def test_revenue_sums_beneficiaries_per_kind_and_month():
    months, totals = bf.revenue_totals(
        [
            _revenue("2026-12", BillingKind.TRADE_FEE, "1.00", "0.40"),
            _revenue("2026-11", BillingKind.PROFIT_SHARE, "2", "2", Beneficiary.CREATOR),
            _revenue("2026-11", BillingKind.PROFIT_SHARE, "3", "1", Beneficiary.SOURCES),
        ]
    )
    assert months == ["2026-11", "2026-12"]
    assert totals[BillingKind.PROFIT_SHARE] == {"Invoiced": [D(5), D(0)], "Paid": [D(3), D(0)]}
    assert totals[BillingKind.TRADE_FEE] == {"Invoiced": [D(0), D("1.00")], "Paid": [D(0), D("0.40")]}


def test_the_revenue_chart_stacks_kinds_with_invoiced_beside_paid():
    figure = bf.revenue_figure(
        [
            _revenue("2026-11", BillingKind.SUBSCRIPTION, "20", "20"),
            _revenue("2026-11", BillingKind.TRADE_FEE, "0.60", "0.20"),
            _revenue("2026-12", BillingKind.TRADE_FEE, "1.00", "0"),
        ]
    )
    assert figure.layout.barmode == "stack"
    assert [t.name for t in figure.data] == ["Subscriptions", "Trade fees"]  # no profit shares: no trace
    subscriptions, fees = figure.data
    assert [list(level) for level in fees.x] == [
        ["Nov 2026", "Nov 2026", "Dec 2026", "Dec 2026"],
        ["Invoiced", "Paid", "Invoiced", "Paid"],
    ]
    assert list(subscriptions.y) == [20.0, 20.0, 0.0, 0.0]
    assert list(fees.y) == [0.6, 0.2, 1.0, 0.0]
    assert fees.marker.color == bf.KIND_COLORS[BillingKind.TRADE_FEE]


def test_no_revenue_draws_an_empty_chart():
    assert bf.revenue_figure([]).data == ()


def test_every_refused_payout_field_is_named_at_once():
    body, errors = payout_body("CREATOR", "", None, "", "0x12", "")
    assert body is None and set(errors) == {"user_address", "amount", "tx_hash"}
    body, errors = payout_body("SOURCES", "", 7, "NaN", TX, "")
    assert body is None and set(errors) == {"amount"}
