"""Billing over REST: a trader's overview, invoices (JSON and CSV), subscriptions and a creator's earnings;
the operators' summary, voids, write-offs, waivers and payouts.

Every path needs a session (401 first, before any body is judged). A trader reads only their own invoices and
subscriptions: anyone else's id is the same 404 as an unknown one. Operator paths answer 403 to traders.
Thin over `backend.billing` (views for reads, operations and subscriptions for changes); their errors get the
app-wide shapes (BillingNotFound → 404, BillingConflict → 409, PaymentRejected → 422 on the field). Paying an
invoice from the wallet is `backend.api.billing_payments`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.api.admin import FORBIDDEN
from backend.api.agents import MAX_ID
from backend.api.auth import UNAUTHORIZED
from backend.api.deps import AdminDep, ClientIpDep, CurrentUserDep, SessionDep, SettingsDep
from backend.api.errors import CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE
from backend.api.routing import AuthenticateFirstRoute
from backend.billing import operations, subscriptions, views
from backend.billing.schemas import (
    BillingOverview,
    EarningsOut,
    InvoiceOut,
    InvoiceSummary,
    LineOut,
    OperatorSummary,
    PayoutIn,
    PayoutOut,
    ReasonIn,
    SubscriptionOut,
)
from backend.models import Payout
from backend.models.common import utcnow
from backend.models.enums import InvoiceStatus

logger = logging.getLogger(__name__)

InvoiceId = Annotated[int, Path(ge=1, le=MAX_ID)]
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]
LineId = Annotated[int, Path(ge=1, le=MAX_ID)]
OWNED: dict[int | str, dict[str, Any]] = {**NOT_FOUND}
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/billing",
    tags=["billing"],
    responses={**UNAUTHORIZED, **INVALID, **UNAVAILABLE},
)
admin_router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/admin/billing",
    tags=["admin", "billing"],
    responses={**UNAUTHORIZED, **FORBIDDEN, **INVALID, **UNAVAILABLE},
)


class InvoiceQuery(BaseModel):
    """Unknown parameters are refused (422), so a misspelt filter never silently reads everything."""

    model_config = ConfigDict(extra="forbid")

    status: InvoiceStatus | None = None
    limit: int = Field(default=100, ge=1, le=views.MAX_INVOICES)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class PayoutQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=100, ge=1, le=views.MAX_INVOICES)
    offset: int = Field(default=0, ge=0, le=1_000_000)


# -- traders -------------------------------------------------------------------------------------------------


@router.get("", summary="My billing")
def overview(user: CurrentUserDep, session: SessionDep, settings: SettingsDep) -> BillingOverview:
    """Subscriptions, this month's running charges (`current_lines`, and `current_total_usd`, what they will
    invoice: builder fees the venue collected and waived lines excluded), invoices newest first and what is
    outstanding on open ones. Paper trading is free and never appears here. The seeds' `GET /api/billing`."""
    return views.billing_overview(session, user, now=utcnow(), settings=settings)


@router.get("/invoices", summary="My invoices")
def list_invoices(
    query: Annotated[InvoiceQuery, Query()], user: CurrentUserDep, session: SessionDep
) -> list[InvoiceSummary]:
    """Newest month first, the running month's draft included; `overdue` when open past `due_at`."""
    return views.list_invoices(
        session, user, now=utcnow(), status=query.status, limit=query.limit, offset=query.offset
    )


@router.get("/invoices/{invoice_id}", summary="One of my invoices", responses=OWNED)
def get_invoice(
    invoice_id: InvoiceId, user: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> InvoiceOut:
    """Its lines (each with what caused it: deployment, position, subscription period), its payments, and
    `payable`: open, nothing awaiting confirmation, and the platform takes payments here."""
    return views.invoice_detail(session, user, invoice_id, now=utcnow(), settings=settings)


@router.get(
    "/invoices/{invoice_id}/csv",
    summary="One of my invoices as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The invoice as CSV"}, **OWNED},
)
def invoice_csv(invoice_id: InvoiceId, user: CurrentUserDep, session: SessionDep) -> Response:
    """A header block (invoice number, month, status, account, dates, total), a blank line, then one row per
    line; downloaded as `<invoice number>.csv`."""
    summary = views.invoice_summary(session, user, invoice_id, now=utcnow())
    body = views.invoice_csv(session, user, invoice_id)
    disposition = f'attachment; filename="{views.csv_filename(summary)}"'
    return Response(content=body, media_type=CSV_MEDIA_TYPE, headers={"Content-Disposition": disposition})


