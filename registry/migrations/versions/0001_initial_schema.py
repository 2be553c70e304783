"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:40:12.199719
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gallery_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gallery_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gallery_group_name"), ["name"], unique=True)

    op.create_table(
        "gallery_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gallery_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gallery_user_username"), ["username"], unique=True)

    op.create_table(
        "access_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["gallery_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("terms", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tags_text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("visibility", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subscription_count", sa.Integer(), nullable=False),
        sa.Column("latest_version", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["gallery_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "kind", "name", name="uq_asset_owner_kind_name"),
    )
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_content_id"), ["content_id"], unique=True)
        batch_op.create_index("ix_asset_kind", ["kind", "id"], unique=False)
        batch_op.create_index("ix_asset_name", ["name", "id"], unique=False)
        batch_op.create_index("ix_asset_newest", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_asset_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_asset_popular", ["subscription_count", "id"], unique=False)
        batch_op.create_index("ix_asset_visibility", ["visibility", "id"], unique=False)

    op.create_table(
        "group_member",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["gallery_group.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["gallery_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "user_id"),
    )
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_member_user_id"), ["user_id"], unique=False)

    op.create_table(
        "asset_tag",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("asset_id", "tag"),
    )
    with op.batch_alter_table("asset_tag", schema=None) as batch_op:
        batch_op.create_index("ix_asset_tag_tag", ["tag", "asset_id"], unique=False)

    op.create_table(
        "asset_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("prerelease", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("package_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("package_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("package_size", sa.Integer(), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["gallery_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("asset_id", "version", name="uq_version_asset_version"),
    )
    with op.batch_alter_table("asset_version", schema=None) as batch_op:
        batch_op.create_index(
            "ix_version_order", ["asset_id", "major", "minor", "patch"], unique=False
        )

    op.create_table(
        "subscription",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("terms_accepted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["asset.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["gallery_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "asset_id"),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscription_asset_id"), ["asset_id"], unique=False)

    op.create_table(
        "version_dependency",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["asset_version.id"],
        ),
        sa.ForeignKeyConstraint(["version_id"], ["asset_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "depends_on_id"),
    )
    with op.batch_alter_table("version_dependency", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_dependency_depends_on_id"), ["depends_on_id"], unique=False
        )

    op.create_table(
        "version_whitelist",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("principal_kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["asset_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "principal_kind", "principal_id"),
    )
    with op.batch_alter_table("version_whitelist", schema=None) as batch_op:
        batch_op.create_index(
            "ix_whitelist_principal", ["principal_kind", "principal_id"], unique=False
        )

    _create_search_index()


def _create_search_index() -> None:
    """Full-text search over name, title, description and tags: FTS5 or a tsvector + GIN."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE asset_fts USING fts5("
            "name, title, description, tags_text, content='asset', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        columns = "name, title, description, tags_text"
        op.execute(
            f"CREATE TRIGGER asset_fts_ai AFTER INSERT ON asset BEGIN "
            f"INSERT INTO asset_fts(rowid, {columns}) "
            f"VALUES (new.id, new.name, new.title, new.description, new.tags_text); END"
        )
        op.execute(
            f"CREATE TRIGGER asset_fts_ad AFTER DELETE ON asset BEGIN "
            f"INSERT INTO asset_fts(asset_fts, rowid, {columns}) "
            f"VALUES ('delete', old.id, old.name, old.title, old.description, old.tags_text); END"
        )
        op.execute(
            f"CREATE TRIGGER asset_fts_au AFTER UPDATE OF {columns} ON asset BEGIN "
            f"INSERT INTO asset_fts(asset_fts, rowid, {columns}) "
            f"VALUES ('delete', old.id, old.name, old.title, old.description, old.tags_text); "
            f"INSERT INTO asset_fts(rowid, {columns}) "
            f"VALUES (new.id, new.name, new.title, new.description, new.tags_text); END"
        )
    else:
        op.execute(
            "ALTER TABLE asset ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "to_tsvector('simple', name || ' ' || replace(replace(name, '_', ' '), '-', ' ') "
            "|| ' ' || title || ' ' || description || ' ' || tags_text)) STORED"
        )
        op.execute("CREATE INDEX ix_asset_search ON asset USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("asset_fts_ai", "asset_fts_ad", "asset_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS asset_fts")
    with op.batch_alter_table("version_whitelist", schema=None) as batch_op:
        batch_op.drop_index("ix_whitelist_principal")

    op.drop_table("version_whitelist")
    with op.batch_alter_table("version_dependency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_dependency_depends_on_id"))

    op.drop_table("version_dependency")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_asset_id"))

    op.drop_table("subscription")
    with op.batch_alter_table("asset_version", schema=None) as batch_op:
        batch_op.drop_index("ix_version_order")

    op.drop_table("asset_version")
    with op.batch_alter_table("asset_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_tag_tag")

    op.drop_table("asset_tag")
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_member_user_id"))

    op.drop_table("group_member")
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_visibility")
        batch_op.drop_index("ix_asset_popular")
        batch_op.drop_index(batch_op.f("ix_asset_owner_id"))
        batch_op.drop_index("ix_asset_newest")
        batch_op.drop_index("ix_asset_name")
        batch_op.drop_index("ix_asset_kind")
        batch_op.drop_index(batch_op.f("ix_asset_content_id"))

    op.drop_table("asset")
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_token_user_id"))

    op.drop_table("access_token")
    with op.batch_alter_table("gallery_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gallery_user_username"))

    op.drop_table("gallery_user")
    with op.batch_alter_table("gallery_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gallery_group_name"))

    op.drop_table("gallery_group")
