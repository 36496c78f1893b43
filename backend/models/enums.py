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
    PENDING = "PENDING"
    CHARGED = "CHARGED"
    FAILED = "FAILED"
    WAIVED = "WAIVED"
