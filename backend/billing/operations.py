"""What operators do to billing, each with a reason and an audit row: waive a line, void an invoice or write
it off, record a payout to a creator or for a signal source."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.billing.schemas import PayoutIn
from backend.models import BillingEvent, Invoice, Payout


def waive_line(
    session: Session,
    operator: CurrentUser,
    line_id: int,
    reason: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> BillingEvent:
    """A PENDING or INVOICED line becomes WAIVED and leaves its invoice's total; 409 for a paid, collected
    or already waived line, 404 for an unknown one. Audited with the reason."""
    raise NotImplementedError


def void_invoice(
    session: Session,
    operator: CurrentUser,
    invoice_id: int,
    reason: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> Invoice:
    """An OPEN (or DRAFT) invoice becomes VOID and its lines WAIVED; 409 when paid, void or a payment awaits
    confirmation. Audited with the reason."""
    raise NotImplementedError


def mark_uncollectible(
    session: Session,
    operator: CurrentUser,
    invoice_id: int,
    reason: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> Invoice:
    """An OPEN invoice is written off: UNCOLLECTIBLE, lines likewise; audited."""
    raise NotImplementedError


def record_payout(
    session: Session, operator: CurrentUser, body: PayoutIn, *, now: datetime, ip: str | None = None
) -> Payout:
    """Money sent to a creator or for a CT account; 422 on the field for an unknown user or account, a
    beneficiary without its target, or more than is owed; 409 for a transaction hash already recorded."""
    raise NotImplementedError
