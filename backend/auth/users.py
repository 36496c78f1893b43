"""Users and their roles. A wallet becomes a user on its first sign-in; admins grant and revoke admin."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from backend import audit
from backend.auth.errors import Forbidden, LastAdmin, UserNotFound
from backend.auth.identity import CurrentUser, normalize_address
from backend.models import User
from backend.models.enums import Role

logger = logging.getLogger(__name__)


class UserOut(BaseModel):
    id: int
    address: str
    role: Role
    display_name: str | None
    created_at: datetime
    last_login_at: datetime | None


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


def get_or_create_user(session: Session, address: str, *, ip: str | None = None) -> tuple[User, bool]:
    """The user for this address, created as a trader when new (not committed). Second item: created."""
    address = normalize_address(address)
    user = session.exec(select(User).where(col(User.address) == address)).first()
    if user is not None:
        return user, False
    user = User(address=address, role=Role.TRADER)
    session.add(user)
    session.flush()
    audit.record(
        session,
        action=audit.Action.USER_CREATED,
        entity_type="user",
        entity_id=user.id,
        actor=address,
        actor_user_id=user.id,
        ip=ip,
    )
    return user, True


def list_users(session: Session, *, q: str | None = None, limit: int = 50, offset: int = 0) -> UserPage:
    """Admins first, then newest; `q` matches part of the address."""
    limit = max(1, min(limit, 200))
    offset = max(0, offset)
    conditions = []
    if q and q.strip():
        conditions.append(col(User.address).contains(q.strip().lower(), autoescape=True))
    total = session.exec(select(func.count()).select_from(User).where(*conditions)).one()
    rows = session.exec(
        select(User)
        .where(*conditions)
        .order_by((col(User.role) == Role.ADMIN).desc(), col(User.created_at).desc(), col(User.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [UserOut.model_validate(row, from_attributes=True) for row in rows]
    return UserPage(items=items, total=total, limit=limit, offset=offset)


def set_role(
    session: Session, actor: CurrentUser, address: str, role: Role, *, ip: str | None = None
) -> UserOut:
    """Grant or revoke admin; only admins may, and never so that no admin is left. Commits.

    Two admins demoting each other at once must not both succeed, on either database. The change is one
    conditional UPDATE that re-checks, in the same statement, that the actor is still an admin and (for a
    demotion) that another admin remains. SQLite runs one writing statement at a time and takes its write
    lock before that statement reads, so the second UPDATE counts after the first one's commit. PostgreSQL
    would let two UPDATEs of different rows count the same snapshot, so the admin rows are locked first
    (in id order, so racing requests queue instead of deadlocking); SQLite ignores that lock.
    """
    if not actor.is_admin:
        raise Forbidden("only admins can change roles")
    address = normalize_address(address)
    session.exec(select(User.id).where(col(User.role) == Role.ADMIN).order_by(col(User.id)).with_for_update())
    user = session.exec(select(User).where(col(User.address) == address)).first()
    if user is None:
        raise UserNotFound(f"no user with address {address}")
    old = Role(user.role)
    if old == role:
        return UserOut.model_validate(user, from_attributes=True)
    if not _change_role(session, actor, user, old, role):
        session.rollback()
        return _refused(session, actor, user, role)
    audit.record(
        session,
        action=audit.Action.ROLE_CHANGED,
        entity_type="user",
        entity_id=user.id,
        actor=actor.address,
        actor_user_id=actor.id,
        details={"address": address, "from": old.value, "to": role.value},
        ip=ip,
    )
    session.commit()
    session.refresh(user)
    logger.info("role of %s changed from %s to %s by %s", address, old, role, actor.address)
    return UserOut.model_validate(user, from_attributes=True)


def _change_role(session: Session, actor: CurrentUser, user: User, old: Role, new: Role) -> bool:
    """The one conditional UPDATE (see `set_role`); False when its conditions no longer hold."""
    admins = sa.select(func.count()).select_from(User).where(col(User.role) == Role.ADMIN).scalar_subquery()
    actor_is_admin = sa.exists().where(col(User.id) == actor.id, col(User.role) == Role.ADMIN)
    conditions = [col(User.id) == user.id, col(User.role) == old, actor_is_admin]
    if old == Role.ADMIN:
        conditions.append(admins > 1)
    statement = sa.update(User).where(*conditions).values(role=new)
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return result.rowcount == 1


def _refused(session: Session, actor: CurrentUser, user: User, role: Role) -> UserOut:
    """Why the UPDATE changed nothing, read after the request that won: the actor lost admin, someone else
    already made the same change (fine, like repeating it), or it would have removed the last admin."""
    if session.exec(select(User.role).where(col(User.id) == actor.id)).first() != Role.ADMIN:
        raise Forbidden("only admins can change roles")
    session.refresh(user)
    if user.role == role:
        return UserOut.model_validate(user, from_attributes=True)
    raise LastAdmin("cannot remove the last admin")


def create_admin(session: Session, address: str) -> tuple[UserOut, bool]:
    """The operator's bootstrap (`maxxit create-admin`): make this wallet an admin. Second item: changed."""
    user, _ = get_or_create_user(session, address)
    changed = user.role != Role.ADMIN
    if changed:
        audit.record(
            session,
            action=audit.Action.ROLE_CHANGED,
            entity_type="user",
            entity_id=user.id,
            details={"address": user.address, "from": user.role, "to": Role.ADMIN.value, "via": "cli"},
        )
        user.role = Role.ADMIN
    session.commit()
    session.refresh(user)
    return UserOut.model_validate(user, from_attributes=True), changed
