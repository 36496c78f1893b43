"""The operators' "Rebuild metrics": every agent's figures and every CT account's impact from stored trades.

Admins only, audited: the audit row is written with the rebuilt figures, and names who asked and what came
of it. The API runs it in its request; the admin page runs it in a background event that reports progress.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from backend import audit
from backend.audit import Action
from backend.auth.errors import Forbidden
from backend.auth.identity import CurrentUser
from backend.metrics.service import Progress, rebuild

logger = logging.getLogger(__name__)

ENTITY = "metrics"


class RebuildResult(BaseModel):
    agents: int
    ct_accounts: int
    started_at: datetime
    finished_at: datetime


def rebuild_metrics(
    session: Session, actor: CurrentUser, *, ip: str | None = None, progress: Progress | None = None
) -> RebuildResult:
    """Recompute figures and impact factors, then audit who did it and what was rebuilt."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    report = rebuild(session, progress=progress)
    result = RebuildResult(
        agents=report.agents,
        ct_accounts=report.ct_accounts,
        started_at=report.started_at,
        finished_at=report.finished_at,
    )
    details = {"agents": report.agents, "ct_accounts": report.ct_accounts}
    audit.record_by(session, actor, Action.METRICS_REBUILT, ENTITY, None, details, ip)
    session.commit()
    logger.info("metrics rebuilt by user %s: %s", actor.id, details)
    return result
