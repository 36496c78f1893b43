"""Exit settings under Freqtrade's names on agents and deployments, as in code and the API

stop_loss_pct -> stoploss, take_profit_pct -> take_profit, trailing_activation_pct ->
trailing_stop_positive_offset, trailing_distance_pct -> trailing_stop_positive. Values keep their meaning
(fractions of the entry price).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 07:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMES = (
    ("stop_loss_pct", "stoploss"),
    ("take_profit_pct", "take_profit"),
    ("trailing_activation_pct", "trailing_stop_positive_offset"),
    ("trailing_distance_pct", "trailing_stop_positive"),
)
TABLES = ("agents", "agent_deployments")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for old, new in RENAMES:
                batch_op.alter_column(old, new_column_name=new)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for old, new in RENAMES:
                batch_op.alter_column(new, new_column_name=old)
