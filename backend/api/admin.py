"""Operator endpoints: users and their roles, the audit log, rebuilding metrics, refreshing the venues'
markets. Admins only."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from backend import audit
from backend.api.auth import UNAUTHORIZED
from backend.api.deps import AdminDep, ClientIpDep, SessionDep, VenuesDep
from backend.api.errors import INVALID, ErrorBody
from backend.api.routing import AuthenticateFirstRoute
from backend.auth import users
from backend.markets.refresh import RefreshReport, refresh_venues
from backend.metrics.rebuild import RebuildResult, rebuild_metrics
from backend.models.common import utcnow
from backend.models.enums import Role

logger = logging.getLogger(__name__)

FORBIDDEN = {403: {"model": ErrorBody, "description": "Not an admin"}}
router = APIRouter(
    route_class=AuthenticateFirstRoute,
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={**INVALID, **UNAUTHORIZED, **FORBIDDEN},
)


class RoleChange(BaseModel):
    role: Role


@router.get("/users", summary="List users")
def list_users(
    _admin: AdminDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=42, description="Part of an address")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> users.UserPage:
    """Admins first, then newest."""
    return users.list_users(session, q=q, limit=limit, offset=offset)


@router.put(
    "/users/{address}/role",
    summary="Grant or revoke admin",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody, "description": "Last admin"}},
)
def set_role(
    address: Annotated[str, Path(max_length=64)],
    body: RoleChange,
    admin: AdminDep,
    session: SessionDep,
    ip: ClientIpDep,
) -> users.UserOut:
    """Audited; refuses to remove the last admin."""
    return users.set_role(session, admin, address, body.role, ip=ip)


@router.get("/audit", summary="Audit log")
def audit_log(
    _admin: AdminDep, session: SessionDep, query: Annotated[audit.AuditQuery, Query()]
) -> audit.AuditPage:
    """Sign-ins, failed sign-ins, role changes and agent changes, newest first."""
    return audit.list_entries(session, query)


@router.post("/rebuild-metrics", summary="Rebuild figures and impact factors")
def rebuild_metrics_now(admin: AdminDep, session: SessionDep, ip: ClientIpDep) -> RebuildResult:
    """Every agent's figures (from its reference book) and every CT account's impact factor, recomputed
    from stored trades in this request; audited. The answer says how many of each were rebuilt."""
    return rebuild_metrics(session, admin, ip=ip)


@router.post("/refresh-venues", summary="Refresh the venues' markets")
def refresh_venues_now(
    admin: AdminDep, session: SessionDep, venues: VenuesDep, ip: ClientIpDep
) -> RefreshReport:
    """Read every venue's listings now and write venue_status and the token registry; audited. The answer
    says, per venue, what was added, which rules changed (old -> new), what was delisted or relisted, and
    the error of a venue that could not be reached (its markets are left as they were)."""
    adapters = [venues.get(name) for name in venues.names]
    return refresh_venues(session, adapters, utcnow(), actor=admin, ip=ip)
