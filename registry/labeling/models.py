"""Label tasks: the samples of one dataset version that people label for a labeling step,
and the label each got (``sample_label``: one row per sample, its label empty until given).

The runner's labeling step creates (or reuses, by name in the workspace) the task and waits
on it; people label through the API or the labeling page; *continue* is accepted once the
task's completion rule holds, and the step publishes the labels as a new dataset version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models_base import utcnow

WAITING_FOR = "labels"
"""What a labeling step waits for (its ``waiting_for``): people's labels, not a placeholder."""
OPEN, DONE = "open", "done"
MAX_LABEL = 128
MAX_PATH = 1024


class LabelTask(SQLModel, table=True):
    __tablename__ = "label_task"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_label_task_name"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(max_length=36, unique=True, index=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    dataset_pin: str = Field(max_length=200)
    """The dataset version whose samples are labelled (``CONTENT_ID@VERSION``)."""
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    task_type: str | None = Field(default=None, max_length=64)
    min_labelled: int | None = None
    """The completion rule: at least this many samples labelled (None: every sample)."""
    status: str = Field(default=OPEN, max_length=16)
    execution_id: str | None = Field(default=None, max_length=36, index=True)
    step: str | None = Field(default=None, max_length=64)
    """The execution and step waiting on the task (the latest to use it)."""
    result_pin: str | None = Field(default=None, max_length=200)
    """The dataset version the labels were published as, once done."""
    created_at: datetime = Field(default_factory=utcnow)


class SampleLabel(SQLModel, table=True):
    __tablename__ = "sample_label"
    __table_args__ = (UniqueConstraint("task_pk", "path", name="uq_sample_label_path"),)

    id: int | None = Field(default=None, primary_key=True)
    task_pk: int = Field(foreign_key="label_task.id", index=True, ondelete="CASCADE")
    path: str = Field(max_length=MAX_PATH)
    """The sample's path inside the dataset's files (as ``annotations.csv`` names it)."""
    label: str | None = Field(default=None, max_length=MAX_LABEL)
    labelled_by: int | None = Field(default=None, foreign_key="gallery_user.id")
    labelled_at: datetime | None = None


def rule_text(task: LabelTask) -> str:
    if task.min_labelled is None:
        return "every sample labelled"
    return f"at least {task.min_labelled} samples labelled"


def needed(task: LabelTask, samples: int) -> int:
    """How many labelled samples the completion rule asks for."""
    return samples if task.min_labelled is None else min(task.min_labelled, samples)
