"""services: model versions deployed as HTTP inference processes, supervised by a worker

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", text(length=36), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", text(length=64), nullable=False),
        sa.Column("model", text(length=200), nullable=False),
        sa.Column("status", text(length=16), nullable=False),
        sa.Column("host", text(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("endpoint", text(length=255), nullable=False),
        sa.Column("secret", text(length=128), nullable=False),
        sa.Column("note", text(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("execution_id", text(length=36), nullable=True),
        sa.Column("step", text(length=64), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["gallery_user.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_service_ws_name"),
    )
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_service_id"), ["service_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_service_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_host"), ["host"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_host"))
        batch_op.drop_index(batch_op.f("ix_service_status"))
        batch_op.drop_index(batch_op.f("ix_service_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_service_service_id"))
    op.drop_table("service")
