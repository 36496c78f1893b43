"""Figures that add up: APR as fractions, Sortino and profit factor, snapshot cash flows, impact calls

Stored APR values were percent (24.5 = 24.5%): they become fractions (0.245) in columns of six decimals, as
every other figure is. `agents.sortino_30d` and `agents.profit_factor` join the figures (NULL until the next
rebuild fills them); `pnl_snapshots.net_flow_usd` keeps each day's cash flow so returns are time-weighted;
`ct_accounts.impact_calls` is the number of calls an impact factor rests on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APR_COLUMNS = ("apr_30d", "apr_90d", "apr_si")
PERCENT = sa.Numeric(12, 4)
RATIO = sa.Numeric(12, 6)
MONEY = sa.Numeric(20, 6)


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        for name in APR_COLUMNS:
            batch_op.alter_column(name, existing_type=PERCENT, type_=RATIO, existing_nullable=True)
        batch_op.add_column(sa.Column("sortino_30d", RATIO, nullable=True))
        batch_op.add_column(sa.Column("profit_factor", RATIO, nullable=True))
    op.execute(sa.text(_scaled("/ 100")))
    with op.batch_alter_table("pnl_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("net_flow_usd", MONEY, nullable=False, server_default="0"))
    with op.batch_alter_table("ct_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("impact_calls", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ct_accounts", schema=None) as batch_op:
        batch_op.drop_column("impact_calls")
    with op.batch_alter_table("pnl_snapshots", schema=None) as batch_op:
        batch_op.drop_column("net_flow_usd")
    op.execute(sa.text(_scaled("* 100")))
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("profit_factor")
        batch_op.drop_column("sortino_30d")
        for name in APR_COLUMNS:
            batch_op.alter_column(name, existing_type=RATIO, type_=PERCENT, existing_nullable=True)


def _scaled(operation: str) -> str:
    return "UPDATE agents SET " + ", ".join(f"{c} = {c} {operation}" for c in APR_COLUMNS)
