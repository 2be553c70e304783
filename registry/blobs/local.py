"""Blobs as files in a directory tree."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from registry.blobs.base import CHUNK, BlobInfo, BlobNotFound


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*parts)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Copy to a temporary name first so a reader never sees half a blob.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, path.open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        with handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"invalid range: offset {offset}, length {length}")
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        with handle:
            handle.seek(offset)
            return handle.read(length)

    def stat(self, key: str) -> BlobInfo:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return BlobInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        start = self.root
        head = [p for p in prefix.split("/")[:-1] if p]
        if head and not any(p in (".", "..") for p in head):
            start = self.root.joinpath(*head)  # only the subtree the prefix can match
        for dirpath, _dirs, files in os.walk(start):
            for name in files:
                if name.startswith(".incoming-"):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    st = full.stat()
                    yield BlobInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))
