"""Signals unique per agent version; one reference book per agent

Each version in use makes its own signals, so the signals' unique key gains the version:
(agent_id, agent_version_id, token, bucket_start). A partial unique index allows one reference book per
agent, so two workers opening an agent's book at once open one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_constraint("uq_signals_agent_token_bucket", type_="unique")
        batch_op.create_unique_constraint(
            "uq_signals_agent_version_token_bucket", ["agent_id", "agent_version_id", "token", "bucket_start"]
        )
    op.create_index(
        "uq_agent_deployments_reference",
        "agent_deployments",
        ["agent_id"],
        unique=True,
        sqlite_where=sa.text("is_reference"),
        postgresql_where=sa.text("is_reference"),
    )


def downgrade() -> None:
    op.drop_index("uq_agent_deployments_reference", table_name="agent_deployments")
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_constraint("uq_signals_agent_version_token_bucket", type_="unique")
        batch_op.create_unique_constraint(
            "uq_signals_agent_token_bucket", ["agent_id", "token", "bucket_start"]
        )
