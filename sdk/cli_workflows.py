"""``gallery`` verbs for workflows in workspaces: list, configure, copy, rename, delete, tag."""

from __future__ import annotations

from sdk.cli import Command

COMMANDS: dict[str, tuple[Command, str]] = {}
