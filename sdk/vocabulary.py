"""The words Gallery's parts share, defined once: the name rule, and the value lists of asset
kinds, visibilities, version statuses, and execution and step statuses (``StrEnum``: each
member *is* its string, so it compares, serializes and stores as the plain word).

The SDK, the registry's tables and schemas, the runner and the pages all use these.
"""

from __future__ import annotations

import re
from enum import StrEnum

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
NAME_RE = re.compile(NAME_PATTERN)
NAME_RULE = "1-64 characters: letters, digits, '_' or '-', starting with a letter"


class Kind(StrEnum):
    """What an asset is."""

    WORKFLOW = "workflow"
    ALGORITHM = "algorithm"
    MODEL = "model"
    DATASET = "dataset"


class Visibility(StrEnum):
    """Who may see an asset: everyone, its whitelist (per version), or its owner."""

    PUBLIC = "public"
    GROUP = "group"
    PRIVATE = "private"


class VersionStatus(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    """Still usable; a warning says a newer version is better."""
    YANKED = "yanked"
    """No longer importable or runnable by new imports."""


class ExecutionStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    WAITING_INPUT = "waiting_input"
    PAUSED = "paused"
    """A debug run between steps: the next one starts on *next*."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


OPEN_STATUSES: tuple[ExecutionStatus, ...] = (
    ExecutionStatus.CREATED,
    ExecutionStatus.RUNNING,
    ExecutionStatus.WAITING_INPUT,
    ExecutionStatus.PAUSED,
)
"""An execution in one of these may still change (one open execution per workflow)."""


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING_INPUT = "waiting_input"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    STOPPED = "stopped"
