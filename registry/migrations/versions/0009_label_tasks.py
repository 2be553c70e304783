"""label tasks: the samples of a dataset version people label for a labeling step

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "label_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dataset_pin", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("task_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("min_labelled", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("execution_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("result_pin", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_label_task_name"),
    )
    with op.batch_alter_table("label_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_task_task_id"), ["task_id"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_label_task_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_label_task_execution_id"), ["execution_id"], unique=False
        )

    op.create_table(
        "sample_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("labelled_by", sa.Integer(), nullable=True),
        sa.Column("labelled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["task_pk"], ["label_task.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["labelled_by"], ["gallery_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_pk", "path", name="uq_sample_label_path"),
    )
    with op.batch_alter_table("sample_label", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sample_label_task_pk"), ["task_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sample_label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sample_label_task_pk"))
    op.drop_table("sample_label")
    with op.batch_alter_table("label_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_task_execution_id"))
        batch_op.drop_index(batch_op.f("ix_label_task_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_label_task_task_id"))
    op.drop_table("label_task")
