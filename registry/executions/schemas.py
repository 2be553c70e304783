"""Request and response models of executions, their steps, the to-do list and comparisons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from registry.assets.schemas import Name, Tags


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
    default: Any = None
    enum_list: list[Any] | None = None
    description: str = ""


class StepRead(BaseModel):
    name: str
    type: str
    status: str
    attempt: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parameters: dict[str, Any]
    metrics: dict[str, Any]
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
    parameters: dict[str, Any]
    storages: dict[str, Any]
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
    status: str
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
    parameters: dict[str, Any]
    metrics: dict[str, float]
    """``step.key`` → value of every ``float`` metric the run's steps reported."""
