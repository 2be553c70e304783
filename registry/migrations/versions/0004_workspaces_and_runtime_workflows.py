"""workspaces and runtime workflows

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["gallery_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "name", name="uq_workspace_owner_name"),
    )
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workspace_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "runtime_workflow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source_content_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("source_version", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("tags_text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["gallery_user.id"],
        ),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_workflow_ws_name"),
    )
    with op.batch_alter_table("runtime_workflow", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_runtime_workflow_workflow_id"), ["workflow_id"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_runtime_workflow_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "workspace_member",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["gallery_user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id"),
    )
    with op.batch_alter_table("workspace_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workspace_member_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("workspace_member")
    op.drop_table("runtime_workflow")
    op.drop_table("workspace")
