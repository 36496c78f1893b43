"""Row factories for tests: realistic defaults, every field overridable."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select

from backend.models import (
    Agent,
    AgentAccount,
    AgentDeployment,
    CtAccount,
    CtPost,
    Position,
    SafeExecutor,
    Signal,
    SignalExecution,
    TokenRegistry,
    User,
)
from backend.models.common import utcnow
from backend.models.enums import (
    CloseReason,
    ExecutionStatus,
    ExecutionVenue,
    PositionStatus,
    PostSource,
    Side,
    SignalStatus,
    Venue,
)
from backend.prices.markets import MARKETS
from backend.venues.paper import open_paper_account
from backend.wallets.keys import WalletCipher

_seq = itertools.count(1)


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _save(self, row: Any) -> Any:
        self.session.add(row)
        self.session.commit()
        self.session.refresh(row)
        return row

    def user(self, **kw: Any) -> User:
        n = next(_seq)
        kw.setdefault("address", f"0x{n:040x}")
        kw.setdefault("display_name", f"trader{n}")
        return self._save(User(**kw))

    def ct_account(self, **kw: Any) -> CtAccount:
        n = next(_seq)
        kw.setdefault("handle", f"caller{n}")
        kw.setdefault("display_name", f"Caller {n}")
        return self._save(CtAccount(**kw))

    def tokens(self, *symbols: str) -> None:
        """Registry rows so classifiers know these symbols, named as the price feed names them."""
        known = set(
            self.session.exec(select(TokenRegistry.symbol).where(TokenRegistry.venue == ExecutionVenue.PAPER))
        )
        for symbol in set(symbols) - known:  # consumer tests share one database: add what is missing
            name = MARKETS[symbol].name if symbol in MARKETS else symbol
            self.session.add(TokenRegistry(symbol=symbol, name=name, venue=ExecutionVenue.PAPER))
        self.session.commit()

    def agent(self, creator: User | None = None, follows: list[CtAccount] = (), **kw: Any) -> Agent:
        n = next(_seq)
        kw.setdefault("name", f"Agent {n}")
        kw.setdefault("description", "Momentum on CT calls")
        kw.setdefault("venue", Venue.HYPERLIQUID)
        kw.setdefault("weight_tweet", 60)
        kw.setdefault("weight_rsi", 20)
        agent = self._save(Agent(creator_id=(creator or self.user()).id, **kw))
        for account in follows:
            self.session.add(AgentAccount(agent_id=agent.id, ct_account_id=account.id))
        self.session.commit()
        return agent

    def deployment(self, agent: Agent, user: User | None = None, **kw: Any) -> AgentDeployment:
        kw.setdefault("venue", ExecutionVenue.PAPER)
        kw.setdefault("capital_usd", Decimal("10000"))
        return self._save(AgentDeployment(agent_id=agent.id, user_id=(user or self.user()).id, **kw))

    def paper_deployment(
        self, agent: Agent, user: User | None = None, balance: Decimal = Decimal("10000"), **kw: Any
    ) -> AgentDeployment:
        """A deployment on the paper venue with its book, as the deployment service creates them."""
        deployment = self.deployment(agent, user, capital_usd=balance, **kw)
        open_paper_account(self.session, deployment.id, balance)
        self.session.commit()
        return deployment

    def safe_executor(
        self, deployment: AgentDeployment, key: LocalAccount, cipher: WalletCipher, **kw: Any
    ) -> SafeExecutor:
        """The deployment's Safe executor with `key` encrypted as safe_setup stores it (not enabled unless
        `enabled_at` is given); Safe, owner and module default to made-up addresses."""
        kw.setdefault("chain", "local")
        kw.setdefault("safe_address", "0x" + "5a" * 20)
        kw.setdefault("owner_address", "0x" + "0e" * 20)
        kw.setdefault("module_address", "0x" + "0d" * 20)
        return self._save(
            SafeExecutor(
                user_id=deployment.user_id,
                deployment_id=deployment.id,
                address=key.address,
                encrypted_private_key=cipher.encrypt(key.address, bytes(key.key)),
                **kw,
            )
        )

    def post(self, account: CtAccount, **kw: Any) -> CtPost:
        n = next(_seq)
        kw.setdefault("source", PostSource.DEMO)
        kw.setdefault("external_id", f"post-{n}")
        kw.setdefault("text", "$BTC breaking out, longing here")
        kw.setdefault("posted_at", utcnow())
        return self._save(CtPost(ct_account_id=account.id, **kw))

    def signal(self, agent: Agent, post: CtPost | None = None, **kw: Any) -> Signal:
        kw.setdefault("token", "BTC")
        kw.setdefault("side", Side.LONG)
        kw.setdefault("score", Decimal("0.7"))
        kw.setdefault("status", SignalStatus.EXECUTED)
        kw.setdefault(
            "bucket_start", utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=next(_seq))
        )
        return self._save(Signal(agent_id=agent.id, post_id=post.id if post else None, **kw))

    def execution(
        self,
        signal: Signal,
        deployment: AgentDeployment,
        status: ExecutionStatus = ExecutionStatus.SKIPPED,
        **kw: Any,
    ) -> SignalExecution:
        """A deployment's execution of a signal as the executor records it (by default one it skipped)."""
        now = utcnow()
        kw.setdefault("client_order_id", f"0x{signal.id:016x}{deployment.id:016x}")
        kw.setdefault("attempts", 1)
        kw.setdefault("created_at", now)
        kw.setdefault("updated_at", now)
        return self._save(
            SignalExecution(signal_id=signal.id, deployment_id=deployment.id, status=status, **kw)
        )

    def open_position(self, deployment: AgentDeployment, market: str = "ETH", **kw: Any) -> Position:
        """An open 1-unit long entered at 3000, fees not yet charged."""
        kw.setdefault("venue", deployment.venue)
        kw.setdefault("side", Side.LONG)
        kw.setdefault("size", Decimal(1))
        kw.setdefault("entry_price", Decimal(3000))
        kw.setdefault("status", PositionStatus.OPEN)
        kw.setdefault("entry_fee", Decimal(0))
        kw.setdefault("opened_at", utcnow())
        return self._save(Position(deployment_id=deployment.id, market=market, **kw))

    def closed_position(
        self, deployment: AgentDeployment, pnl: Decimal, days_ago: float = 1, **kw: Any
    ) -> Position:
        closed = utcnow() - timedelta(days=days_ago)
        kw.setdefault("venue", deployment.venue)
        kw.setdefault("market", "BTC")
        kw.setdefault("side", Side.LONG)
        kw.setdefault("size", Decimal("0.01"))
        kw.setdefault("entry_price", Decimal("60000"))
        kw.setdefault("exit_price", kw["entry_price"] + pnl / kw["size"])
        kw.setdefault("status", PositionStatus.CLOSED)
        kw.setdefault("close_reason", CloseReason.TAKE_PROFIT if pnl > 0 else CloseReason.STOP_LOSS)
        kw.setdefault("opened_at", closed - timedelta(hours=6))
        kw.setdefault("realized_pnl", pnl)
        kw.setdefault("closed_at", closed)
        return self._save(Position(deployment_id=deployment.id, **kw))
