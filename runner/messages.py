"""What the execution workflow hands its activities and gets back (pydantic, over Temporal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sdk import spec as ir


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepRecord(_Model):
    """A step transition decided in the workflow (skipped, waiting, failed …), written later."""

    seq: int
    step: str
    status: str
    error: str | None = None
    waiting_for: list[str] | None = None
    outputs: dict[str, Any] | None = None
    finished: bool = False
    finished_at: datetime | None = None
    """When it finished, if not when the record is written (a step whose activity returned)."""


class ExecutionRecord(_Model):
    """An execution transition: status, and the placeholder values it runs with."""

    seq: int
    status: str | None = None
    error: str | None = None
    parameters: dict[str, Any] | None = None
    finished: bool = False


class Records(_Model):
    """Workflow-decided transitions, batched into the next activity (DESIGN.md §4)."""

    execution_id: str
    steps: list[StepRecord] = Field(default_factory=list)
    execution: list[ExecutionRecord] = Field(default_factory=list)

    def empty(self) -> bool:
        return not self.steps and not self.execution


class InputValue(_Model):
    """An input as the step sees it: an object-store path to download, a registered model or
    dataset version (``value``: ``CONTENT_ID@VERSION``, or for a dataset named in the
    definition ``{"dataset_name", "version_name"}``; its files put in place), or a plain
    value."""

    kind: Literal["path", "value", "model", "dataset"]
    path: str | None = None
    value: Any = None


class StepTask(_Model):
    """Everything a step's executor needs, resolved by the workflow (no lookups left)."""

    execution_id: str
    workflow_id: str
    step: ir.StepSpec
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, InputValue] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)
    flavor: str | None = None
    """The step's resource flavor (its value resolved): the worker maps it to limits."""
    attempt_base: int = 0
    max_attempts: int = 1
    timeout_seconds: float
    records: Records
    seq: int = 0
    """The workflow's record sequence when the task was made: older records never overwrite
    what the activity writes."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """Steps other than jobs: each output's settings with their values resolved (output name
    → config), and ``lineage`` (what produced the inputs: step, output, algorithm, metrics)."""
    phase: Literal["start", "finish"] = "start"
    """``finish``: the step waited for people (a labeling step) and was continued."""


class StepResult(_Model):
    outputs: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = Field(default_factory=dict)
    recorded: bool = False
    """The activity wrote the step's final record itself (a step with metrics: they stay out
    of the workflow's history). Otherwise the workflow writes it with its next records (and
    the worker writes it too when those do not come soon)."""
    waiting: list[str] = Field(default_factory=list)
    """Not done: the step waits for people (its ``waiting_for``) until a *continue*."""
