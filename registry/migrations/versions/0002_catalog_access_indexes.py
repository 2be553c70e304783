"""Catalog access: whitelist rows carry their asset; covering indexes for the access filter.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("version_whitelist") as batch:
        batch.add_column(sa.Column("asset_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE version_whitelist SET asset_id = "
        "(SELECT asset_version.asset_id FROM asset_version "
        "WHERE asset_version.id = version_whitelist.version_id)"
    )
    with op.batch_alter_table("version_whitelist") as batch:
        batch.alter_column("asset_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_version_whitelist_asset_id", "asset", ["asset_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index(
            "ix_whitelist_principal_asset", ["principal_kind", "principal_id", "asset_id"]
        )
    with op.batch_alter_table("asset") as batch:
        batch.create_index("ix_asset_access", ["visibility", "owner_id"])


def downgrade() -> None:
    with op.batch_alter_table("asset") as batch:
        batch.drop_index("ix_asset_access")
    with op.batch_alter_table("version_whitelist") as batch:
        batch.drop_index("ix_whitelist_principal_asset")
        batch.drop_constraint("fk_version_whitelist_asset_id", type_="foreignkey")
        batch.drop_column("asset_id")
