"""Paying an invoice from the user's own wallet: the usdSend to sign, then the signature (owner only).

`POST .../payment` gives a Hyperliquid `usdSend` of the invoice total to the platform's address as EIP-712
typed data for `eth_signTypedData_v4`; `POST .../payment/submit` with the signature checks it is the invoice
holder's for exactly that send, hands it to Hyperliquid and marks the invoice paid once the ledger shows it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from backend.api.agents import MAX_ID
from backend.api.auth import UNAUTHORIZED
from backend.api.deployments import ARBITRUM_ONE, MAX_CHAIN_ID
from backend.api.deps import CurrentUserDep, SessionDep, SettingsDep
from backend.api.errors import CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE, VENUE_ERRORS
from backend.api.routing import AuthenticateFirstRoute
from backend.billing import payments
from backend.billing.schemas import PaymentOut, PaymentRequest, PaymentSubmit
from backend.models.common import utcnow

InvoiceId = Annotated[int, Path(ge=1, le=MAX_ID)]
OWNED = {**UNAUTHORIZED, **NOT_FOUND}

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/billing",
    tags=["billing"],
    responses={**UNAUTHORIZED, **INVALID, **UNAVAILABLE},
)


class PaymentStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain_id: int = Field(
        default=ARBITRUM_ONE, ge=1, le=MAX_CHAIN_ID, description="The chain the wallet is on as it signs."
    )


@router.post(
    "/invoices/{invoice_id}/payment",
    summary="The invoice payment to sign",
    responses={**OWNED, **CONFLICT},
)
def prepare_payment(
    invoice_id: InvoiceId,
    body: PaymentStart,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> PaymentRequest:
    """A `usdSend` of the invoice total to the platform's address: sign `typed_data` with
    `eth_signTypedData_v4` from the invoice holder's wallet on `chain_id` before `expires_at`, then post the
    signature with `payment_id` and `chain_id`. Not open, already paid or a payment awaiting confirmation:
    409 (also when this deployment takes no payments)."""
    return payments.prepare_payment(
        session, user, invoice_id, settings=settings, chain_id=body.chain_id, now=utcnow()
    )


@router.post(
    "/invoices/{invoice_id}/payment/submit",
    summary="Submit the signed invoice payment",
    responses={**OWNED, **CONFLICT, **VENUE_ERRORS},
)
def submit_payment(
    invoice_id: InvoiceId,
    body: PaymentSubmit,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> PaymentOut:
    """Checks the signature is the invoice holder's for exactly the prepared send (422 on `signature` or
    `payment_id` otherwise: another account, amount, destination, invoice, an expired or used request),
    posts it to Hyperliquid and confirms it from the ledger: `status` CONFIRMED (the invoice is paid) or
    SUBMITTED (confirmed shortly by the platform). A paid invoice is 409 and nothing is sent."""
    return payments.submit_payment(session, user, invoice_id, body, settings=settings, now=utcnow())
