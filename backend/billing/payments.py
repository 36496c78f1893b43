"""Paying an invoice from the user's own wallet: a Hyperliquid usdSend the browser signs.

prepare: the server issues the action (destination PLATFORM_ADDRESS, the invoice total, a fresh nonce) and
stores it as a PREPARED payment; submit: the signature must recover the invoice holder's address for exactly
that action, the invoice must still be open and unpaid, then the payment is SUBMITTED (committed before it is
sent, so a crash is recovered by confirmation, never by sending again) and posted; confirm: the payer's
`userNonFundingLedgerUpdates` show the send, and the invoice is marked paid.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.billing import invoices
from backend.billing.errors import BillingConflict, BillingNotFound, BillingUnavailable, PaymentRejected
from backend.billing.schemas import PaymentOut, PaymentRequest, PaymentSubmit
from backend.billing.usd_send import (
    LedgerSend,
    ledger_sends,
    recover_sender,
    submit_usd_send,
    usd_send_action,
    usd_send_typed_data,
)
from backend.config import Settings
from backend.db import transaction
from backend.models import Invoice, InvoicePayment
from backend.models.enums import InvoiceStatus, PaymentStatus
from backend.venues.base import InvalidOrder, TemporaryVenueError, VenueError

logger = logging.getLogger(__name__)

PAYMENT_WINDOW = timedelta(minutes=10)  # a prepared payment must be signed and submitted within this
# Hyperliquid takes a nonce up to 2 days old: a send it never shows by then can no longer go through.
NONCE_WINDOW = timedelta(days=2, minutes=5)
LEDGER_SLACK_MS = 5 * 60_000  # the ledger's time is the block's, a little after the action's time
ENTITY = "invoice_payment"


def prepare_payment(
    session: Session, user: CurrentUser, invoice_id: int, *, settings: Settings, chain_id: int, now: datetime
) -> PaymentRequest:
    """The typed data to sign for the invoice's total; 409 when the invoice is not payable."""
    destination = _platform_address(settings)
    for attempt in range(3):  # two prepares in the same millisecond: the unique (payer, nonce) decides
        try:
            with transaction(session):
                invoice = _owned_invoice(session, user, invoice_id, lock=True)
                _check_payable(session, invoice)
                payment = _new_payment(session, invoice, user, destination, settings, chain_id, now)
            break
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
    action = _action(payment, settings, chain_id)
    return PaymentRequest(
        payment_id=payment.id,
        invoice_id=invoice_id,
        amount=payment.amount,
        destination=payment.destination,
        action=action,
        typed_data=usd_send_typed_data(action),
        expires_at=now + PAYMENT_WINDOW,
    )


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
    amount, destination, account, invoice, an expired or used nonce; BillingConflict (409) for a paid one.

    Hyperliquid's refusal marks the payment REJECTED and is PaymentRejected on `signature` (pay again); no
    answer from it leaves the payment SUBMITTED for `confirm_payments` (it may have gone through)."""
    destination = _platform_address(settings)
    with transaction(session):  # the invoice row is locked: of two racing submits one sends, one is refused
        invoice = _owned_invoice(session, user, invoice_id, lock=True)
        _check_payable(session, invoice)
        payment = _prepared_payment(session, invoice, body.payment_id, destination, now)
        action = _action(payment, settings, body.chain_id)
        _check_signer(action, body.signature, payment.payer)
        claimed = session.execute(
            sa.update(InvoicePayment)
            .where(col(InvoicePayment.id) == payment.id, col(InvoicePayment.status) == PaymentStatus.PREPARED)
            .values(status=PaymentStatus.SUBMITTED, submitted_at=now)
        )
        if claimed.rowcount != 1:
            raise BillingConflict("this payment was already submitted")
        details = {"invoice_id": invoice.id, "amount": str(payment.amount), "nonce": payment.nonce}
        audit.record_by(session, user, audit.Action.PAYMENT_SUBMITTED, ENTITY, payment.id, details, None)
    session.refresh(payment)
    try:
        submit_usd_send(
            settings.hyperliquid_base_url,
            action,
            body.signature,
            timeout=settings.hyperliquid_timeout_seconds,
        )
    except InvalidOrder as refused:
        _reject(session, payment, f"Hyperliquid refused the payment: {refused.reason}")
        raise PaymentRejected("signature", f"Hyperliquid refused the payment: {refused.reason}") from refused
    except TemporaryVenueError as error:  # it may have gone through: the ledger will tell
        logger.warning("payment %s: posting the usdSend failed (%s); confirming later", payment.id, error)
        return _out(payment)
    _confirm(session, payment, settings=settings, now=now)
    return _out(payment)


def confirm_payments(session: Session, *, settings: Settings, now: datetime) -> int:
    """The periodic pass over SUBMITTED payments: confirmed ones mark their invoice paid; ones the ledger
    never shows by the venue's nonce window are REJECTED (the user may pay again). How many changed.

    Prepared payments nobody signed within PAYMENT_WINDOW are marked EXPIRED on the way (counted too)."""
    with transaction(session):
        expired = session.execute(
            sa.update(InvoicePayment)
            .where(
                col(InvoicePayment.status) == PaymentStatus.PREPARED,
                col(InvoicePayment.created_at) < now - PAYMENT_WINDOW,
            )
            .values(status=PaymentStatus.EXPIRED, reason="not signed in time")
        ).rowcount
    pending = session.exec(
        select(InvoicePayment)
        .where(InvoicePayment.status == PaymentStatus.SUBMITTED)
        .order_by(col(InvoicePayment.id))
    ).all()
    changed = 0
    for payment in pending:
        changed += _confirm(session, payment, settings=settings, now=now)
    return expired + changed


# -- preparing ----------------------------------------------------------------------------------------


def _platform_address(settings: Settings) -> str:
    if not settings.platform_address:
        raise BillingUnavailable("payments are off here: no PLATFORM_ADDRESS is configured")
    return settings.platform_address.lower()


def _owned_invoice(session: Session, user: CurrentUser, invoice_id: int, *, lock: bool) -> Invoice:
    query = select(Invoice).where(Invoice.id == invoice_id).execution_options(populate_existing=True)
    invoice = session.exec(query.with_for_update() if lock else query).first()
    if invoice is None or invoice.user_id != user.id:
        raise BillingNotFound(f"invoice {invoice_id} not found")
    return invoice


def _check_payable(session: Session, invoice: Invoice) -> None:
    name = invoice.number or f"invoice {invoice.id}"
    if invoice.status == InvoiceStatus.PAID:
        raise BillingConflict(f"{name} is already paid")
    if invoice.status != InvoiceStatus.OPEN:
        raise BillingConflict(f"{name} is {invoice.status.lower()}: there is nothing to pay")
    if invoice.total_usd <= 0:
        raise BillingConflict(f"{name} has nothing to pay")
    awaiting = session.exec(
        select(InvoicePayment.id).where(
            InvoicePayment.invoice_id == invoice.id, InvoicePayment.status == PaymentStatus.SUBMITTED
        )
    ).first()
    if awaiting is not None:
        raise BillingConflict(f"a payment of {name} is awaiting the venue's confirmation")


def _new_payment(
    session: Session,
    invoice: Invoice,
    user: CurrentUser,
    destination: str,
    settings: Settings,
    chain_id: int,
    now: datetime,
) -> InvoicePayment:
    """A PREPARED payment with a nonce the payer never used; older prepared ones of the invoice expire."""
    payer = user.address.lower()
    session.execute(
        sa.update(InvoicePayment)
        .where(
            col(InvoicePayment.invoice_id) == invoice.id,
            col(InvoicePayment.status) == PaymentStatus.PREPARED,
        )
        .values(status=PaymentStatus.EXPIRED, reason="replaced by a newer payment request")
    )
    last = session.exec(select(func.max(InvoicePayment.nonce)).where(InvoicePayment.payer == payer)).one()
    nonce = max(int(now.timestamp() * 1000), (last or 0) + 1)
    chain = usd_send_action(
        destination, invoice.total_usd, nonce, base_url=settings.hyperliquid_base_url, chain_id=chain_id
    )["hyperliquidChain"]
    payment = InvoicePayment(
        invoice_id=invoice.id,
        payer=payer,
        destination=destination,
        amount=invoice.total_usd,
        nonce=nonce,
        hyperliquid_chain=chain,
        created_at=now,
    )
    session.add(payment)
    session.flush()
    return payment


def _action(payment: InvoicePayment, settings: Settings, chain_id: int) -> dict:
    return usd_send_action(
        payment.destination,
        payment.amount,
        payment.nonce,
        base_url=settings.hyperliquid_base_url,
        chain_id=chain_id,
    )


# -- submitting ---------------------------------------------------------------------------------------


def _prepared_payment(
    session: Session, invoice: Invoice, payment_id: int, destination: str, now: datetime
) -> InvoicePayment:
    """The invoice's payment still waiting for its signature, as prepared for the current total."""
    payment = session.exec(
        select(InvoicePayment)
        .where(InvoicePayment.id == payment_id)
        .execution_options(populate_existing=True)
        .with_for_update()
    ).first()
    if payment is None or payment.invoice_id != invoice.id:
        raise PaymentRejected("payment_id", "this payment request is not for this invoice")
    if payment.status != PaymentStatus.PREPARED:
        raise PaymentRejected("payment_id", "this payment request was already used or has expired; pay again")
    if now > payment.created_at + PAYMENT_WINDOW:
        raise PaymentRejected("payment_id", "this payment request has expired; pay again")
    if payment.amount != invoice.total_usd or payment.destination != destination:
        raise PaymentRejected("payment_id", "the invoice changed since this payment was prepared; pay again")
    return payment


