"""The tokens a post may name: every symbol in the token registry, whatever the venue."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.models import TokenRegistry
from backend.signals.types import KnownTokens


def known_tokens(session: Session) -> KnownTokens:
    """Upper-case symbol -> name; a token outside the registry is never a signal."""
    tokens: dict[str, str] = {}
    for symbol, name in session.exec(select(TokenRegistry.symbol, TokenRegistry.name)):
        tokens.setdefault(symbol.upper(), name or symbol.upper())
    return tokens
