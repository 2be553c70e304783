"""``gallery`` verbs for executions: list, label, rerun, compare, to-do, outputs."""

from __future__ import annotations

from sdk.cli import Command

COMMANDS: dict[str, tuple[Command, str]] = {}
