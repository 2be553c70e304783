"""execution records and their step records

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "execution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("scene", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("storages", sa.JSON(), nullable=False),
        sa.Column("labels_text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=False),
        sa.Column("record_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["started_by"], ["gallery_user.id"]),
        sa.ForeignKeyConstraint(["workflow_pk"], ["runtime_workflow.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_pk", "number", name="uq_execution_number"),
    )
    with op.batch_alter_table("execution", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_execution_execution_id"), ["execution_id"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_execution_workflow_pk"), ["workflow_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_execution_status"), ["status"], unique=False)

    op.create_table(
        "step_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_pk", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("waiting_for", sa.JSON(), nullable=False),
        sa.Column("log_key", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("record_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["execution_pk"], ["execution.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("execution_pk", "name", name="uq_step_run_name"),
    )
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_step_run_execution_pk"), ["execution_pk"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_step_run_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("step_run")
    op.drop_table("execution")
