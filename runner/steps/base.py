"""What every step executor gets and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.blobs import BlobStore
from registry.db import Database
from registry.settings import Settings
from runner.launch import Sandboxes
from runner.reads import Reads
from runner.sandbox import Sandbox
from runner.tenancy import Tenant, Tenants


class StepFailure(Exception):
    """The step failed for a reason its user can act on; the message says which.

    ``non_retryable`` failures (bad metrics, a missing input, a timeout) skip the automatic
    retries, which could not change the outcome. ``outputs`` are what the failed step still
    left for its user (its exported log), recorded with the failure.
    """

    def __init__(
        self,
        message: str,
        *,
        non_retryable: bool = False,
        outputs: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.non_retryable = non_retryable
        self.outputs = dict(outputs or {})


@dataclass
class StepContext:
    db: Database
    blobs: BlobStore
    work_root: Path
    code_cache: Path
    attempt: int
    log_key: str
    tenant: Tenant
    """The execution's workspace, from the database: its namespace bounds the step's paths."""
    tenants: Tenants
    settings: Settings
    """The worker's settings (limits, sandbox)."""
    sandbox: Sandbox
    reads: Reads
    """One-call reads for the step's critical path (its access check)."""
    boxes: Sandboxes
    """Sandboxes started ahead of the steps that will run in them."""


@dataclass
class Outcome:
    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    floats: dict[str, dict[str, float]] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    """Not done yet: the step waits for people (``waiting_for``, e.g. a labeling step's
    labels); its *continue* runs the executor again with ``StepTask.phase`` ``finish``."""
