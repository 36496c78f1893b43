"""Paying an invoice from the user's own wallet: a Hyperliquid usdSend the browser signs.

prepare: the server issues the action (destination PLATFORM_ADDRESS, the invoice total, a fresh nonce) and
stores it as a PREPARED payment; submit: the signature must recover the invoice holder's address for exactly
that action, the invoice must still be open and unpaid, then the payment is SUBMITTED (committed before it is
sent, so a crash is recovered by confirmation, never by sending again) and posted; confirm: the payer's
`userNonFundingLedgerUpdates` show the send, and the invoice is marked paid.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.billing.schemas import PaymentOut, PaymentRequest, PaymentSubmit
from backend.config import Settings

PAYMENT_WINDOW = timedelta(minutes=10)  # a prepared payment must be signed and submitted within this


def prepare_payment(
    session: Session, user: CurrentUser, invoice_id: int, *, settings: Settings, chain_id: int, now: datetime
) -> PaymentRequest:
    """The typed data to sign for the invoice's total; 409 when the invoice is not payable."""
    raise NotImplementedError


def submit_payment(
    session: Session,
    user: CurrentUser,
    invoice_id: int,
    body: PaymentSubmit,
    *,
    settings: Settings,
    now: datetime,
) -> PaymentOut:
    """Verify, record, send and try to confirm at once; PaymentRejected (422) for a signature of another
    amount, destination, account, invoice, an expired or used nonce; BillingConflict (409) for a paid one."""
    raise NotImplementedError


def confirm_payments(session: Session, *, settings: Settings, now: datetime) -> int:
    """The periodic pass over SUBMITTED payments: confirmed ones mark their invoice paid; ones the ledger
    never shows by the venue's nonce window are REJECTED (the user may pay again). How many changed."""
    raise NotImplementedError
