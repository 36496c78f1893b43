"""Venue listings: the venue's own market name and units; active tokens

venue_status gains `venue_market` (Hyperliquid's kPEPE for the app's PEPE) and `units` (tokens per venue
contract, 1000 for kPEPE); token_registry gains `is_active` (delisted tokens stay, inactive) and
`updated_at`. Existing rows are the app's own markets: their venue market is their symbol, one unit.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.models.common import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("venue_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("venue_market", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("units", sa.Integer(), nullable=False, server_default="1"))
    op.execute("UPDATE venue_status SET venue_market = market")
    with op.batch_alter_table("token_registry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True))
    # The server defaults stay: a process of the previous version, mid-deploy, still inserts rows.


def downgrade() -> None:
    with op.batch_alter_table("token_registry", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("is_active")
    with op.batch_alter_table("venue_status", schema=None) as batch_op:
        batch_op.drop_column("units")
        batch_op.drop_column("venue_market")
