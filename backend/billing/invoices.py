"""Invoices: one per user per calendar month (UTC), gathering that month's billing lines.

The running month's invoice is a DRAFT that lines join as they accrue; once the month is over it is issued
(OPEN): numbered `MX-<year>-<month>-<id:06d>`, dated, due `INVOICE_DUE_DAYS` later, its lines INVOICED and
its total their sum. An invoice with nothing to pay is issued as PAID. Unique (user, month) and the lines'
`invoice_id` make generation exactly once with racing workers or a worker killed midway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from backend.models import Invoice


@dataclass(frozen=True)
class InvoiceRunReport:
    attached: int  # lines that joined a draft
    issued: int  # drafts of past months now open (or paid when nothing was owed)


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of `moment`'s month."""
    raise NotImplementedError


def invoice_number(invoice: Invoice) -> str:
    """MX-2026-12-000123: the invoice's month and id."""
    raise NotImplementedError


def generate_invoices(session: Session, *, now: datetime, due_days: int) -> InvoiceRunReport:
    """The periodic pass: attach PENDING lines to their month's draft, issue drafts of months before
    `now`'s. Commits in small steps; every step is safe to repeat."""
    raise NotImplementedError


def mark_paid(session: Session, invoice_id: int, *, now: datetime, payment_id: int | None = None) -> Invoice:
    """The venue confirmed a payment: the invoice and its lines are PAID, subscriptions reactivate;
    audited. Paying a paid invoice again is a no-op (the caller commits)."""
    raise NotImplementedError
