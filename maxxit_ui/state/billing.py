"""Billing `/billing` and an invoice `/billing/invoices/[invoice_id]`: what a trader owes and paying it.

Every figure comes from backend.billing.views over the same billing lines. Paying: the server prepares a
Hyperliquid usdSend of the invoice's total to the platform's address as EIP-712 typed data, the browser's
wallet signs it (assets/wallet.js, eth_signTypedData_v4), and the server verifies, submits and confirms it
(backend.billing.payments). Only the typed data and the signature cross the websocket.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal, NamedTuple

import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from backend.billing.errors import BillingConflict, BillingNotFound, BillingUnavailable, PaymentRejected
from backend.billing.invoices import issue_running_month
from backend.billing.payments import prepare_payment, submit_payment
from backend.billing.schemas import BillingOverview, InvoiceOut, PaymentOut, PaymentSubmit
from backend.billing.subscriptions import cancel_subscription
from backend.billing.views import billing_overview, invoice_csv, invoice_detail
from backend.config import get_settings
from backend.models.common import utcnow
from backend.models.enums import InvoiceStatus, PaymentStatus
from backend.venues.base import TemporaryVenueError, VenueError
from maxxit_ui.components import billing_format as bf
from maxxit_ui.components import format as fmt
from maxxit_ui.state import billing_rows as rows
from maxxit_ui.state.auth import current_user, to_signin
from maxxit_ui.state.db import DB_ERROR, read
from maxxit_ui.state.deploy_approval import sentence, wallet_reason
from maxxit_ui.state.deploy_form import chain_id
from maxxit_ui.state.inputs import ID_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, ConfirmMixin, LoadMixin, PollingMixin, Query
from maxxit_ui.state.wallet_bridge import wallet_call

logger = logging.getLogger(__name__)

PayBusy = Literal["", "connecting", "preparing", "signing", "submitting"]

HYPERLIQUID_DOWN = "Hyperliquid cannot be reached right now, so nothing was sent. Try again in a moment."


class BillingState(LoadMixin, ConfirmMixin, rx.State):
    """The trader's subscriptions, this month's running charges and invoices; canceling one is confirmed."""

    subscriptions: list[rows.SubscriptionRow] = []
    lines: list[rows.LineRow] = []
    invoices: list[rows.InvoiceRow] = []
    current_month: str = ""
    current_label: str = "This month"
    current_total: str = ""
    collected_total: str = ""
    outstanding: str = ""
    has_outstanding: bool = False
    notes: list[str] = []
    canceling: bool = False
    issuing: bool = False
    sandbox: bool = False

    @rx.var
    def is_empty(self) -> bool:
        return not (self.subscriptions or self.lines or self.invoices)

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.canceling = "loading", "", False
        self._clear_confirm()
        self.notes = rows.pricing_notes(get_settings())
        self.sandbox = bool(get_settings().hyperliquid_sandbox_url)
        yield
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        await self._refresh(user)

    async def _refresh(self, user: Any) -> None:
        now = utcnow()
        overview = await self._fetch(lambda session: billing_overview(session, user, now=now), "billing")
        if overview is not UNAVAILABLE:
            self._show(overview)
            self._show_ready()

    def _show(self, overview: BillingOverview) -> None:
        self.subscriptions = [rows.subscription_row(s) for s in overview.subscriptions]
        self.lines = [rows.line_row(line) for line in overview.current_lines]
        self.invoices = [rows.invoice_row(i) for i in overview.invoices]
        self.current_month = rows.month_name(overview.current_month)
        self.current_label = f"This month ({self.current_month})"
        self.current_total = bf.usdc(overview.current_total_usd)
        self.collected_total = bf.usdc(overview.collected_at_source_usd)
        self.outstanding = bf.usdc(overview.outstanding_usd)
        self.has_outstanding = overview.outstanding_usd > 0

    # -- the sandbox's shortcut: this month's invoice now -------------------------------------------------

    @rx.event
    async def issue_now(self) -> AsyncIterator[EventSpec | None]:
        """Sandbox only: issue the running month's invoice at once, so the demo can pay it today."""
        settings = get_settings()
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        if not settings.hyperliquid_sandbox_url or self.issuing:
            return
        self.issuing = True
        yield
        now = utcnow()
        try:
            done = await self._attempt(
                lambda s: issue_running_month(s, user.id, now=now, due_days=settings.invoice_due_days),
                "sandbox: issuing the running month",
            )
        finally:
            self.issuing = False
        invoice = done.value
        if not done.ok:
            yield done.toast
        elif invoice is None:
            yield rx.toast.info("Nothing of this month is left to invoice.")
        else:
            yield rx.toast.success(f"Invoice {invoice.number} issued: {bf.usdc(invoice.total_usd)}.")
            if invoice.status == InvoiceStatus.OPEN:
                yield rx.redirect(f"/billing/invoices/{invoice.id}")
        await self._refresh(user)

    # -- cancel a subscription ---------------------------------------------------------------------------

    @rx.event
    async def confirm_cancel(self) -> AsyncIterator[EventSpec | None]:
        subscription_id = clip(self._take_confirmed("cancel"), ID_TEXT_MAX)
        if self.canceling or not (subscription_id.isascii() and subscription_id.isdigit()):
            return
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        ip, now = self.router.session.client_ip or None, utcnow()
        self.canceling = True
        yield
        try:
            done = await self._attempt(
                lambda session: cancel_subscription(session, user, int(subscription_id), now=now, ip=ip),
                f"canceling subscription {subscription_id}",
                {BillingConflict: None, BillingNotFound: "That subscription no longer exists."},
            )
        finally:
            self.canceling = False
        if done.ok:
            ends = done.value.current_period_end
            when = (
                f" at the end of its period ({fmt.day(ends)})"
                if done.value.cancel_at_period_end and ends
                else ""
            )
            yield rx.toast.success(f"Subscription canceled{when}.")
        else:
            yield done.toast
        await self._refresh(user)


