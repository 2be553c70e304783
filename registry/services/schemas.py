"""API shapes of deployed services (the admin token never leaves the database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ServiceRead(BaseModel):
    id: str
    workspace: str
    name: str
    model: str
    status: str
    host: str
    port: int
    endpoint: str
    note: str
    error: str | None = None
    execution_id: str | None = None
    step: str | None = None
    created_at: datetime
    updated_at: datetime


class PredictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[Any] = Field(description="What the model predicts from (a list)")
