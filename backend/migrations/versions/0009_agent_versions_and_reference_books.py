"""Agent versions, leverage on the agent, reference books

Every existing agent gets version 1 holding its current strategy; its deployments and signals are pinned to
it, so nothing that traded before changes meaning. `agent_deployments.is_reference` marks the platform's
reference books (created by the application, not here).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:30:00.000000
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WEIGHTS = ("tweet", "rsi", "macd", "bollinger", "volume", "moving_average", "momentum", "volatility")
EXITS = ("stoploss", "take_profit", "trailing_stop_positive", "trailing_stop_positive_offset")


def upgrade() -> None:
    op.create_table(
        "agent_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name="fk_agent_versions_agent_id_agents"),
        sa.PrimaryKeyConstraint("id", name="pk_agent_versions"),
        sa.UniqueConstraint("agent_id", "number", name="uq_agent_versions_agent_number"),
    )
    op.create_index("ix_agent_versions_agent_id", "agent_versions", ["agent_id"])
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leverage", sa.Numeric(12, 6), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("agent_deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_version_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("is_reference", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_agent_deployments_agent_version_id", ["agent_version_id"])
        batch_op.create_foreign_key(
            "fk_agent_deployments_agent_version_id_agent_versions",
            "agent_versions",
            ["agent_version_id"],
            ["id"],
        )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_version_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_signals_agent_version_id", ["agent_version_id"])
        batch_op.create_foreign_key(
            "fk_signals_agent_version_id_agent_versions", "agent_versions", ["agent_version_id"], ["id"]
        )
    _first_versions()


def _first_versions() -> None:
    """Version 1 of every agent from its current settings; its deployments and signals point at it."""
    bind = op.get_bind()
    columns = ", ".join(
        ["id", "venue", "signal_threshold", "sizing_profile", "leverage"]
        + [f"weight_{w}" for w in WEIGHTS]
        + list(EXITS)
    )
    agents = bind.execute(sa.text(f"SELECT {columns} FROM agents ORDER BY id")).mappings().all()
    versions = sa.table(
        "agent_versions",
        sa.column("agent_id", sa.Integer),
        sa.column("number", sa.Integer),
        sa.column("strategy", sa.JSON),
        sa.column("note", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    for agent in agents:
        accounts = bind.execute(
            sa.text("SELECT ct_account_id FROM agent_accounts WHERE agent_id = :a ORDER BY ct_account_id"),
            {"a": agent["id"]},
        ).scalars()
        strategy = {
            "venue": agent["venue"],
            "weights": {w: int(agent[f"weight_{w}"]) for w in WEIGHTS},
            "signal_threshold": _text(agent["signal_threshold"]),
            "ct_account_ids": list(accounts),
            **{name: _text(agent[name]) for name in EXITS},
            "sizing_profile": agent["sizing_profile"],
            "leverage": _text(agent["leverage"]),
        }
        bind.execute(
            versions.insert().values(
                agent_id=agent["id"],
                number=1,
                strategy=json.loads(json.dumps(strategy)),
                note="first version",
                created_at=now,
            )
        )
    for table in ("agent_deployments", "signals"):
        bind.execute(
            sa.text(
                f"UPDATE {table} SET agent_version_id = (SELECT v.id FROM agent_versions v "
                f"WHERE v.agent_id = {table}.agent_id AND v.number = 1)"
            )
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def downgrade() -> None:
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_constraint("fk_signals_agent_version_id_agent_versions", type_="foreignkey")
        batch_op.drop_index("ix_signals_agent_version_id")
        batch_op.drop_column("agent_version_id")
    with op.batch_alter_table("agent_deployments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_agent_deployments_agent_version_id_agent_versions", type_="foreignkey")
        batch_op.drop_index("ix_agent_deployments_agent_version_id")
        batch_op.drop_column("is_reference")
        batch_op.drop_column("agent_version_id")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("leverage")
    op.drop_index("ix_agent_versions_agent_id", table_name="agent_versions")
    op.drop_table("agent_versions")