class InvoiceState(PollingMixin, rx.State):
    """One invoice, printable; Export CSV; Pay from the wallet. While a payment awaits the venue's
    confirmation, the page's timer polls the invoice. `status` is also "not_found"."""

    number: str = ""
    month: str = ""
    invoice_status: str = ""
    status_color: str = "gray"
    issued: str = ""
    due: str = ""
    paid: str = ""
    overdue: bool = False
    bill_to: str = ""
    total: str = ""
    closed_reason: str = ""
    lines: list[rows.LineRow] = []
    payments: list[rows.PaymentRow] = []
    payable: bool = False
    can_pay_status: bool = False  # open: Pay shows (disabled with a reason when not payable)
    unavailable: str = ""  # why an open invoice cannot be paid here
    awaiting: bool = False  # a payment is submitted and not yet confirmed
    pay_busy: PayBusy = ""
    pay_message: str = ""
    pay_error: str = ""

    _invoice_id: int = 0
    _payment_id: int = 0
    _chain_id: int = 0
    _signature: str = ""

    @rx.var
    def pay_label(self) -> str:
        return {
            "connecting": "Asking your wallet…",
            "preparing": "Preparing…",
            "signing": "Sign in your wallet…",
            "submitting": "Sending to Hyperliquid…",
        }.get(self.pay_busy, f"Pay {self.total}")

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error, self.pay_busy, self.pay_message, self.pay_error = "loading", "", "", "", ""
        self._invoice_id, self._payment_id, self._signature = 0, 0, ""
        yield
        user = await current_user(self)
        if user is None:
            yield to_signin(self)
            return
        raw: str = clip(self.invoice_id, ID_TEXT_MAX)  # the dynamic route arg Reflex adds to the root state
        if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0:
            self.status = "not_found"
            return
        self._invoice_id = int(raw)
        await self._refresh(user)

    async def _refresh(self, user: Any) -> None:
        invoice = await self._fetch(self._poll_query(user), f"invoice {self._invoice_id}")
        if invoice is not UNAVAILABLE:
            self._poll_apply(invoice)
            if invoice is not None:
                self._show_ready()

    def _can_poll(self) -> bool:
        return self.status == "ready" and self.awaiting and not self.pay_busy

    def _poll_query(self, user: Any) -> Query[InvoiceOut | None]:
        invoice_id, now = self._invoice_id, utcnow()
        return lambda session: _invoice_or_none(session, user, invoice_id, now)

    def _poll_apply(self, invoice: InvoiceOut | None) -> None:
        if invoice is None:
            self.status = "not_found"
        else:
            self._show(invoice)

    def _show(self, invoice: InvoiceOut) -> None:
        status, color = rows.INVOICE_BADGES.get(invoice.status, (fmt.label(invoice.status), "gray"))
        self.number = invoice.number or "Draft"
        self.month = rows.month_name(invoice.month)
        self.invoice_status, self.status_color = status, color
        self.issued, self.due = fmt.day(invoice.issued_at), fmt.day(invoice.due_at)
        self.paid = fmt.timestamp(invoice.paid_at) if invoice.paid_at else ""
        self.overdue = invoice.overdue
        self.bill_to = invoice.user_address
        self.total = bf.usdc(invoice.total_usd)
        self.closed_reason = invoice.closed_reason or ""
        self.lines = [rows.line_row(line) for line in invoice.lines]
        self.payments = [rows.payment_row(p) for p in invoice.payments]
        self.payable = invoice.payable
        self.can_pay_status = invoice.status == InvoiceStatus.OPEN
        self.awaiting = any(p.status == PaymentStatus.SUBMITTED for p in invoice.payments)
        self.unavailable = rows.pay_unavailable(invoice, get_settings().platform_address)
        if invoice.status == InvoiceStatus.PAID and self.pay_message == rows.SUBMITTED:
            self.pay_message = rows.CONFIRMED

    # -- export and poll ---------------------------------------------------------------------------------

    @rx.event
    async def export_csv(self) -> EventSpec | None:
        user = await current_user(self)
        if user is None:
            return to_signin(self)
        invoice_id = self._invoice_id
        done = await self._attempt(
            lambda session: invoice_csv(session, user, invoice_id),
            f"invoice {invoice_id} CSV",
            {BillingNotFound: "That invoice no longer exists."},
        )
        if not done.ok:
            return done.toast
        name = self.number if self.number != "Draft" else f"invoice-{invoice_id}"
        return rx.download(data=done.value, filename=f"{name}.csv")

    # -- pay ---------------------------------------------------------------------------------------------

    def _pay_failed(self, reason: str) -> None:
        self.pay_busy, self.pay_error, self.pay_message = "", reason, ""
        self._payment_id, self._chain_id, self._signature = 0, 0, ""

    @rx.event
    def pay(self) -> EventSpec | None:
        """Pay 1/4: which chain is the wallet on (the typed data names it)."""
        if self.pay_busy or not self.payable or not self._invoice_id:
            return None
        self.pay_busy, self.pay_error, self.pay_message = "connecting", "", ""
        return rx.call_script(wallet_call("chainId"), callback=InvoiceState.got_chain)

    @rx.event
    async def got_chain(self, result: dict[str, Any]) -> EventSpec | None:
        """Pay 2/4: the server prepares the usdSend of the invoice's total; the wallet is asked to sign it."""
        if not isinstance(result, dict) or not result.get("ok"):
            self._pay_failed(_wallet_reason(result, "The wallet did not say which chain it is on."))
            return None
        try:
            chain = chain_id(result.get("value"))
        except (TypeError, ValueError):
            self._pay_failed("The wallet reported an unusable chain id.")
            return None
        user = await current_user(self)
        if user is None:
            self.pay_busy = ""
            return to_signin(self)
        invoice_id, settings, now = self._invoice_id, get_settings(), utcnow()
        self.pay_busy = "preparing"
        try:
            request = await read(
                lambda session: prepare_payment(
                    session, user, invoice_id, settings=settings, chain_id=chain, now=now
                )
            )
        except BillingUnavailable:
            self._pay_failed("")
            self.unavailable = rows.PAYMENTS_OFF
            return None
        except BillingConflict as e:
            self._pay_failed(sentence(str(e) or "This invoice cannot be paid now"))
            await self._refresh(user)
            return None
        except BillingNotFound:
            self._pay_failed("That invoice no longer exists.")
            return None
        except SQLAlchemyError:
            logger.exception("invoice %s: payment could not be prepared", invoice_id)
            self._pay_failed(DB_ERROR)
            return None
        self._payment_id, self._chain_id, self.pay_busy = request.payment_id, chain, "signing"
        typed = json.dumps(request.typed_data, separators=(",", ":"))
        return rx.call_script(
            wallet_call("signTypedData", user.address, typed), callback=InvoiceState.got_signature
        )

    @rx.event
    def got_signature(self, result: dict[str, Any]) -> EventSpec | None:
        """Pay 3/4: the signature goes to the server in the background (it posts to Hyperliquid)."""
        if not isinstance(result, dict) or not result.get("ok"):
            self._pay_failed(_wallet_reason(result, "The wallet could not sign the payment."))
            return None
        self._signature, self.pay_busy = str(result.get("value", "")), "submitting"
        return InvoiceState.send_payment

    @rx.event(background=True)
    async def send_payment(self) -> AsyncIterator[EventSpec | None]:
        """Pay 4/4: verified, recorded, sent and, when the venue already shows it, confirmed."""
        async with self:
            user = await current_user(self)
            invoice_id, payment_id, chain = self._invoice_id, self._payment_id, self._chain_id
            signature = self._signature
            self._signature = ""
            if user is None:
                self.pay_busy = ""
        if user is None:
            yield to_signin(self)
            return
        payment, error = await _submit(user, invoice_id, PaymentIds(payment_id, chain), signature)
        async with self:
            if payment is not None:
                self.pay_busy = ""
                self.pay_message, self.pay_error = rows.payment_feedback(payment)
                self._payment_id = 0
            else:
                self._pay_failed(error)
            await self._refresh(user)
        if payment is not None and payment.status == PaymentStatus.CONFIRMED:
            yield rx.toast.success(rows.CONFIRMED)


