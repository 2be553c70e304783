"""Workspaces and the runtime workflows imported into them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models_base import utcnow


class Workspace(SQLModel, table=True):
    __tablename__ = "workspace"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_workspace_owner_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    owner_id: int = Field(foreign_key="gallery_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class WorkspaceMember(SQLModel, table=True):
    __tablename__ = "workspace_member"

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="gallery_user.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class RuntimeWorkflow(SQLModel, table=True):
    """A workflow imported (or released) into a workspace: a frozen spec and its settings."""

    __tablename__ = "runtime_workflow"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_workflow_ws_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=36, unique=True, index=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    source_content_id: str | None = Field(default=None, max_length=36)
    source_version: str | None = Field(default=None, max_length=128)
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    config: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    tags_text: str = Field(default="", max_length=1000)
    development: bool = False
    """Made by ``workflow.run()``/``debug()``: runs local code from workspace packages."""
    created_by: int = Field(foreign_key="gallery_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
