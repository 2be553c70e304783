"""development runs: experiments, partial runs of chosen steps, debug runs, development workflows

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["gallery_user.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_experiment_name"),
    )
    with op.batch_alter_table("experiment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_experiment_id"), ["experiment_id"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_workspace_id"), ["workspace_id"], unique=False
        )
    # Plain ADD COLUMNs (no table rebuild: on SQLite a rebuild would cascade-delete step runs).
    op.add_column("execution", sa.Column("steps_text", sa.Text(), nullable=True))
    op.add_column("execution", sa.Column("experiment_pk", sa.Integer(), nullable=True))
    op.add_column(
        "execution",
        sa.Column("debug", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_execution_experiment_pk", "execution", ["experiment_pk"], unique=False)
    op.add_column(
        "runtime_workflow",
        sa.Column("development", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("runtime_workflow", "development")
    op.drop_index("ix_execution_experiment_pk", table_name="execution")
    op.drop_column("execution", "debug")
    op.drop_column("execution", "experiment_pk")
    op.drop_column("execution", "steps_text")
    op.drop_index("ix_experiment_workspace_id", table_name="experiment")
    op.drop_index("ix_experiment_experiment_id", table_name="experiment")
    op.drop_table("experiment")
