"""``gallery`` verbs for assets and subscriptions: subscribe, versions, visibility,
whitelist, deprecate, yank."""

from __future__ import annotations

from sdk.cli import Command

COMMANDS: dict[str, tuple[Command, str]] = {}
