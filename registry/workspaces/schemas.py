"""Request and response models of workspaces and runtime workflows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from registry.assets.schemas import Name, Tags


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


class WorkflowRead(BaseModel):
    id: str
    status: str | None = None
    """The status of its latest execution (None before the first)."""
    workspace: str
    name: str
    source_content_id: str | None
    source_version: str | None
    tags: list[str]
    config: WorkflowConfig
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime
