"""Admin: billing `/admin/billing`: revenue by month and kind, invoices by status, the overdue list,
subscriptions by state, the sources pool per CT account and creators' balances; and the operators' actions,
each with a reason the audit log keeps: void an invoice, waive a line, write an invoice off, record a payout.

Every load and action re-authenticates and shows "Admins only" to anyone else; the services check again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation

import plotly.graph_objects as go
import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec
from sqlmodel import Session

from backend.auth.identity import CurrentUser
from backend.billing import operations
from backend.billing.errors import BillingConflict, BillingNotFound, PaymentRejected
from backend.billing.schemas import InvoiceOut, OperatorSummary, PayoutIn, ReasonIn
from backend.billing.views import invoice_detail, operator_summary
from backend.models.common import utcnow
from backend.models.enums import Beneficiary
from maxxit_ui.components import billing_format as bf
from maxxit_ui.components import format as fmt
from maxxit_ui.state import admin_billing_rows as rows
from maxxit_ui.state.inputs import ADDRESS_TEXT_MAX, CHOICE_MAX, ID_TEXT_MAX, NUMBER_TEXT_MAX, clip
from maxxit_ui.state.mixins import UNAVAILABLE, AdminMixin, ConfirmMixin, sentence

REASON_MAX = 256
NOTE_MAX = 256
TX_HASH_MAX = 80
REASON_HINT = "Give a reason of 3 to 256 characters; the audit log keeps it."
ACTION_TITLES: dict[str, str] = {
    "void": "Void invoice",
    "uncollectible": "Mark invoice uncollectible",
    "waive": "Waive line",
}
PAYOUT_FIELDS = ("beneficiary", "user_address", "ct_account_id", "amount", "tx_hash", "note")
PAYOUT_MESSAGES: dict[str, str] = {
    "beneficiary": "Choose a creator or a signal source.",
    "user_address": "A 0x address: 0x and 40 hex characters.",
    "ct_account_id": "Choose a CT account.",
    "amount": "An amount above 0 USDC, with at most 6 decimals.",
    "tx_hash": "A transaction hash: 0x and 64 hex characters.",
    "note": f"At most {NOTE_MAX} characters.",
}


def payout_body(
    beneficiary: str, address: str, ct_account_id: int | None, amount: str, tx_hash: str, note: str
) -> tuple[PayoutIn | None, dict[str, str]]:
    """The payout form as the service's input, or the message for each field it refuses."""
    errors: dict[str, str] = {}
    creator = beneficiary == Beneficiary.CREATOR
    if beneficiary not in (Beneficiary.CREATOR, Beneficiary.SOURCES):
        errors["beneficiary"] = PAYOUT_MESSAGES["beneficiary"]
    elif creator and not address.strip():
        errors["user_address"] = "Enter the creator's wallet address."
    elif not creator and ct_account_id is None:
        errors["ct_account_id"] = PAYOUT_MESSAGES["ct_account_id"]
    try:
        value: Decimal | None = Decimal(amount.strip())
    except InvalidOperation:
        errors["amount"], value = PAYOUT_MESSAGES["amount"], None
    try:  # the other fields are checked even when one above is refused, so every message shows at once
        body = PayoutIn.model_validate(
            {
                "beneficiary": beneficiary if not errors.get("beneficiary") else Beneficiary.CREATOR,
                "user_address": address.strip() if creator and address.strip() else None,
                "ct_account_id": None if creator else ct_account_id,
                "amount": value,
                "tx_hash": tx_hash.strip(),
                "note": note.strip(),
            }
        )
    except ValidationError as e:
        for err in e.errors():
            field = str(err["loc"][0]) if err["loc"] else "beneficiary"
            errors.setdefault(field, PAYOUT_MESSAGES.get(field, sentence(ValueError(err["msg"]))))
        return None, errors
    return (None, errors) if errors else (body, {})


