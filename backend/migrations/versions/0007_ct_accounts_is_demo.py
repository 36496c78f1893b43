"""ct_accounts.is_demo: the accounts the demo seed created, the only ones the sample feed may post as

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts start as real ones: an account seeded before this flag carries a real person's
    # handle, and from now on the sample feed never posts as it.
    with op.batch_alter_table("ct_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_demo", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("ct_accounts", schema=None) as batch_op:
        batch_op.drop_column("is_demo")
