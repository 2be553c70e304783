"""Shared column helpers for the table models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
NAME_RULE = "1-64 characters: letters, digits, '_' or '-', starting with a letter"


def utcnow() -> datetime:
    return datetime.now(UTC)


def has_word(column: Any, word: str) -> ColumnElement[bool]:
    """``column`` holds space-separated words (tags, labels) and ``word`` is one of them."""
    return or_(
        column == word,
        column.startswith(word + " "),
        column.endswith(" " + word),
        column.contains(" " + word + " "),
    )
