"""The blob store protocol. Implementations are synchronous; callers run them in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

CHUNK = 1024 * 1024


class BlobNotFound(KeyError):
    """No blob is stored under that key."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: datetime


class BlobStore(Protocol):
    """Keys are ``/``-separated relative paths such as ``packages/<content id>/<uuid>.tar.gz``."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key`` (replacing any blob there)."""

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """Yield the blob's bytes in chunks; raises BlobNotFound."""

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """At most ``length`` bytes from ``offset`` on (fewer at the end, none past it), without
        reading the rest of the blob; raises BlobNotFound."""

    def stat(self, key: str) -> BlobInfo:
        """Size and modification time; raises BlobNotFound."""

    def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        """Every blob whose key starts with ``prefix``."""
