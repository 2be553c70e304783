"""Execution records: one row per run of a runtime workflow and one per step in it.

The runner writes them (DESIGN.md §1: the database holds records, Temporal holds progress), so
lists, filters, the to-do list and comparisons are plain queries that outlive Temporal's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models_base import utcnow
from sdk.vocabulary import OPEN_STATUSES as OPEN_STATUSES
from sdk.vocabulary import ExecutionStatus, StepStatus

EXECUTION_STATUSES = tuple(ExecutionStatus)
STEP_STATUSES = tuple(StepStatus)


def log_prefix(execution_id: str) -> str:
    """Where an execution's step logs live in the blob store."""
    return f"logs/{execution_id}/"


def log_key(execution_id: str, step: str, attempt: int) -> str:
    return f"{log_prefix(execution_id)}{step}/{attempt}.log"


class Execution(SQLModel, table=True):
    __tablename__ = "execution"
    __table_args__ = (UniqueConstraint("workflow_pk", "number", name="uq_execution_number"),)

    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(max_length=36, unique=True, index=True)
    workflow_pk: int = Field(foreign_key="runtime_workflow.id", index=True, ondelete="CASCADE")
    number: int
    status: str = Field(default="created", max_length=16, index=True)
    scene: str | None = Field(default=None, max_length=64)
    steps_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """A partial run of chosen steps (space-separated), when not a scene's."""
    experiment_pk: int | None = Field(default=None, index=True)
    """The experiment a development run is recorded under (``experiment.id``)."""
    debug: bool = False
    parameters: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    storages: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    labels_text: str = Field(default="", max_length=1000)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_by: int = Field(foreign_key="gallery_user.id")
    record_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"execution-{self.number:03d}"


class Experiment(SQLModel, table=True):
    """A named group of development runs in a workspace (``workflow.run(experiment_id=…)``)."""

    __tablename__ = "experiment"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_experiment_name"),)

    id: int | None = Field(default=None, primary_key=True)
    experiment_id: str = Field(max_length=36, unique=True, index=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=128)
    created_by: int = Field(foreign_key="gallery_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class StepRun(SQLModel, table=True):
    __tablename__ = "step_run"
    __table_args__ = (UniqueConstraint("execution_pk", "name", name="uq_step_run_name"),)

    id: int | None = Field(default=None, primary_key=True)
    execution_pk: int = Field(foreign_key="execution.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    position: int = 0
    type: str = Field(max_length=32)
    status: str = Field(default="pending", max_length=16, index=True)
    attempt: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    waiting_for: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    log_key: str | None = Field(default=None, max_length=512)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    record_seq: int = 0