def _invoice_or_none(session: Session, user: Any, invoice_id: int, now: datetime) -> InvoiceOut | None:
    """The invoice, or None for one this user cannot see (the page says "not found")."""
    try:
        return invoice_detail(session, user, invoice_id, now=now)
    except BillingNotFound:
        return None


class PaymentIds(NamedTuple):
    payment_id: int
    chain_id: int  # the chain the wallet signed on: part of what the signature covers


async def _submit(
    user: Any, invoice_id: int, ids: PaymentIds, signature: str
) -> tuple[PaymentOut | None, str]:
    """(the payment, "") or (None, the reason to show beside Pay)."""
    try:
        body = PaymentSubmit(payment_id=ids.payment_id, signature=signature, chain_id=ids.chain_id)
    except ValidationError:
        return None, "The wallet returned an unusable signature."
    settings = get_settings()
    try:
        payment = await read(
            lambda session: submit_payment(session, user, invoice_id, body, settings=settings, now=utcnow())
        )
    except PaymentRejected as e:
        return None, sentence(e.message)  # "Hyperliquid refused the payment: …", "signed by 0x…, …"
    except BillingConflict as e:
        return None, sentence(str(e) or "This invoice cannot be paid now")
    except BillingUnavailable:
        return None, rows.PAYMENTS_OFF
    except BillingNotFound:
        return None, "That invoice no longer exists."
    except TemporaryVenueError:
        return None, HYPERLIQUID_DOWN
    except VenueError as e:
        return None, sentence(f"Hyperliquid refused the payment: {e.reason}")
    except SQLAlchemyError:
        logger.exception("invoice %s: payment could not be submitted", invoice_id)
        return None, DB_ERROR
    return payment, ""


def _wallet_reason(result: Any, fallback: str) -> str:
    if isinstance(result, dict) and result.get("code") == "rejected":
        return "You rejected the payment in your wallet, so nothing was sent."
    return wallet_reason(result, fallback)
