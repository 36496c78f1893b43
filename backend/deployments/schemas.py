"""What the deployment services accept and return. Validated on the way in; plain data on the way out."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from eth_utils import is_checksum_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from backend.models.bounds import MAX_BIGINT, DbId
from backend.models.enums import DeploymentStatus, ExecutionVenue, SizingProfile
from backend.trading.book import Breakdown
from backend.venues.capabilities import SignerKind, signers

# Venues a deployment can choose today; the others join with their adapters.
DEPLOYABLE_VENUES = (ExecutionVenue.PAPER, ExecutionVenue.HYPERLIQUID, ExecutionVenue.SPOT)
DEPLOYABLE_NAMES = ", ".join(v.value for v in DEPLOYABLE_VENUES)
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")


class PositionFigures(BaseModel):
    """A breakdown as the API and the pages carry it; `net_pnl` = gross - every fee."""

    gross_pnl: Decimal  # at the exit price once closed, at the mark while open (zero without one)
    venue_fees: Decimal  # the venue's, opening and closing
    platform_fee: Decimal  # Maxxit's trade fee
    profit_share: Decimal  # to the agent's creator, on a profitable close
    total_fees: Decimal
    net_pnl: Decimal

    @classmethod
    def of(cls, parts: Breakdown) -> PositionFigures:
        return cls(
            gross_pnl=parts.gross_pnl,
            venue_fees=parts.venue_fees,
            platform_fee=parts.platform_fee,
            profit_share=parts.profit_share,
            total_fees=parts.total_fees,
            net_pnl=parts.net_pnl,
        )


class RiskSettings(BaseModel):
    """Sizing and the deployment's overrides of the agent's exits; None means "the agent's"."""

    model_config = ConfigDict(extra="forbid")

    sizing_profile: SizingProfile | None = None
    max_trade_usd: Decimal | None = Field(default=None, ge=10, le=10_000_000, decimal_places=2)
    leverage_cap: Decimal | None = Field(default=None, ge=1, le=50, decimal_places=2)
    stoploss: Decimal | None = Field(default=None, gt=0, lt=1, decimal_places=4)
    take_profit: Decimal | None = Field(default=None, gt=0, le=10, decimal_places=4)
    trailing_stop_positive_offset: Decimal | None = Field(default=None, ge=0, lt=1, decimal_places=4)
    trailing_stop_positive: Decimal | None = Field(default=None, gt=0, lt=1, decimal_places=4)


class DeploymentRequest(BaseModel):
    """Deploy an agent.

    Paper: `starting_balance_usd` (default from settings). Hyperliquid: `user_wallet` is the trader's own
    account address; either `agent_wallet_id` names a wallet the trader already approved (the wizard), or
    a fresh agent wallet is created and the deployment waits in PENDING_APPROVAL for the approval signature
    (the REST flow). Spot: `safe_address` is the trader's own Safe on the spot chain (their signed-in wallet
    one of its owners); the deployment waits in PENDING_APPROVAL until the Safe enabled the Maxxit module
    for its executor (`/deployments/{id}/safe`). MULTI agents: `venue_preferences` orders the venues to
    route to; `venue` is the first.
    """

    model_config = ConfigDict(extra="forbid")

    agent_id: DbId
    venue: ExecutionVenue
    venue_preferences: list[ExecutionVenue] | None = Field(default=None, min_length=1, max_length=5)
    starting_balance_usd: Decimal | None = Field(default=None, ge=100, le=100_000_000, decimal_places=2)
    user_wallet: str | None = Field(default=None, pattern=ADDRESS_PATTERN, validate_default=True)
    agent_wallet_id: DbId | None = None
    safe_address: str | None = Field(default=None, validate_default=True)
    risk: RiskSettings = Field(default_factory=RiskSettings)

    @field_validator("venue")
    @classmethod
    def _deployable(cls, venue: ExecutionVenue) -> ExecutionVenue:
        if venue not in DEPLOYABLE_VENUES:
            raise ValueError(f"{venue} deployments are not available yet; choose {DEPLOYABLE_NAMES}")
        return venue

    @field_validator("venue_preferences")
    @classmethod
    def _preferences(
        cls, prefs: list[ExecutionVenue] | None, info: ValidationInfo
    ) -> list[ExecutionVenue] | None:
        if prefs is None:
            return prefs
        if len(set(prefs)) != len(prefs):
            raise ValueError("venue_preferences lists a venue twice")
        if any(v not in DEPLOYABLE_VENUES for v in prefs):
            raise ValueError(f"venue_preferences may only name {DEPLOYABLE_NAMES}")
        if "venue" in info.data and prefs[0] != info.data["venue"]:
            raise ValueError("venue must be the first of venue_preferences")
        return prefs

    @field_validator("user_wallet")
    @classmethod
    def _hyperliquid_account(cls, wallet: str | None, info: ValidationInfo) -> str | None:
        venues = set(info.data.get("venue_preferences") or [info.data.get("venue")])
        if SignerKind.AGENT_WALLET in signers(v for v in venues if v) and wallet is None:
            raise ValueError("your Hyperliquid account address is required to deploy to Hyperliquid")
        return wallet

    @field_validator("safe_address")
    @classmethod
    def _safe(cls, safe: str | None, info: ValidationInfo) -> str | None:
        venues = set(info.data.get("venue_preferences") or [info.data.get("venue")])
        if safe is None:
            if SignerKind.SAFE_EXECUTOR in signers(v for v in venues if v):
                raise ValueError("your Safe's address is required to deploy to spot")
            return None
        return checksum_address(safe)


def checksum_address(text: str) -> str:
    """A 0x address in its checksummed form; ValueError for anything else, or a mixed-case address whose
    capitals are not its checksum (a typo EIP-55 catches)."""
    value = text.strip()
    if not re.fullmatch(ADDRESS_PATTERN, value):
        raise ValueError("an address is 0x followed by 40 hex digits")
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
        raise ValueError("this address's capital letters are not its checksum: check it for a typo")
    return to_checksum_address(value)


class DeploymentView(BaseModel):
    id: int
    agent_id: int
    agent_name: str
    venue: ExecutionVenue
    venue_preferences: list[ExecutionVenue] | None
    status: DeploymentStatus
    user_wallet: str | None
    agent_wallet_address: str | None
    agent_wallet_approved: bool
    balance_usd: Decimal | None  # equity at the venue; None when the venue cannot be asked right now
    available_usd: Decimal | None
    open_positions: int
    realized_pnl: Decimal
    fees_paid: Decimal  # venue fees plus Maxxit's trade fees and profit share: figures.total_fees
    figures: PositionFigures  # its positions' breakdowns summed (open ones: the fees paid so far)
    # Equity: paper capital + net closes + open PnL at the last ticks; for a trader's own venue account, the
    # venue's balance (None when it cannot be asked). The return is time-weighted (deposits are not growth),
    # a fraction; None where the capital is not ours to know (a Hyperliquid account).
    equity_usd: Decimal | None = None
    return_pct: Decimal | None = None
    unrealized_pnl: Decimal | None = None  # its open positions' PnL at their market's last tick
    version: int | None = None  # the agent version this deployment accepted and trades
    latest_version: int = 1  # the agent's newest version
    new_version_available: bool = False  # the owner may accept the newest (POST .../accept-version)
    risk: RiskSettings
    created_at: datetime


class PositionView(BaseModel):
    id: int
    deployment_id: int
    agent_id: int
    agent_name: str
    venue: ExecutionVenue
    market: str
    side: str
    size: Decimal
    entry_price: Decimal
    leverage: Decimal
    status: str
    signal_id: int | None
    signal_score: Decimal | None
    post_excerpt: str | None
    entry_fee: Decimal  # what the venue charged
    trade_fee: Decimal  # Maxxit's infrastructure fee for this trade
    exit_price: Decimal | None
    realized_pnl: Decimal | None
    close_reason: str | None
    client_order_id: str | None
    opened_at: datetime
    closed_at: datetime | None
    # The venue refused the close and still holds the position (it stays CLOSING, retried with backoff).
    close_error: str | None = None
    close_attempts: int = 0
    next_close_attempt_at: datetime | None = None
    figures: PositionFigures  # gross, venue fees, Maxxit's fee, profit share, net: the same on every page
    exit_fee: Decimal = Decimal(0)  # what the venue charged to close (zero while open)
    # Open and closing positions: the market's last tick, the return on margin there (before fees), and the
    # lines it closes at; None once closed, or when not known (no tick yet, no take-profit set).
    mark_price: Decimal | None = None
    return_on_margin: Decimal | None = None
    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    liquidation_price: Decimal | None = None  # isolated margin, Hyperliquid's maintenance rule
    notional_usd: Decimal = Decimal(0)  # size x (mark, exit or entry price)
    margin_usd: Decimal = Decimal(0)  # size x entry / leverage
    tick_size: Decimal | None = None  # the market's price tick: prices are shown to it


class AgentWalletView(BaseModel):
    """An agent wallet as its owner may see it: the address, never the key."""

    id: int
    address: str
    master_address: str
    agent_name: str
    approved: bool
    deployment_id: int | None


class ApprovalSignature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")
    nonce: int = Field(ge=1, le=MAX_BIGINT, description="The nonce of the typed data that was signed.")
    chain_id: int = Field(
        default=42161, ge=1, le=MAX_BIGINT, description="The chain id the wallet signed on."
    )


class SafeTxView(BaseModel):
    """One Safe transaction to sign: what it does, the call (to propose in the Safe app when the Safe needs
    several signatures) and the EIP-712 SafeTx typed data for `eth_signTypedData_v4`."""

    purpose: str  # enable_module, set_executor, revoke_executor, disable_module
    description: str
    to: str
    value: int = 0
    data: str
    operation: int = 0  # CALL
    nonce: int
    safe_tx_hash: str
    typed_data: dict


class SafeSetupView(BaseModel):
    """A spot deployment's Safe as its owner may see it: addresses and balances, never the executor's key.

    `transactions` is what the owner signs now, in order (enabling while the deployment waits, revoking once
    it is cancelled), empty when nothing is left to sign. With a threshold above 1 the browser cannot sign
    alone: `needs_safe_app` says to propose them in the Safe app; the platform follows the chain.
    """

    deployment_id: int
    deployment_status: DeploymentStatus
    chain: str
    chain_id: int
    safe_address: str
    owner_address: str
    module_address: str
    executor_address: str
    executor_balance_eth: Decimal
    executor_has_gas: bool
    owners: list[str]
    threshold: int
    tokens: list[str]  # the module's whitelist, by symbol: what USDC can be swapped with
    module_enabled: bool
    executor_allowed: bool
    enabled: bool  # the chain showed the module enabled and this executor allowed
    disabled: bool  # the chain showed it revoked afterwards (by us or outside the platform)
    needs_safe_app: bool
    transactions: list[SafeTxView]
    message: str  # what the page says about the state, in a sentence


class SafeSignatures(BaseModel):
    """The owner's signatures of `transactions`, in order; `nonce` is the first one's Safe nonce."""

    model_config = ConfigDict(extra="forbid")

    nonce: int = Field(ge=0, le=MAX_BIGINT)
    signatures: list[str] = Field(min_length=1, max_length=2)

    @field_validator("signatures")
    @classmethod
    def _hex(cls, signatures: list[str]) -> list[str]:
        for signature in signatures:
            if not SIGNATURE.match(signature):
                raise ValueError("a signature is 0x followed by 130 hex digits")
        return signatures