def _check_signer(action: dict, signature: str, payer: str) -> None:
    """The signature must be the holder's, for exactly the action prepared (amount, destination, nonce):
    for anything else it recovers to some other address."""
    try:
        signer = recover_sender(action, signature)
    except ValueError:
        raise PaymentRejected("signature", "the signature does not recover to any address") from None
    if signer.lower() != payer:
        raise PaymentRejected(
            "signature",
            f"this signature is not {payer}'s for this payment (another account, amount, destination or "
            "network signed it); pay again from the invoice's account",
        )


def _reject(session: Session, payment: InvoicePayment, reason: str) -> None:
    with transaction(session):
        payment.status = PaymentStatus.REJECTED
        payment.reason = reason[:500]
        session.add(payment)
        details = {"invoice_id": payment.invoice_id, "reason": payment.reason}
        audit.record(
            session,
            action=audit.Action.PAYMENT_REJECTED,
            entity_type=ENTITY,
            entity_id=payment.id,
            details=details,
        )
    logger.info("payment %s rejected: %s", payment.id, reason)


# -- confirming ---------------------------------------------------------------------------------------


def _confirm(session: Session, payment: InvoicePayment, *, settings: Settings, now: datetime) -> int:
    """Look for the send in the payer's ledger: 1 when the payment changed (confirmed or given up)."""
    try:
        sends = ledger_sends(
            settings.hyperliquid_base_url,
            payment.payer,
            payment.nonce - LEDGER_SLACK_MS,
            timeout=settings.hyperliquid_timeout_seconds,
        )
    except VenueError as error:  # unreachable or an unreadable answer: the next pass tries again
        logger.warning("payment %s: the ledger could not be read: %s", payment.id, error.reason)
        return 0
    sent = next((s for s in sends if _is_the_send(s, payment)), None)
    if sent is None and now < (payment.submitted_at or payment.created_at) + NONCE_WINDOW:
        return 0  # not (yet) in the ledger, and it still could be
    with transaction(session):
        locked = session.exec(
            select(InvoicePayment)
            .where(InvoicePayment.id == payment.id)
            .execution_options(populate_existing=True)
            .with_for_update()
        ).one()
        if locked.status != PaymentStatus.SUBMITTED:
            return 0  # another worker got there first
        if sent is None:
            locked.status, locked.reason = PaymentStatus.REJECTED, "never seen in the Hyperliquid ledger"
            action, details = audit.Action.PAYMENT_REJECTED, {"reason": locked.reason}
        else:
            locked.status, locked.tx_hash, locked.confirmed_at = PaymentStatus.CONFIRMED, sent.hash, now
            action, details = audit.Action.PAYMENT_CONFIRMED, {"tx_hash": sent.hash}
            details["invoice_paid"] = _mark_paid(session, locked, now)
        session.add(locked)
        details |= {"invoice_id": locked.invoice_id, "amount": str(locked.amount)}
        audit.record(session, action=action, entity_type=ENTITY, entity_id=locked.id, details=details)
    logger.info("payment %s %s", payment.id, locked.status.lower())
    return 1


def _mark_paid(session: Session, payment: InvoicePayment, now: datetime) -> bool:
    """The money arrived, so the payment is confirmed whatever the invoice became meanwhile (an operator
    voided it: they refund by hand, the audit entry says so)."""
    try:
        invoices.mark_paid(session, payment.invoice_id, now=now, payment_id=payment.id)
    except BillingConflict as conflict:
        logger.error("payment %s confirmed, but its invoice cannot be paid: %s", payment.id, conflict)
        return False
    return True


def _is_the_send(send: LedgerSend, payment: InvoicePayment) -> bool:
    return (
        send.sender == payment.payer
        and send.destination == payment.destination
        and send.amount == payment.amount
        and send.nonce == payment.nonce
    )


def _out(payment: InvoicePayment) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        status=PaymentStatus(payment.status),
        amount=payment.amount,
        destination=payment.destination,
        nonce=payment.nonce,
        tx_hash=payment.tx_hash,
        reason=payment.reason,
        created_at=payment.created_at,
        submitted_at=payment.submitted_at,
        confirmed_at=payment.confirmed_at,
    )
