"""Domain enumerations. Values are what the database and the API carry."""

from enum import StrEnum

# The trading core owns the words of a trade; the models store them.
from backend.trading.types import CloseReason, Side, SizingProfile  # noqa: F401


class Role(StrEnum):
    TRADER = "trader"
    ADMIN = "admin"


class Venue(StrEnum):
    SPOT = "SPOT"
    GMX = "GMX"
    HYPERLIQUID = "HYPERLIQUID"
    OSTIUM = "OSTIUM"
    MULTI = "MULTI"


class ExecutionVenue(StrEnum):
    """Where a deployment's orders go; MULTI agents route to one of these per signal."""

    PAPER = "PAPER"
    SPOT = "SPOT"
    GMX = "GMX"
    HYPERLIQUID = "HYPERLIQUID"
    OSTIUM = "OSTIUM"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class AgentStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class PostSource(StrEnum):
    X_API = "x_api"
    SAMPLE = "sample"
    MANUAL = "manual"
    DEMO = "demo"


class SignalStatus(StrEnum):
    PENDING = "pending"
    EXECUTED = "executed"
    SKIPPED = "skipped"


class DeploymentStatus(StrEnum):
    # A Hyperliquid deployment waits here until the user's approveAgent signature has been accepted.
    PENDING_APPROVAL = "PENDING_APPROVAL"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"


class PositionStatus(StrEnum):
    OPEN = "OPEN"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"


class OrderPurpose(StrEnum):
    OPEN = "OPEN"
    CLOSE = "CLOSE"


class VenueOrderState(StrEnum):
    """Our record of one order: written NEW before it is sent, then what the venue said of it."""

    NEW = "NEW"  # written, maybe sent: ask the venue before sending again
    SUBMITTED = "SUBMITTED"  # the venue has it (we hold its order id / transaction hash), not settled
    FILLED = "FILLED"
    FAILED = "FAILED"  # refused or settled without a fill: nothing stands at the venue; may be sent again


class ExecutionStatus(StrEnum):
    """What became of one signal for one deployment."""

    PENDING = "PENDING"  # claimed; the order may or may not have reached the venue
    FILLED = "FILLED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


class BillingKind(StrEnum):
    TRADE_FEE = "TRADE_FEE"
    PROFIT_SHARE = "PROFIT_SHARE"
    SUBSCRIPTION = "SUBSCRIPTION"


class BillingStatus(StrEnum):
    """A billing line's life: accrued, on an issued invoice, settled one way or another."""

    PENDING = "PENDING"  # accrued; gathers into the month's draft invoice
    INVOICED = "INVOICED"  # on an issued (open) invoice, awaiting payment
    PAID = "PAID"  # its invoice was paid
    COLLECTED = "COLLECTED"  # the venue collected it at the source (a builder fee): never invoiced
    WAIVED = "WAIVED"  # an operator waived it, or voided its invoice (reason in the audit log)
    UNCOLLECTIBLE = "UNCOLLECTIBLE"  # its invoice was written off


class Beneficiary(StrEnum):
    """Who a billing line's money is for: the platform, the agent's creator, or a signal source."""

    PLATFORM = "PLATFORM"
    CREATOR = "CREATOR"
    SOURCES = "SOURCES"  # the CT account in `ct_account_id`


class SubscriptionStatus(StrEnum):
    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"  # an invoice with its period is overdue; entries continue during the grace
    SUSPENDED = "SUSPENDED"  # grace over: no new entries ("subscription suspended"); exits still run
    CANCELED = "CANCELED"


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"  # the running month: lines gather, nothing is owed yet
    OPEN = "OPEN"  # issued: numbered, due on `due_at`
    PAID = "PAID"
    VOID = "VOID"
    UNCOLLECTIBLE = "UNCOLLECTIBLE"


class PaymentStatus(StrEnum):
    """An invoice payment: a usdSend prepared for the wallet, signed and submitted, confirmed by the venue."""

    PREPARED = "PREPARED"  # typed data handed to the browser; its nonce binds a signature to this invoice
    SUBMITTED = "SUBMITTED"  # signed, verified and handed to the venue; confirmation pending
    CONFIRMED = "CONFIRMED"  # seen in the payer's ledger (userNonFundingLedgerUpdates)
    REJECTED = "REJECTED"  # refused by the venue, or never seen in the ledger before it expired
    EXPIRED = "EXPIRED"  # prepared and never signed in time


class NotificationChannel(StrEnum):
    """Where an event reaches a user: the in-app inbox, their linked Telegram chat, email or a webhook."""

    IN_APP = "in_app"
    TELEGRAM = "telegram"
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    """One event to one channel target: PENDING → SENDING → DELIVERED, or FAILED (retried) → DEAD."""

    PENDING = "PENDING"
    SENDING = "SENDING"  # claimed by a consumer until `claimed_until`; a crashed claim lapses and is retried
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # the last attempt failed; `next_attempt_at` says when the next one runs
    DEAD = "DEAD"  # retries exhausted (or the target is gone): never sent again unless redelivered
    SKIPPED = "SKIPPED"  # the target disappeared before sending (chat unlinked, endpoint deleted)


class EmailFrequency(StrEnum):
    """One email per event, or one digest a day of the day's events."""

    EACH = "each"
    DAILY = "daily"