class AdminBillingState(AdminMixin, ConfirmMixin, rx.State):
    """The reason dialog is the confirm dialog: `confirm_action` is the action, `confirm_id` the invoice's
    or the line's id (editable there, for a waive started without one)."""

    revenue_figure: go.Figure = go.Figure()
    revenue: list[rows.RevenueDisplay] = []
    invoice_counts: list[rows.CountDisplay] = []
    subscription_counts: list[rows.CountDisplay] = []
    overdue: list[rows.InvoiceDisplay] = []
    sources: list[rows.SourceDisplay] = []
    creators: list[rows.CreatorDisplay] = []
    ct_handles: list[str] = []

    # The invoice looked up (by id, or from the overdue list) with its lines.
    lookup: str = ""
    lookup_error: str = ""
    has_invoice: bool = False
    invoice: rows.InvoiceDisplay = rows.InvoiceDisplay(
        id="", number="", user="", user_short="", month="", total="", issued="", due="", status="",
        status_color="gray", overdue=False,
    )  # fmt: skip
    invoice_reason: str = ""  # why it was voided or written off
    lines: list[rows.LineDisplay] = []
    can_void: bool = False
    can_write_off: bool = False

    # The reason dialog.
    reason: str = ""
    reason_error: str = ""
    target_error: str = ""
    acting: bool = False

    # The payout form.
    p_beneficiary: str = Beneficiary.CREATOR.value
    p_address: str = ""
    p_ct: str = ""
    p_amount: str = ""
    p_tx: str = ""
    p_note: str = ""
    p_errors: dict[str, str] = {}
    paying: bool = False

    _ct_ids: dict[str, int] = {}

    @rx.var
    def action_title(self) -> str:
        return ACTION_TITLES.get(self.confirm_action, "")

    @rx.var
    def action_open(self) -> bool:
        return self.confirm_action != ""

    @rx.var
    def paying_creator(self) -> bool:
        return self.p_beneficiary == Beneficiary.CREATOR

    @rx.var
    def target_label(self) -> str:
        return "Line id" if self.confirm_action == "waive" else "Invoice id"

    # The payout form's messages beside each field ("" for none).
    @rx.var
    def err_beneficiary(self) -> str:
        return self.p_errors.get("beneficiary", "")

    @rx.var
    def err_address(self) -> str:
        return self.p_errors.get("user_address", "")

    @rx.var
    def err_ct(self) -> str:
        return self.p_errors.get("ct_account_id", "")

    @rx.var
    def err_amount(self) -> str:
        return self.p_errors.get("amount", "")

    @rx.var
    def err_tx(self) -> str:
        return self.p_errors.get("tx_hash", "")

    @rx.var
    def err_note(self) -> str:
        return self.p_errors.get("note", "")

    @rx.var
    def err_form(self) -> str:
        return self.p_errors.get("form", "")

    # -- loading -------------------------------------------------------------------------------------

    @rx.event
    async def load(self) -> AsyncIterator[EventSpec | None]:
        self.status, self.error = "loading", ""
        self._clear_confirm()
        yield
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        if await self._summary():
            self._show_ready()

    async def _summary(self) -> bool:
        summary = await self._fetch(lambda s: operator_summary(s, now=utcnow()), "admin: billing summary")
        if summary is not UNAVAILABLE:
            self._show(summary)
        return summary is not UNAVAILABLE

    def _show(self, s: OperatorSummary) -> None:
        self.revenue_figure = bf.revenue_figure(s.revenue)
        self.revenue = [rows.revenue_row(r) for r in reversed(s.revenue)]  # newest first in the table
        self.invoice_counts = rows.invoice_counts(s.invoices_by_status)
        self.subscription_counts = rows.subscription_counts(s.subscriptions_by_state)
        self.overdue = [rows.invoice_row(i) for i in s.overdue]
        self.sources = [rows.source_row(r) for r in s.sources_pool]
        self.creators = [rows.creator_row(r) for r in s.creators]
        self._ct_ids = {f"@{r.handle}": r.ct_account_id for r in s.sources_pool}
        self.ct_handles = list(self._ct_ids)

    # -- one invoice -----------------------------------------------------------------------------------

    @rx.event
    def set_lookup(self, value: str) -> None:
        if self.status == "ready":
            self.lookup, self.lookup_error = clip(value, ID_TEXT_MAX), ""

    @rx.event
    async def open_invoice(self, invoice_id: str = "") -> AsyncIterator[EventSpec | None]:
        """Show one invoice with its lines: the id typed in the lookup, or the one clicked in a list."""
        text = clip(invoice_id or self.lookup, ID_TEXT_MAX).strip().lstrip("#")
        if not text.isdigit() or int(text) <= 0:
            self.lookup_error = "Enter an invoice id, a whole number."
            return
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        self.lookup = text
        await self._invoice(user, int(text))

    async def _invoice(self, user: CurrentUser, invoice_id: int) -> None:
        try:
            done = await self._attempt(
                lambda session: invoice_detail(session, user, invoice_id, now=utcnow()), "admin: an invoice"
            )
        except BillingNotFound:
            self.has_invoice, self.lookup_error = False, f"No invoice #{invoice_id}."
            return
        if done.ok:
            self._show_invoice(done.value)
        self.lookup_error = done.message

    def _show_invoice(self, detail: InvoiceOut) -> None:
        self.lookup_error = ""
        self.has_invoice = True
        self.invoice = rows.invoice_row(detail)
        self.invoice_reason = detail.closed_reason or ""
        self.lines = [rows.line_row(line) for line in detail.lines]
        self.can_void, self.can_write_off = rows.invoice_actions(detail)

    @rx.event
    def close_invoice(self) -> None:
        self.has_invoice, self.lines, self.lookup = False, [], ""

    # -- the reason dialog -----------------------------------------------------------------------------

    @rx.event
    def ask(self, action: str, item_id: str = "") -> None:  # type: ignore[override]
        """Open the reason dialog for an action; a waive without a line id asks for one there."""
        if self.status != "ready" or action not in ACTION_TITLES:
            return
        self.confirm_action, self.confirm_id = action, clip(item_id, ID_TEXT_MAX)
        self.reason = self.reason_error = self.target_error = ""

    def _confirm_busy(self) -> bool:
        return self.acting

    @rx.event
    def set_target(self, value: str) -> None:
        if self.confirm_action:
            self.confirm_id, self.target_error = clip(value, ID_TEXT_MAX), ""

    @rx.event
    def set_reason(self, value: str) -> None:
        if self.confirm_action:
            self.reason, self.reason_error = clip(value, REASON_MAX + 1), ""

    @rx.event
    async def confirm(self) -> AsyncIterator[EventSpec | None]:
        """Do the dialog's action with its reason; the service's refusal shows in the dialog."""
        if self.acting or not self.confirm_action:
            return
        target = self.confirm_id.strip().lstrip("#")
        if not target.isdigit() or int(target) <= 0:
            self.target_error = "Enter the id, a whole number."
        try:
            reason = ReasonIn(reason=self.reason.strip()).reason
        except ValidationError:
            self.reason_error = REASON_HINT
        if self.target_error or self.reason_error:
            return
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        action, target_id, ip = self.confirm_action, int(target), self.router.session.client_ip or None
        self.acting = True
        yield
        try:
            done = await self._attempt(
                lambda session: _act(session, user, action, target_id, reason, ip), f"admin: billing {action}"
            )
        except BillingNotFound:
            self.target_error = f"No {'line' if action == 'waive' else 'invoice'} #{target_id}."
            return
        except BillingConflict as e:
            self.target_error = sentence(e)
            yield rx.toast.error(self.target_error)
            return
        finally:
            self.acting = False
        if not done.ok:
            self.target_error = done.message
            return
        self._clear_confirm()
        yield rx.toast.success(done.value)
        await self._summary()
        if self.has_invoice and self.invoice["id"]:
            await self._invoice(user, int(self.invoice["id"]))

    # -- the payout form -------------------------------------------------------------------------------

    def _field(self, name: str) -> None:
        if name in self.p_errors or "form" in self.p_errors:
            self.p_errors = {k: v for k, v in self.p_errors.items() if k not in (name, "form")}

    @rx.event
    def set_p_beneficiary(self, value: str) -> None:
        if self.status == "ready" and value in (Beneficiary.CREATOR, Beneficiary.SOURCES):
            self.p_beneficiary = value
            self.p_errors = {}

    @rx.event
    def set_p_address(self, value: str) -> None:
        if self.status == "ready":
            self.p_address = clip(value, ADDRESS_TEXT_MAX)
            self._field("user_address")

    @rx.event
    def set_p_ct(self, value: str) -> None:
        if self.status == "ready":
            self.p_ct = clip(value, CHOICE_MAX + 1)
            self._field("ct_account_id")

    @rx.event
    def set_p_amount(self, value: str) -> None:
        if self.status == "ready":
            self.p_amount = clip(value, NUMBER_TEXT_MAX)
            self._field("amount")

    @rx.event
    def set_p_tx(self, value: str) -> None:
        if self.status == "ready":
            self.p_tx = clip(value, TX_HASH_MAX)
            self._field("tx_hash")

    @rx.event
    def set_p_note(self, value: str) -> None:
        if self.status == "ready":
            self.p_note = clip(value, NOTE_MAX + 1)
            self._field("note")

    @rx.event
    def prefill_creator(self, address: str, owed: str) -> None:
        """ "Pay out" on a creator's row: the form names them and what they are owed."""
        if self.status == "ready":
            self.p_beneficiary, self.p_address = Beneficiary.CREATOR.value, clip(address, ADDRESS_TEXT_MAX)
            self.p_amount, self.p_errors = clip(owed, NUMBER_TEXT_MAX), {}

    @rx.event
    def prefill_source(self, handle: str, owed: str) -> None:
        if self.status == "ready":
            self.p_beneficiary, self.p_ct = Beneficiary.SOURCES.value, clip(handle, CHOICE_MAX + 1)
            self.p_amount, self.p_errors = clip(owed, NUMBER_TEXT_MAX), {}

    @rx.event
    async def record_payout(self) -> AsyncIterator[EventSpec | None]:
        if self.paying or self.status != "ready":
            return
        body, errors = payout_body(
            self.p_beneficiary, self.p_address, self._ct_ids.get(self.p_ct), self.p_amount, self.p_tx,
            self.p_note,
        )  # fmt: skip
        if body is None:
            self.p_errors = errors
            return
        user, redirect = await self._viewer()
        if user is None:
            yield redirect
            return
        ip = self.router.session.client_ip or None
        self.paying, self.p_errors = True, {}
        yield
        try:
            done = await self._attempt(
                lambda session: operations.record_payout(session, user, body, now=utcnow(), ip=ip),
                "admin: recording a payout",
            )
        except PaymentRejected as e:
            field = e.field if e.field in PAYOUT_FIELDS else "form"
            self.p_errors = {field: sentence(ValueError(e.message))}
            return
        except BillingConflict as e:
            self.p_errors = {"tx_hash": sentence(e)}
            return
        except BillingNotFound as e:
            self.p_errors = {"form": sentence(e)}
            return
        finally:
            self.paying = False
        if not done.ok:
            self.p_errors = {"form": done.message}
            return
        whom = fmt.short_address(body.user_address or "") if body.user_address else self.p_ct
        self.p_address = self.p_amount = self.p_tx = self.p_note = ""
        yield rx.toast.success(f"Payout of {bf.usdc(body.amount)} to {whom} recorded.")
        await self._summary()


def _act(session: Session, user: CurrentUser, action: str, target: int, reason: str, ip: str | None) -> str:
    """Run one operator action in the worker thread; what to tell the operator when it is done."""
    now = utcnow()
    if action == "void":
        invoice = operations.void_invoice(session, user, target, reason, now=now, ip=ip)
        return f"Invoice {invoice.number or f'#{invoice.id}'} voided."
    if action == "uncollectible":
        invoice = operations.mark_uncollectible(session, user, target, reason, now=now, ip=ip)
        return f"Invoice {invoice.number or f'#{invoice.id}'} marked uncollectible."
    line = operations.waive_line(session, user, target, reason, now=now, ip=ip)
    return f"Line #{line.id} waived."
