"""Every setting Maxxit reads, with a default that serves the embedded mode (`make run`, no setup)."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
HYPERLIQUID_NETWORKS = {
    "mainnet": "https://api.hyperliquid.xyz",
    "testnet": "https://api.hyperliquid-testnet.xyz",
}

# What ENV=prod changes when the setting is not given: the demo's sources of made-up data are off.
LIVE_DEFAULTS: dict[str, object] = {
    "seed_demo_data": False,
    "sample_feed_enabled": False,
    "price_feed": "hyperliquid",
    "hyperliquid_sandbox": False,
}


class Settings(BaseSettings):
    """Read from the environment (and `.env`); names are the upper-case field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    env: Literal["dev", "test", "prod"] = Field(
        default="dev", description="dev | test | prod; prod switches the demo off (see `_live_defaults`)."
    )
    database_url: str = Field(default=f"sqlite:///{DATA_DIR / 'maxxit.db'}")
    redis_url: str | None = Field(default=None, description="When set, Huey and Reflex state use Redis.")
    huey_sqlite_path: Path = Field(default=DATA_DIR / "huey.db")
    huey_name: str = "maxxit"
    huey_immediate: bool = Field(default=False, description="Run tasks inline (tests of task wrappers).")

    app_host: str = "127.0.0.1"
    frontend_port: int = 3000
    backend_port: int = 8000
    public_url: str = Field(
        default="", description="URL users open; defaults to http://APP_HOST:FRONTEND_PORT."
    )

    maxxit_secret_key: SecretStr | None = Field(
        default=None,
        description="Signs session tokens, encrypts stored keys. Required in prod; dev keeps one in data/.",
    )
    siwe_domain: str = Field(default="", description="Domain sign-in messages name; default PUBLIC_URL's.")
    siwe_chain_id: int = Field(default=42161, ge=1, description="Chain id sign-in messages are bound to.")
    auth_nonce_ttl_minutes: int = Field(default=10, ge=1, le=60)
    session_ttl_hours: int = Field(default=168, ge=1, le=24 * 90)
    auth_rate_limit_per_ip: int = Field(default=30, ge=1, description="Auth requests per IP per window.")
    auth_rate_limit_per_address: int = Field(
        default=10, ge=1, description="Failed sign-in verifications per (IP, wallet) per window."
    )
    auth_rate_limit_window_seconds: int = Field(default=60, ge=1)

    # Abuse limits on the HTTP surface (see README "Limits").
    max_request_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Larger request bodies answer 413 before being read whole."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For names the client.",
    )
    max_active_deployments_per_user: int = Field(default=25, ge=1, description="Running or paused ones.")
    max_active_deployments_per_agent: int = Field(default=500, ge=1, description="Across every trader.")
    deployment_creations_per_minute: int = Field(default=10, ge=1, description="Per user, new deployments.")
    backtests_per_minute: int = Field(
        default=30, ge=1, description="Per user, backtests asked over the API and pages."
    )
    sweeps_per_hour: int = Field(default=10, ge=1, description="Per user, parameter sweeps started.")
    backtest_runs_kept: int = Field(
        default=200, ge=1, description="Per user, stored single backtests kept; older ones are deleted."
    )
    sweep_max_cells: int = Field(
        default=121, ge=1, le=10_000, description="Configurations in one sweep at most."
    )
    reclassify_max_posts: int = Field(
        default=2000,
        ge=0,
        description="Posts one backtest or sweep with reclassify may have read afresh by the classifier.",
    )
    backtest_sweeps: str = Field(
        default="tasks.backtests:sweep_queue",
        pattern=r"^$|^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:attribute of how new sweeps reach workers; empty: workers pick them up later.",
    )

    seed_demo_data: bool = Field(default=True, description="`maxxit up` loads demo data when true.")
    price_feed_seed: int = Field(default=7, description="Seed of the simulated price feed.")
    metrics_refresh_minutes: int = Field(default=5, ge=1, le=1440)

    # Signal pipeline: classifier, post sources, and the sweep that finishes work a crash left behind.
    openai_api_key: SecretStr | None = Field(
        default=None, description="When set, posts are classified by the LLM (rules are the fallback)."
    )
    openai_base_url: str | None = Field(default=None, description="Any OpenAI-compatible server.")
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    openai_max_retries: int = Field(default=2, ge=0, le=10)
    x_api_bearer_token: SecretStr | None = Field(
        default=None, description="X API v2 app bearer token; when set, followed accounts are polled."
    )
    x_api_base_url: str = "https://api.x.com"
    x_api_poll_minutes: int = Field(default=1, ge=1, le=60)
    pipeline_events: str = Field(
        default="tasks.signals:pipeline_events",
        pattern=r"^$|^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:attribute of how stored posts reach the workers; empty: the sweep picks them up.",
    )
    sample_feed_enabled: bool = Field(
        default=True, description="Replay the bundled sample CT feed (the demo's steady trickle)."
    )
    sample_feed_path: Path = Field(
        default=PROJECT_ROOT / "backend" / "signals" / "data" / "sample_posts.jsonl"
    )
    sample_feed_interval_seconds: int = Field(default=20, ge=1, le=3600)
    signal_max_post_age_minutes: int = Field(
        default=120, ge=1, description="Older posts are classified but never traded: the call is stale."
    )
    signal_sweep_grace_seconds: int = Field(
        default=30, ge=1, description="Posts left unfinished this long are picked up by the sweep."
    )

    # Venues and execution.
    price_feed: str = Field(
        default="simulated", pattern="^(simulated|hyperliquid)$", description="simulated | hyperliquid"
    )
    hyperliquid_api: str = Field(
        default="testnet", description="mainnet, testnet, or the base URL of any Hyperliquid-compatible API."
    )
    hyperliquid_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    venue_refresh_on_start: bool = Field(
        default=True, description="A starting worker queues one refresh of every venue's markets."
    )
    paper_slippage_bps: Decimal = Field(default=Decimal("5"), ge=0, le=500, description="Paper fills pay it.")
    paper_taker_fee_bps: Decimal = Field(default=Decimal("4.5"), ge=0, le=100)
    paper_default_balance_usd: Decimal = Field(default=Decimal("10000"), gt=0)
    execution_max_attempts: int = Field(default=6, ge=1, le=20, description="Per deployment and signal.")
    execution_chunk_size: int = Field(
        default=250, ge=1, le=1000, description="(Signal, deployment) pairs per execution task in a fan-out."
    )
    execution_concurrency: int = Field(
        default=8, ge=1, le=64, description="Live venue orders of one chunk in flight at once."
    )
    reference_capital_usd: Decimal = Field(
        default=Decimal("10000"), gt=0, le=Decimal("1000000000"), description="Every agent's reference book."
    )

    # Price history for backtests (a live feed's candles kept in price_candles).
    candle_record_minutes: int = Field(
        default=5, ge=1, le=60, description="How often a worker stores the live feed's newly closed candles."
    )
    candle_fetch_weight_per_minute: int = Field(
        default=240,
        ge=21,
        le=1200,
        description="Hyperliquid request weight the recorder, and each process's backtests, use a minute.",
    )

    # Spot: a Safe on Arbitrum swapping through the Maxxit module (README "Deploying to spot with a Safe").
    arbitrum_rpc_url: str = Field(
        default="", description="JSON-RPC endpoint of the spot chain; empty: no spot venue."
    )
    spot_chain: Literal["arbitrum", "arbitrum-sepolia", "local"] = Field(
        default="arbitrum", description="Which row of backend/spot/chains.py (local: SPOT_LOCAL_CHAIN_FILE)."
    )
    spot_module_address: str = Field(
        default="",
        pattern="^$|^0x[0-9a-fA-F]{40}$",
        description="The deployed MaxxitSpotModule; empty: the chain table's (none until deployed).",
    )
    spot_slippage_bps: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="A swap reverts when it would get this much less than our price says (50 = 0.5%).",
    )
    spot_local_chain_file: Path | None = Field(
        default=None, description="JSON the local chain deployer writes (SPOT_CHAIN=local)."
    )
    spot_receipt_timeout_seconds: float = Field(
        default=120, gt=0, le=900, description="How long an order waits for its transaction's receipt."
    )

    # Position monitor and reconciliation.
    monitor_interval_seconds: float = Field(default=5.0, ge=0.5, le=300, description="Exit checks period.")
    monitor_time_limit_hours: float = Field(default=72, ge=0, description="Close positions older; 0 = never.")
    reconcile_interval_seconds: int = Field(default=60, ge=5, le=3600)
    reconcile_weight_per_minute: int = Field(
        default=240, ge=10, le=1200, description="Hyperliquid request weight reconciliation may spend."
    )

    # The Hyperliquid sandbox: a local Hyperliquid-compatible server with no real funds (the demo's venue).
    hyperliquid_sandbox: bool = Field(
        default=True,
        description="`maxxit up` starts the sandbox as the Hyperliquid venue unless HYPERLIQUID_API is set; "
        "false in prod, where it does not exist.",
    )
    sandbox_port: int = Field(
        default=8790, ge=1024, le=65535, description="Where `maxxit up` serves the sandbox."
    )
    sandbox_state_path: Path = Field(
        default=DATA_DIR / "hyperliquid-sandbox.pickle",
        description="Where the sandbox keeps its accounts and approvals across restarts.",
    )
    sandbox_faucet_usd: Decimal = Field(
        default=Decimal("10000"),
        gt=0,
        le=Decimal("1000000"),
        description="Sandbox USDC one faucet press credits.",
    )
    hyperliquid_sandbox_url: str | None = Field(
        default=None,
        description="Set by `maxxit up` for the processes it starts: the running sandbox (pages label the "
        "venue and offer the faucet). Not for operators to set.",
    )

    # Billing (live deployments only; paper is free). Amounts in USDC, shares as fractions.
    trade_fee_usd: Decimal = Field(default=Decimal("0.20"), ge=0, le=100, description="Per executed trade.")
    creator_share_pct: Decimal = Field(
        default=Decimal("0.10"), ge=0, le=Decimal("0.5"), description="Of a profitable close, to the creator."
    )
    sources_share_pct: Decimal = Field(
        default=Decimal("0.10"),
        ge=0,
        le=Decimal("0.4"),
        description="Of a profitable close, to the CT accounts whose posts made the signal.",
    )
    subscription_usd: Decimal = Field(
        default=Decimal("20"), ge=0, le=10000, description="Per deployment a month."
    )
    trial_days: int = Field(
        default=30, ge=0, le=365, description="Free days from a live deployment's activation."
    )
    grace_days: int = Field(
        default=7, ge=0, le=90, description="Past due this long, a subscription is suspended."
    )
    invoice_due_days: int = Field(default=14, ge=1, le=90, description="An issued invoice is due after this.")
    platform_address: str | None = Field(
        default=None,
        pattern="^0x[0-9a-fA-F]{40}$",
        description="The platform's Hyperliquid address: invoices are paid to it and it is the builder.",
    )
    builder_fee_tenths_bps: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Hyperliquid builder fee per order in tenths of a basis point (10 = 0.01%); unset: off.",
    )

    # Notifications: the outbox's consumer and its channels. A channel without its settings is off.
    notify_events: str = Field(
        default="tasks.notify:notify_events",
        pattern=r"^$|^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:attribute told when events commit (wakes the consumer); empty: the periodic "
        "sweep delivers them.",
    )
    notify_claim_seconds: int = Field(
        default=60, ge=5, le=3600, description="A consumer's claim on a delivery lapses after this."
    )
    notify_retention_days: int = Field(
        default=90, ge=1, le=3650, description="Sent notifications (and the inbox) are kept this long."
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None, description="The bot's token from @BotFather; unset: Telegram is off."
    )
    telegram_bot_username: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$",
        description="The bot's @name for t.me links; unset: asked from Telegram (getMe).",
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org", description="The Bot API server (a local one in tests)."
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        description="When set, Telegram posts updates to /api/v1/telegram/updates with this secret token; "
        "unset: a worker polls getUpdates.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for email; unset: email is off.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="Maxxit <alerts@maxxit.local>", max_length=254)
    smtp_starttls: bool = Field(default=True, description="STARTTLS after connecting (port 587).")
    smtp_ssl: bool = Field(default=False, description="TLS from the first byte (port 465).")
    email_digest_hour_utc: int = Field(
        default=8, ge=0, le=23, description="When daily digests go out (UTC hour)."
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=60, description="A webhook receiver has this long to answer."
    )
    webhook_disable_after_failures: int = Field(
        default=15, ge=1, le=1000, description="Consecutive failed attempts after which an endpoint is off."
    )
    webhook_secret_rotation_grace_hours: float = Field(
        default=24,
        ge=0,
        le=24 * 7,
        description="After a rotation the previous secret signs too for this long, so receivers can switch.",
    )
    webhook_manual_sends_per_hour: int = Field(
        default=30,
        ge=1,
        le=10_000,
        description="Per user, test sends and redeliveries together (so endpoints cannot flood a URL).",
    )

    @model_validator(mode="after")
    def _live_defaults(self) -> Self:
        """In prod, what was not set explicitly takes the live value: no demo data, real prices.

        An explicit demo value stays as given so that `maxxit up` / `maxxit worker` can refuse it by name
        (`backend.modes.live_mode_problems`) instead of silently overriding what the operator wrote.
        """
        if self.env == "prod":
            for name, live in LIVE_DEFAULTS.items():
                if name not in self.model_fields_set:
                    # Straight into __dict__: setattr would count the field as explicitly set.
                    self.__dict__[name] = live
        return self

    @property
    def demo_active(self) -> bool:
        """Demo data or made-up posts or prices are on: pages say so."""
        return self.seed_demo_data or self.sample_feed_enabled or self.price_feed == "simulated"

    @field_validator("hyperliquid_api")
    @classmethod
    def _hyperliquid_api(cls, value: str) -> str:
        if value in HYPERLIQUID_NETWORKS or value.startswith(("http://", "https://")):
            return value.rstrip("/")
        raise ValueError("HYPERLIQUID_API must be mainnet, testnet or an http(s) URL")

    @field_validator("arbitrum_rpc_url")
    @classmethod
    def _arbitrum_rpc_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("ARBITRUM_RPC_URL must be an http(s) URL (or empty: no spot venue)")
        return value

    @model_validator(mode="after")
    def _spot_local_chain(self) -> Self:
        if self.arbitrum_rpc_url and self.spot_chain == "local" and self.spot_local_chain_file is None:
            raise ValueError("SPOT_CHAIN=local needs SPOT_LOCAL_CHAIN_FILE (the local chain deployer's JSON)")
        return self

    @property
    def hyperliquid_base_url(self) -> str:
        return HYPERLIQUID_NETWORKS.get(self.hyperliquid_api, self.hyperliquid_api)

    @field_validator("database_url")
    @classmethod
    def _psycopg3_driver(cls, url: str) -> str:
        # SQLAlchemy's bare postgresql:// means psycopg2; this project ships psycopg 3.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError as e:
                    raise ValueError(f"TRUSTED_PROXIES: {part.strip()!r} is not an IP address or CIDR") from e
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def frontend_url(self) -> str:
        return (self.public_url or f"http://{self.app_host}:{self.frontend_port}").rstrip("/")

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """Origins our own pages are served from: CORS, Socket.IO and the cookie-request origin check.

        PUBLIC_URL's origin always; outside prod also the dev frontend's (under both loopback names), which
        is where `reflex run` serves pages while PUBLIC_URL may already name the public host.
        """
        origins = [_origin(self.frontend_url)]
        if self.env != "prod":
            hosts = {self.app_host}
            if self.app_host in _LOOPBACK_NAMES:
                hosts |= _LOOPBACK_NAMES
            origins += [f"http://{host}:{self.frontend_port}" for host in sorted(hosts)]
        return tuple(dict.fromkeys(origins))

    @property
    def sign_in_domain(self) -> str:
        """The `host[:port]` a SIWE message must name: what the user's browser shows in the address bar."""
        return self.siwe_domain or urlsplit(self.frontend_url).netloc

    @property
    def cookie_secure(self) -> bool:
        return self.frontend_url.startswith("https://")


_LOOPBACK_NAMES = {"127.0.0.1", "localhost"}


def _origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, as browsers send it in the Origin header."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
