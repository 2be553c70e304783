"""Catalog sorts within a visibility: (visibility, sort key, id) indexes.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_asset_visible_popular": ["visibility", "subscription_count", "id"],
    "ix_asset_visible_newest": ["visibility", "created_at", "id"],
    "ix_asset_visible_name": ["visibility", "name", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "asset", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="asset")
