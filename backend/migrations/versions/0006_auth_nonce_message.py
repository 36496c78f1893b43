"""auth nonce message: the issued sign-in text, compared before any parsing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: nonces issued before this column existed have no text and are refused as unknown.
    with op.batch_alter_table("auth_nonces") as batch_op:
        batch_op.add_column(
            sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_nonces") as batch_op:
        batch_op.drop_column("message")
