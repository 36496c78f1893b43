"""Reading billing for pages and the API: every figure is a sum over the same billing lines.

Owner-only: another user's invoice is BillingNotFound (404), as an unknown one is.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.billing.schemas import BillingOverview, EarningsOut, InvoiceOut, OperatorSummary


def billing_overview(session: Session, user: CurrentUser, *, now: datetime) -> BillingOverview:
    raise NotImplementedError


def invoice_detail(session: Session, user: CurrentUser, invoice_id: int, *, now: datetime) -> InvoiceOut:
    """The user's invoice with its lines and payments (operators may read any)."""
    raise NotImplementedError


def invoice_csv(session: Session, user: CurrentUser, invoice_id: int) -> str:
    """The invoice as CSV: a header block (number, month, status, dates, total) and one row per line."""
    raise NotImplementedError


def earnings(session: Session, user: CurrentUser) -> EarningsOut:
    """The creator's profit shares by agent and month, collected, paid out and pending."""
    raise NotImplementedError


def operator_summary(session: Session, *, now: datetime) -> OperatorSummary:
    raise NotImplementedError