@router.get("/subscriptions", summary="My subscriptions")
def list_subscriptions(
    user: CurrentUserDep, session: SessionDep, settings: SettingsDep
) -> list[SubscriptionOut]:
    """One per live deployment, newest first: trialing, active, past due, suspended or canceled."""
    return views.list_subscriptions(session, user, settings=settings)


@router.post(
    "/subscriptions/{subscription_id}/cancel",
    summary="Cancel a subscription",
    responses={**OWNED, **CONFLICT},
)
def cancel_subscription(
    subscription_id: SubscriptionId,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
) -> SubscriptionOut:
    """Canceled at once while trialing, else at the end of the paid period (`cancel_at_period_end`); 409
    when already canceled. Audited."""
    subscriptions.cancel_subscription(session, user, subscription_id, now=utcnow(), ip=ip)
    session.commit()
    return views.subscription_detail(session, user, subscription_id, settings=settings)


@router.get("/earnings", summary="My earnings as a creator")
def get_earnings(user: CurrentUserDep, session: SessionDep) -> EarningsOut:
    """The creator's share of followers' profitable closes by agent and month: accrued, collected (on paid
    invoices), paid out, and pending (collected, not yet paid out), with the payouts."""
    return views.earnings(session, user)


# -- operators -----------------------------------------------------------------------------------------------


@admin_router.get("", summary="Billing summary")
def summary(_admin: AdminDep, session: SessionDep) -> OperatorSummary:
    """Revenue by month, kind and beneficiary (invoiced on open or paid invoices; paid, including builder fees
    collected at the source), invoices and subscriptions by status, overdue invoices, and what is owed to
    each signal source and each creator."""
    return views.operator_summary(session, now=utcnow())


@admin_router.post(
    "/invoices/{invoice_id}/void", summary="Void an invoice", responses={**NOT_FOUND, **CONFLICT}
)
def void_invoice(
    invoice_id: InvoiceId,
    body: ReasonIn,
    admin: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
) -> InvoiceOut:
    """A draft or open invoice becomes VOID and its lines WAIVED; 409 when paid, void, or a payment awaits
    confirmation. Audited with the reason."""
    now = utcnow()
    operations.void_invoice(session, admin, invoice_id, body.reason, now=now, ip=ip)
    session.commit()
    return views.invoice_detail(session, admin, invoice_id, now=now, settings=settings)


@admin_router.post(
    "/invoices/{invoice_id}/uncollectible",
    summary="Write an invoice off",
    responses={**NOT_FOUND, **CONFLICT},
)
def mark_uncollectible(
    invoice_id: InvoiceId,
    body: ReasonIn,
    admin: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    ip: ClientIpDep,
) -> InvoiceOut:
    """An open invoice becomes UNCOLLECTIBLE, its lines likewise; 409 otherwise. Audited with the reason."""
    now = utcnow()
    operations.mark_uncollectible(session, admin, invoice_id, body.reason, now=now, ip=ip)
    session.commit()
    return views.invoice_detail(session, admin, invoice_id, now=now, settings=settings)


@admin_router.post(
    "/lines/{line_id}/waive", summary="Waive a billing line", responses={**NOT_FOUND, **CONFLICT}
)
def waive_line(
    line_id: LineId, body: ReasonIn, admin: AdminDep, session: SessionDep, ip: ClientIpDep
) -> LineOut:
    """A pending or invoiced line becomes WAIVED and leaves its invoice's total; 409 for a paid, collected or
    already waived one. Audited with the reason."""
    operations.waive_line(session, admin, line_id, body.reason, now=utcnow(), ip=ip)
    session.commit()
    return views.admin_line(session, line_id)


@admin_router.get("/payouts", summary="Payouts")
def list_payouts(
    query: Annotated[PayoutQuery, Query()], _admin: AdminDep, session: SessionDep
) -> list[PayoutOut]:
    """Money sent to creators and for signal sources, newest first."""
    return views.list_payouts(session, limit=query.limit, offset=query.offset)


@admin_router.post("/payouts", summary="Record a payout", status_code=201, responses=CONFLICT)
def record_payout(body: PayoutIn, admin: AdminDep, session: SessionDep, ip: ClientIpDep) -> PayoutOut:
    """Money sent to a creator (`user_address`) or for a CT account (`ct_account_id`), with its transaction
    hash. 422 on the field for an unknown user or account, a beneficiary without its target, or more than is
    owed; 409 for a transaction hash already recorded. Audited."""
    payout = operations.record_payout(session, admin, body, now=utcnow(), ip=ip)
    session.commit()
    (recorded,) = views.list_payouts(session, Payout.id == payout.id, limit=1)
    return recorded
