"""Request and response models of executions, their steps, the to-do list and comparisons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from registry.assets.schemas import Name, StoredObject, Tags
from registry.documents import servable
from sdk.spec import SceneName

# Any JSON value read back from a column (or a spec), as it can be served.
StoredValue = Annotated[Any, BeforeValidator(servable)]


def _experiment_name(value: str) -> str:
    if value != value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("an experiment name has no control characters or outer spaces")
    return value


ExperimentName = Annotated[
    str, Field(min_length=1, max_length=128), AfterValidator(_experiment_name)
]


class ExecutionStart(BaseModel):
    """Start a run: the saved configuration, with these placeholder values on top.

    ``steps`` runs only those steps (a partial run, like a scene's: outputs of the other steps
    come from the latest successful runs — of the experiment when one is named). ``experiment``
    records the run under that experiment of the workspace (made on first use). ``debug``
    starts a run that holds every step until ``POST /executions/{id}/next``."""

    model_config = ConfigDict(extra="forbid")
    scene: SceneName | None = None
    steps: list[Name] | None = Field(default=None, min_length=1, max_length=500)
    parameters: dict[str, Any] = Field(default_factory=dict)
    labels: Tags = Field(default_factory=list)
    experiment: ExperimentName | None = None
    debug: bool = False


class NextBody(BaseModel):
    """Debug runs: start ``step`` (default: the next ready one) with these values set first."""

    model_config = ConfigDict(extra="forbid")
    step: Name | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ExperimentName


class ExperimentRead(BaseModel):
    id: str
    name: str
    workspace: str
    created_at: datetime
    runs: int
    latest_status: str | None


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
    chosen_steps: list[str] | None = None
    """A partial run of these steps (not a scene's)."""
    experiment: str | None = None
    """The experiment's name, for a development run recorded under one."""
    experiment_id: str | None = None
    debug: bool = False
    development: bool = False
    """Its workflow is a development workflow (``workflow.run()``/``debug()``)."""
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
    label_task: str | None = None
    """A labeling step waiting for labels: its label task's id (the labeling page)."""


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
