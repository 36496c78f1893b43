"""The tokens a post may name: every symbol the token registry has active, whatever the venue."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.models import TokenRegistry
from backend.signals.types import KnownTokens


def known_tokens(session: Session) -> KnownTokens:
    """Upper-case symbol -> name; a token outside the registry (or delisted everywhere) is never a signal."""
    tokens: dict[str, str] = {}
    query = select(TokenRegistry.symbol, TokenRegistry.name).where(TokenRegistry.is_active)
    for symbol, name in session.exec(query.order_by(TokenRegistry.symbol)):
        tokens.setdefault(symbol.upper(), name or symbol.upper())
    return tokens
