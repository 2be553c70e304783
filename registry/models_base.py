"""Shared column helpers for the table models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_

from sdk.vocabulary import NAME_RE as NAME_RE  # the name rule is the SDK's, defined once
from sdk.vocabulary import NAME_RULE as NAME_RULE


def utcnow() -> datetime:
    return datetime.now(UTC)


def has_word(column: Any, word: str) -> ColumnElement[bool]:
    """``column`` holds space-separated words (tags, labels) and ``word`` is one of them
    (``_`` and ``%`` in it are plain characters, not LIKE's wildcards)."""
    return or_(
        column == word,
        column.startswith(word + " ", autoescape=True),
        column.endswith(" " + word, autoescape=True),
        column.contains(" " + word + " ", autoescape=True),
    )
