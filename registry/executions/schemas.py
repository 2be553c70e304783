"""Request and response models of executions, their steps, the to-do list and comparisons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from registry.assets.schemas import Name, StoredObject, Tags
from registry.documents import servable

# Any JSON value read back from a column (or a spec), as it can be served.
StoredValue = Annotated[Any, BeforeValidator(servable)]


class ExecutionStart(BaseModel):
    """Start a run: the saved configuration, with these placeholder values on top."""

    model_config = ConfigDict(extra="forbid")
    scene: Name | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    labels: Tags = Field(default_factory=list)


class ExecutionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: Tags


class ContinueBody(BaseModel):
    """Values for the delayed placeholders the step waits for."""

    model_config = ConfigDict(extra="forbid")
    inputs: dict[str, Any] = Field(default_factory=dict)


class RetryBody(BaseModel):
    """Placeholder values to change before the step runs again (they apply from now on)."""

    model_config = ConfigDict(extra="forbid")
    parameters: dict[str, Any] = Field(default_factory=dict)


class WaitingInput(BaseModel):
    name: str
    type: str
    default: StoredValue = None
    enum_list: list[StoredValue] | None = None
    description: str = ""


class StepRead(BaseModel):
    name: str
    type: str
    status: str
    attempt: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    inputs: StoredObject
    outputs: StoredObject
    parameters: StoredObject
    metrics: StoredObject
    waiting_for: list[WaitingInput]
    error: str | None
    has_log: bool


class ExecutionRead(BaseModel):
    id: str
    name: str
    workflow_id: str
    workflow_name: str
    workspace: str
    status: str
    scene: str | None
    parameters: StoredObject
    storages: StoredObject
    labels: list[str]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    steps: list[StepRead]


class ExecutionSummary(BaseModel):
    id: str
    name: str
    workflow_id: str
    workflow_name: str
    workspace: str
    status: str
    current_step: str | None
    """The running or waiting step(s) (comma-separated), else where it failed or stopped."""
    scene: str | None
    labels: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None


class TodoItem(BaseModel):
    execution_id: str
    execution_name: str
    workflow_id: str
    workflow_name: str
    workspace: str
    step: str
    waiting_for: list[WaitingInput]


class CompareRow(BaseModel):
    id: str
    name: str
    workflow_id: str
    workflow_name: str
    status: str
    started_at: datetime | None
    duration_seconds: float | None
    parameters: StoredObject
    metrics: dict[str, float]
    """``step.key`` → value of every ``float`` metric the run's steps reported."""
