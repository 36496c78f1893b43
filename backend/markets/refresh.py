"""The token registry comes from the venues: every venue's listings written to venue_status and
token_registry, with what changed since the last refresh.

Runs on start (the worker's first task, the demo seed for the paper venue), every hour, and when an admin
presses "Refresh venues". A venue that cannot be reached keeps its rows as they were and costs at most the
adapter's own timeout; the others are written all the same. A market a venue delists stays, inactive: the
executor opens nothing new there, the monitor still closes what is open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend import audit
from backend.auth.identity import CurrentUser
from backend.models import TokenRegistry, VenueStatus
from backend.models.enums import ExecutionVenue
from backend.venues.base import Listing, VenueAdapter, VenueError

logger = logging.getLogger(__name__)

# The columns a refresh compares, as the report names them.
RULE_FIELDS = (
    "venue_market",
    "units",
    "size_decimals",
    "min_size",
    "tick_size",
    "min_notional_usd",
    "max_leverage",
)


class RuleChange(BaseModel):
    symbol: str
    changes: dict[str, tuple[str, str]] = Field(description="column -> (old, new)")


class VenueChanges(BaseModel):
    venue: str
    listed: int = 0
    active: int = 0
    added: list[str] = Field(default_factory=list)
    changed: list[RuleChange] = Field(default_factory=list)
    delisted: list[str] = Field(default_factory=list)
    relisted: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.delisted or self.relisted)


class RefreshReport(BaseModel):
    refreshed_at: datetime
    venues: list[VenueChanges]

    @property
    def has_changes(self) -> bool:
        return any(v.has_changes for v in self.venues)

    @property
    def errors(self) -> dict[str, str]:
        return {v.venue: v.error for v in self.venues if v.error}


def refresh_venues(
    session: Session,
    venues: Iterable[VenueAdapter],
    now: datetime,
    *,
    actor: CurrentUser | None = None,
    ip: str | None = None,
) -> RefreshReport:
    """Read every venue's listings, then write them in one transaction; commits. Audited when something
    changed or an admin asked (an unreachable venue alone, hour after hour offline, is a log line only).

    The venues are asked before the database is touched, so no transaction waits on a venue's timeout.
    Two refreshes racing (the hourly task and an admin's click) both insert a new market: the loser's
    transaction is rolled back and written once more over the winner's rows.
    """
    read = [(ExecutionVenue(adapter.venue), _read(adapter)) for adapter in venues]
    try:
        report = _store(session, read, now, actor, ip)
    except IntegrityError:
        session.rollback()
        report = _store(session, read, now, actor, ip)
    logger.info("venue refresh: %s", "; ".join(_summary(v) for v in report.venues))
    return report


def _read(adapter: VenueAdapter) -> list[Listing] | str:
    """The venue's listings, or why it could not give them."""
    try:
        return adapter.listings()
    except VenueError as error:
        logger.warning("venue refresh: %s unreachable: %s", adapter.venue, error.reason)
        return error.reason
    except Exception as error:  # a venue answering nonsense must not stop the others' refresh
        logger.exception("venue refresh: %s failed", adapter.venue)
        return f"unexpected {type(error).__name__} reading the venue's markets"


def _store(
    session: Session,
    read: list[tuple[ExecutionVenue, list[Listing] | str]],
    now: datetime,
    actor: CurrentUser | None,
    ip: str | None,
) -> RefreshReport:
    report = RefreshReport(refreshed_at=now, venues=[])
    for venue, listings in read:
        if isinstance(listings, str):
            report.venues.append(VenueChanges(venue=venue.value, error=listings))
        else:
            report.venues.append(_write(session, venue, listings, now))
    if report.has_changes or actor is not None:
        audit.record(
            session,
            action=audit.Action.VENUES_REFRESHED,
            entity_type="venues",
            actor=actor.address if actor else audit.SYSTEM_ACTOR,
            actor_user_id=actor.id if actor else None,
            details=report.model_dump(mode="json"),
            ip=ip,
        )
    session.commit()
    return report


def _summary(v: VenueChanges) -> str:
    if v.error:
        return f"{v.venue} unreachable ({v.error})"
    return (
        f"{v.venue} {v.listed} listed, {len(v.added)} added, {len(v.changed)} changed, "
        f"{len(v.delisted)} delisted, {len(v.relisted)} relisted"
    )


def _write(session: Session, venue: ExecutionVenue, listings: list[Listing], now: datetime) -> VenueChanges:
    out = VenueChanges(venue=venue.value, listed=len(listings))
    rows = {r.market: r for r in session.exec(select(VenueStatus).where(VenueStatus.venue == venue))}
    tokens = {t.symbol: t for t in session.exec(select(TokenRegistry).where(TokenRegistry.venue == venue))}
    for listing in listings:
        out.active += not listing.is_delisted
        _market(session, rows.pop(listing.symbol, None), venue, listing, now, out)
        _token(session, tokens.pop(listing.symbol, None), venue, listing, now)
    for symbol, row in rows.items():  # gone from the venue's list altogether: delisted too
        if row.is_active:
            out.delisted.append(symbol)
            row.is_active, row.updated_at = False, now
    for token in tokens.values():
        if token.is_active:
            token.is_active, token.updated_at = False, now
    return out


def _market(
    session: Session,
    row: VenueStatus | None,
    venue: ExecutionVenue,
    listing: Listing,
    now: datetime,
    out: VenueChanges,
) -> None:
    """Insert or update one market's row, noting in `out` what changed."""
    active, values, symbol = not listing.is_delisted, _values(listing), listing.symbol
    if row is None:
        session.add(VenueStatus(venue=venue, market=symbol, is_active=active, updated_at=now, **values))
        if active:
            out.added.append(symbol)
        return
    changes = {
        name: (_text(getattr(row, name)), _text(value))
        for name, value in values.items()
        if not _same(getattr(row, name), value)
    }
    if changes:
        out.changed.append(RuleChange(symbol=symbol, changes=changes))
    if row.is_active and not active:
        out.delisted.append(symbol)
    elif active and not row.is_active:
        out.relisted.append(symbol)
    if changes or row.is_active != active:
        for name, value in values.items():
            setattr(row, name, value)
        row.is_active, row.updated_at = active, now


def _values(listing: Listing) -> dict[str, object]:
    rules = listing.rules
    return {
        "venue_market": listing.venue_market,
        "units": listing.units,
        "size_decimals": rules.size_decimals,
        "min_size": rules.min_size,
        "tick_size": rules.tick_size,
        "min_notional_usd": rules.min_notional,
        "max_leverage": rules.max_leverage,
    }


def _token(
    session: Session, token: TokenRegistry | None, venue: ExecutionVenue, listing: Listing, now: datetime
) -> None:
    active = not listing.is_delisted
    # Where the token lives on chain (spot venues); None for perps, and never erased by a venue without it.
    onchain = {
        name: value
        for name, value in (
            ("chain", listing.chain),
            ("address", listing.address),
            ("decimals", listing.decimals),
        )
        if value is not None
    }
    if token is None:
        token = TokenRegistry(
            symbol=listing.symbol, name=listing.name, venue=venue, is_active=active, **onchain
        )
        token.updated_at = now
        session.add(token)
    elif (
        token.name != listing.name
        or token.is_active != active
        or any(getattr(token, name) != value for name, value in onchain.items())
    ):
        token.name, token.is_active, token.updated_at = listing.name, active, now
        for name, value in onchain.items():
            setattr(token, name, value)


def _same(old: object, new: object) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return old is not None and new is not None and Decimal(old) == Decimal(new)  # type: ignore[arg-type]
    return old == new


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)
