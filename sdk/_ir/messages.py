"""What the registry sends the runner (through Temporal, by name): the execution workflow's
name, its updates, signal and query, and their inputs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sdk._ir.models import (
    Name,
    WorkflowSpec,
    _Model,
)

EXECUTION_WORKFLOW = "ExecutionWorkflow"
UPDATE_CONTINUE = "continue_step"
UPDATE_RETRY = "retry_step"
UPDATE_STOP_STEP = "stop_step"
UPDATE_NEXT = "next_step"
SIGNAL_STOP = "stop"
QUERY_STATE = "state"
DEFAULT_TASK_QUEUE = "gallery"


class ExecutionInput(_Model):
    """Start an execution: the frozen spec, resolved values and what a scene inherits.

    ``steps`` are the steps to run (all, or a scene's); ``entry_outputs`` and ``entry_metrics``
    hold what steps outside a scene produced in the workflow's latest successful runs.
    ``namespace`` is the workspace's object-store directory (``/<owner>/<workspace>/``): default
    storage roots and outputs go under it.
    """

    execution_id: str
    workflow_id: str
    namespace: str = Field(default="/gallery/", pattern=r"^/([A-Za-z0-9._-]+/)+$")
    spec: WorkflowSpec
    parameters: dict[str, Any] = Field(default_factory=dict)
    storages: dict[str, str] = Field(default_factory=dict)
    steps: list[Name]
    entry_outputs: dict[str, dict[str, str]] = Field(default_factory=dict)
    entry_metrics: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)
    flavor_queues: dict[str, str] = Field(default_factory=dict)
    task_queue: str = DEFAULT_TASK_QUEUE
    open_seconds: float = Field(default=7 * 86400.0, gt=0)
    gated: bool = False
    """Debug mode: no step starts until a *next* Update lets it (condition steps, which do no
    work, are evaluated as they become ready)."""


class ContinueInput(_Model):
    """Values for a step waiting for its delayed placeholders."""

    step: Name
    values: dict[str, Any] = Field(default_factory=dict)


class RetryInput(_Model):
    """Run a failed or stopped step again; ``parameters`` change placeholder values first."""

    step: Name
    parameters: dict[str, Any] = Field(default_factory=dict)


class NextInput(_Model):
    """Debug mode: start the next ready step (or the named one), with these placeholder
    values set first."""

    step: Name | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class StopStepInput(_Model):
    step: Name
