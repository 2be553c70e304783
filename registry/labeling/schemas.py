"""API shapes of label tasks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class LabelTaskSummary(BaseModel):
    id: str
    name: str
    workspace: str
    dataset: str
    """The dataset version whose samples are labelled (``CONTENT_ID@VERSION``)."""
    task_type: str | None
    status: str
    samples: int
    labelled: int
    remaining: int
    execution_id: str | None
    step: str | None
    created_at: datetime


class LabelTaskRead(LabelTaskSummary):
    labels: list[str]
    completion_rule: str
    """In words: ``every sample labelled`` or ``at least N samples labelled``."""
    needed: int
    """How many labelled samples the rule asks for."""
    complete: bool
    result: str | None
    """The dataset version the labels were published as (once the step went on)."""


class SampleRead(BaseModel):
    path: str
    label: str | None


class SamplePage(BaseModel):
    items: list[SampleRead]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page (None: this was the last)."""


class LabelsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: dict[str, str | None]
    """Sample path → label (one of the task's label set; null clears it)."""


class LabelsDone(BaseModel):
    labelled: int
    """How many samples this request labelled (or cleared)."""
    task: LabelTaskRead
