"""Billing page rows: USDC with cents, status badges, periods, the collected marker, the model in words."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from backend.billing.schemas import InvoiceOut, InvoiceSummary, LineOut, PaymentOut, SubscriptionOut
from backend.config import Settings
from backend.models.enums import (
    Beneficiary,
    BillingKind,
    BillingStatus,
    InvoiceStatus,
    PaymentStatus,
    SubscriptionStatus,
)
from maxxit_ui.state.billing_rows import (
    CONFIRMED,
    PAPER_IS_FREE,
    PAYMENTS_OFF,
    SUBMITTED,
    invoice_row,
    line_row,
    month_name,
    pay_unavailable,
    payment_feedback,
    payment_row,
    pricing_notes,
    subscription_row,
    usdc,
)

T = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)


def subscription(**changes) -> SubscriptionOut:
    base = {
        "id": 7,
        "deployment_id": 12,
        "agent_name": "Hyper Momentum",
        "venue": "HYPERLIQUID",
        "status": SubscriptionStatus.TRIALING,
        "trial_ends_at": datetime(2027, 1, 5, tzinfo=UTC),
        "current_period_start": None,
        "current_period_end": None,
        "past_due_since": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "price_usd": D("20"),
    }
    return SubscriptionOut(**{**base, **changes})


def line(**changes) -> LineOut:
    base = {
        "id": 31,
        "kind": BillingKind.TRADE_FEE,
        "status": BillingStatus.PENDING,
        "beneficiary": Beneficiary.PLATFORM,
        "amount": D("0.20"),
        "description": "Trade fee: ETH long",
        "created_at": T,
        "deployment_id": 12,
        "agent_name": "Hyper Momentum",
        "position_id": 4,
        "market": "ETH",
        "subscription_id": None,
        "period_start": None,
        "period_end": None,
        "invoice_id": None,
        "collected_at_source": False,
    }
    return LineOut(**{**base, **changes})


def invoice(**changes) -> InvoiceSummary:
    base = {
        "id": 5,
        "number": "MX-2026-11-000005",
        "month": "2026-11",
        "status": InvoiceStatus.OPEN,
        "total_usd": D("20.4"),
        "issued_at": datetime(2026, 12, 1, tzinfo=UTC),
        "due_at": datetime(2026, 12, 15, tzinfo=UTC),
        "paid_at": None,
        "overdue": False,
        "user_address": "0x" + "ab" * 20,
    }
    return InvoiceSummary(**{**base, **changes})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("20"), "20.00 USDC"),
        (D("0.2"), "0.20 USDC"),
        (D("1234.5"), "1,234.50 USDC"),
        (D("0.125"), "0.13 USDC"),  # half up, never banker's rounding
        (D("0.004999"), "0.00 USDC"),
        (D("-3"), "-3.00 USDC"),
        (None, "—"),
    ],
)
def test_amounts_are_usdc_with_cents(value, text):
    assert usdc(value) == text


def test_months_read_as_words():
    assert month_name("2026-12") == "December 2026"
    assert month_name("garbage") == "garbage"


def test_a_trialing_subscription():
    row = subscription_row(subscription())
    assert (row["id"], row["deployment"], row["venue"]) == ("7", "#12", "Hyperliquid")
    assert (row["status"], row["status_color"]) == ("Trial", "blue")
    assert row["period"] == "Trial until 2027-01-05"
    assert row["price"] == "20.00 USDC / month"
    assert row["can_cancel"] and row["ending"] == ""


def test_an_active_subscription_canceled_at_period_end():
    row = subscription_row(
        subscription(
            status=SubscriptionStatus.ACTIVE,
            current_period_start=datetime(2026, 12, 5, tzinfo=UTC),
            current_period_end=datetime(2027, 1, 5, tzinfo=UTC),
            cancel_at_period_end=True,
        )
    )
    assert (row["status"], row["status_color"]) == ("Active", "green")
    assert row["period"] == "2026-12-05 to 2027-01-05"
    assert row["ending"] == "Ends at period end (2027-01-05)"
    assert not row["can_cancel"]  # already asked


@pytest.mark.parametrize(
    ("status", "label", "color"),
    [
        (SubscriptionStatus.PAST_DUE, "Past due", "amber"),
        (SubscriptionStatus.SUSPENDED, "Suspended", "red"),
    ],
)
def test_subscriptions_in_trouble_are_coloured(status, label, color):
    row = subscription_row(subscription(status=status, current_period_start=T, current_period_end=T))
    assert (row["status"], row["status_color"]) == (label, color)
    assert row["can_cancel"]


def test_a_canceled_subscription_cannot_be_canceled_again():
    row = subscription_row(subscription(status=SubscriptionStatus.CANCELED, canceled_at=T))
    assert (row["status"], row["period"], row["ending"]) == ("Canceled", "Canceled 2026-12-06", "")
    assert not row["can_cancel"]


def test_a_trade_fee_line():
    row = line_row(line())
    assert row == {
        "id": "31",
        "date": "2026-12-06",
        "kind": "Trade fee",
        "description": "Trade fee: ETH long",
        "market": "ETH · Hyper Momentum",
        "amount": "0.20 USDC",
        "status": "Running",
        "collected": False,
        "excluded": False,
    }


def test_a_builder_fee_the_venue_collected_is_marked_and_excluded():
    row = line_row(line(status=BillingStatus.COLLECTED, collected_at_source=True, amount=D("0.0354")))
    assert row["collected"] and row["excluded"]
    assert (row["amount"], row["status"]) == ("0.04 USDC", "Collected by the venue")


def test_profit_share_lines_name_who_they_are_for():
    creator = line_row(line(kind=BillingKind.PROFIT_SHARE, beneficiary=Beneficiary.CREATOR, description=""))
    sources = line_row(line(kind=BillingKind.PROFIT_SHARE, beneficiary=Beneficiary.SOURCES))
    assert creator["kind"] == "Profit share (to the agent's creator)"
    assert creator["description"] == creator["kind"]  # no description: the kind says it
    assert sources["kind"] == "Profit share (to the signal's sources)"


def test_a_subscription_line_shows_its_period_and_the_agent_alone():
    row = line_row(
        line(
            kind=BillingKind.SUBSCRIPTION,
            description="Subscription",
            market=None,
            position_id=None,
            period_start=datetime(2026, 12, 5, tzinfo=UTC),
            period_end=datetime(2027, 1, 5, tzinfo=UTC),
            amount=D("20"),
        )
    )
    assert row["description"] == "Subscription (2026-12-05 to 2027-01-05)"
    assert (row["market"], row["amount"]) == ("Hyper Momentum", "20.00 USDC")


def test_a_waived_line_is_excluded_but_not_collected():
    row = line_row(line(status=BillingStatus.WAIVED, market=None, agent_name=None))
    assert row["excluded"] and not row["collected"]
    assert (row["status"], row["market"]) == ("Waived", "—")


def test_an_invoice_row_links_to_its_page():
    row = invoice_row(invoice())
    assert row["href"] == "/billing/invoices/5"
    assert (row["number"], row["month"], row["total"], row["due"]) == (
        "MX-2026-11-000005",
        "November 2026",
        "20.40 USDC",
        "2026-12-15",
    )
    assert (row["status"], row["status_color"], row["overdue"]) == ("Open", "blue", False)


def test_a_draft_and_an_overdue_invoice():
    draft = invoice_row(invoice(number=None, status=InvoiceStatus.DRAFT, due_at=None, issued_at=None))
    assert (draft["number"], draft["status"], draft["due"]) == ("Draft", "Draft", "—")
    overdue = invoice_row(invoice(overdue=True))
    assert overdue["overdue"]
    paid = invoice_row(invoice(status=InvoiceStatus.PAID, paid_at=T))
    assert (paid["status"], paid["status_color"]) == ("Paid", "green")


def payment(**changes) -> PaymentOut:
    base = {
        "id": 3,
        "status": PaymentStatus.REJECTED,
        "amount": D("20.4"),
        "destination": "0x" + "cd" * 20,
        "nonce": 1,
        "tx_hash": None,
        "reason": "insufficient balance",
        "created_at": T,
        "submitted_at": T,
        "confirmed_at": None,
    }
    return PaymentOut(**{**base, **changes})


def test_payment_rows_carry_the_venue_reason():
    row = payment_row(payment())
    assert (row["status"], row["status_color"], row["reason"]) == ("Refused", "red", "insufficient balance")
    assert (row["amount"], row["created"], row["tx_hash"]) == ("20.40 USDC", "2026-12-06 15:30 UTC", "")


def test_the_model_in_words_from_the_settings():
    notes = pricing_notes(Settings(_env_file=None))
    assert notes[0] == PAPER_IS_FREE
    assert notes[1] == "Live trading costs 0.20 USDC per executed trade."
    assert (
        "20% of the profit after fees: 10% to the agent's creator and 10% to the signal's sources" in notes[2]
    )
    assert notes[3] == "Each live deployment is free for 30 days, then 20.00 USDC a month."
    assert "your own wallet" in notes[4]


def test_the_model_names_the_builder_fee_when_it_is_on():
    notes = pricing_notes(Settings(_env_file=None, builder_fee_tenths_bps=10, creator_share_pct=D("0.125")))
    assert "a Hyperliquid builder fee of 0.01% of the order" in notes[1]
    assert "22.5% of the profit after fees: 12.5% to the agent's creator" in notes[2]


def test_only_paper_deployments_are_marked_free():
    from maxxit_ui.state.deployments import deployment_row
    from tests.unit.ui.test_deployments_rows import deployment

    assert deployment_row(deployment())["paper_only"]
    assert not deployment_row(deployment(venue="HYPERLIQUID", user_wallet="0x" + "ab" * 20))["paper_only"]
    assert not deployment_row(deployment(venue="HYPERLIQUID", venue_preferences=["HYPERLIQUID", "PAPER"]))[
        "paper_only"
    ]
    assert not deployment_row(deployment(venue="SPOT", user_wallet="0x" + "ab" * 20))["paper_only"]  # a Safe


def test_what_pay_says_after_submitting():
    assert payment_feedback(payment(status=PaymentStatus.CONFIRMED, reason=None)) == (CONFIRMED, "")
    assert payment_feedback(payment(status=PaymentStatus.SUBMITTED, reason=None)) == (SUBMITTED, "")
    assert payment_feedback(payment()) == ("", "Payment refused: insufficient balance.")
    assert payment_feedback(payment(reason=None)) == ("", "Payment refused: Hyperliquid refused the payment.")


def detail(**changes) -> InvoiceOut:
    return InvoiceOut(**{**invoice().model_dump(), "lines": [], "payments": [], "payable": True,
                         "closed_reason": None, **changes})  # fmt: skip


def test_an_open_invoice_without_a_platform_address_says_payments_are_off():
    platform = "0x" + "cd" * 20
    assert pay_unavailable(detail(payable=False), None) == PAYMENTS_OFF
    assert pay_unavailable(detail(payable=False), platform) == ""  # e.g. a payment awaits confirmation
    assert pay_unavailable(detail(), platform) == ""
    assert pay_unavailable(detail(status=InvoiceStatus.PAID, payable=False), None) == ""  # no Pay at all
