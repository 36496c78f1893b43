"""All tables, imported here so `SQLModel.metadata` knows every one (Alembic reads it)."""

from sqlmodel import SQLModel

# Stable constraint names, so migrations written on SQLite and PostgreSQL name things alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from backend.models.agents import WEIGHT_NAMES, Agent, AgentAccount, AgentVersion, CtAccount  # noqa: E402
from backend.models.auth import AuthNonce, AuthSession, User  # noqa: E402
from backend.models.backtests import BacktestRun  # noqa: E402
from backend.models.billing import BillingEvent, Invoice, InvoicePayment, Payout, Subscription  # noqa: E402
from backend.models.notify import (  # noqa: E402
    DeliveryAttempt,
    EmailAddress,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    NotifyCursor,
    TelegramLink,
    TelegramLinkCode,
    WebhookEndpoint,
)
from backend.models.ops import (  # noqa: E402
    AuditLog,
    Lease,
    MarketTick,
    MonitorCycle,
    TokenRegistry,
    VenueRoutingHistory,
    VenueStatus,
)
from backend.models.orders import SafeExecutor, VenueOrder  # noqa: E402
from backend.models.prices import PriceCandle  # noqa: E402
from backend.models.signals import CtPost, ImpactFactorHistory, MarketIndicators6h, Signal  # noqa: E402
from backend.models.trading import (  # noqa: E402
    AgentDeployment,
    AgentWallet,
    PaperAccount,
    PaperFill,
    PaperPosition,
    PnlSnapshot,
    Position,
    SignalExecution,
)

metadata = SQLModel.metadata

__all__ = [
    "WEIGHT_NAMES",
    "Agent",
    "AgentAccount",
    "AgentDeployment",
    "AgentVersion",
    "AgentWallet",
    "AuditLog",
    "AuthNonce",
    "AuthSession",
    "BacktestRun",
    "BillingEvent",
    "CtAccount",
    "CtPost",
    "DeliveryAttempt",
    "EmailAddress",
    "ImpactFactorHistory",
    "Invoice",
    "InvoicePayment",
    "Lease",
    "MarketIndicators6h",
    "MarketTick",
    "MonitorCycle",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationPreference",
    "NotifyCursor",
    "PaperAccount",
    "PaperFill",
    "PaperPosition",
    "Payout",
    "PnlSnapshot",
    "Position",
    "PriceCandle",
    "SafeExecutor",
    "Signal",
    "SignalExecution",
    "Subscription",
    "TelegramLink",
    "TelegramLinkCode",
    "TokenRegistry",
    "User",
    "VenueOrder",
    "VenueRoutingHistory",
    "VenueStatus",
    "WebhookEndpoint",
    "metadata",
]
