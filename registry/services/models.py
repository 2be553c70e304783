"""Deployed services: one row per model version served by a worker as an HTTP process.

The worker that deployed a service supervises it (``runner.services``): it starts, restarts,
re-adopts and stops the process and keeps this row current; the registry reads it, marks it
``deleting``, and forwards predictions to its endpoint.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models_base import utcnow

SERVICE_STATUSES = ("deploying", "running", "failed", "stopped", "deleting")
NOTE_STARTED = "started"
NOTE_READOPTED = "re-adopted after a worker restart"
NOTE_RESTARTED = "restarted after a worker restart"


class Service(SQLModel, table=True):
    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_service_ws_name"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(max_length=36, unique=True, index=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    model: str = Field(max_length=200)
    """The model version served, ``CONTENT_ID@VERSION``."""
    status: str = Field(default="deploying", max_length=16, index=True)
    host: str = Field(max_length=255, index=True)
    """The machine whose worker runs the process (its host name)."""
    port: int
    pid: int | None = None
    endpoint: str = Field(max_length=255)
    secret: str = Field(max_length=128)
    """The process's admin token (model swaps); never served."""
    note: str = Field(default="started", max_length=200)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    execution_id: str | None = Field(default=None, max_length=36)
    step: str | None = Field(default=None, max_length=64)
    created_by: int = Field(foreign_key="gallery_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
