"""Request and response models of workspaces and runtime workflows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from registry.assets.schemas import Name, StoredObject, Tags
from registry.documents import DocumentError, check_servable


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class WorkspaceRead(BaseModel):
    name: str
    owner: str
    created_at: datetime
    storage: str = Field(
        description="The object-store directory the workspace owns (/<owner>/<workspace>/): "
        "storage roots and path placeholders must lie inside it"
    )


class WorkflowImport(BaseModel):
    """Import a published workflow version (default: its latest) under a name, or release a
    compiled ``spec`` straight from the SDK (creating the workflow, or updating the one of
    that name that an earlier release made)."""

    model_config = ConfigDict(extra="forbid")
    content_id: str | None = Field(default=None, min_length=1, max_length=36)
    version: str | None = Field(default=None, max_length=128)
    spec: dict[str, Any] | None = None
    name: Name | None = None
    development: bool = False
    """With ``spec``: a development workflow (``workflow.run()``/``debug()``): its steps may
    run packages uploaded to the workspace; it publishes nothing."""


class WorkflowCopy(BaseModel):
    """The twin's name (default ``<name>_copy``, ``_copy2`` … when taken)."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None


class WorkflowUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    tags: Tags | None = None


class WorkflowConfig(BaseModel):
    """Saved run settings: placeholder values, storage roots, the scene to run."""

    model_config = ConfigDict(extra="forbid")
    placeholders: dict[str, Any] = Field(default_factory=dict)
    storages: dict[str, str] = Field(default_factory=dict)
    scene: str | None = None


def _servable_config(config: Any) -> Any:
    """A stored configuration that cannot be served (too deep, not Unicode) reads as empty."""
    if isinstance(config, WorkflowConfig):
        try:
            check_servable([config.placeholders, config.storages, config.scene])
        except DocumentError:
            return WorkflowConfig()
    return config


class WorkflowRead(BaseModel):
    id: str
    status: str | None = None
    """The status of its latest execution (None before the first)."""
    workspace: str
    name: str
    source_content_id: str | None
    source_version: str | None
    development: bool = False
    tags: list[str]
    config: Annotated[WorkflowConfig, BeforeValidator(_servable_config)]
    spec: StoredObject
    created_at: datetime
    updated_at: datetime


class WorkflowSummary(BaseModel):
    """One workflow in a workspace's list: what a table shows, without the spec and the
    configuration (``GET /api/v1/workflows/{id}`` has those)."""

    id: str
    workspace: str
    name: str
    source_content_id: str | None
    source_version: str | None
    development: bool = False
    status: str | None = Field(description="status of the latest execution; null before the first")
    latest_execution: str | None = Field(description="its name, execution-NNN")
    latest_execution_id: str | None
    latest_started_at: datetime | None
    latest_finished_at: datetime | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
