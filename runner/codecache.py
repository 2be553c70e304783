"""A worker's cache of unpacked packages: keyed by sha256, bounded in size, safe to share.

Layout under the cache directory::

    <sha256>/              an unpacked tree, never changed in place (jobs get a private copy)
    <sha256>.lock          flock(2): shared while a step unpacks or uses the tree, exclusive
                           while it is evicted; holds the tree's size in bytes
    .unpack-<sha256>-*/    an unpack in progress (or left behind by a worker that died)
    .evict-*/              a tree on its way out

After each unpack the least recently used trees (a tree's mtime is touched at every use) are
evicted until the total fits the bound. A tree that somebody holds is never evicted, so while
steps hold more than the bound the cache stays above it. flock locks work between the steps of
one process and between worker processes sharing a data directory, and die with their process,
so a crashed worker leaves nothing locked.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

SHA256 = re.compile(r"[0-9a-f]{64}")
_STAGING = re.compile(r"\.unpack-([0-9a-f]{64})-.*")
_WAIT_SECONDS = 0.01


def _lock(path: Path, *, exclusive: bool) -> int | None:
    """A file descriptor holding an flock on ``path`` (created if missing), or None when an
    incompatible lock is held. The lock is on the file that is at ``path`` now: one removed
    meanwhile by an eviction does not count."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            return fd
        os.close(fd)


def _tree_bytes(tree: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(tree):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


class Hold:
    """A shared lock on one sha's tree: it is not evicted until released."""

    def __init__(self, cache: CodeCache, sha: str, fd: int) -> None:
        self.cache = cache
        self.sha = sha
        self._fd = fd

    @property
    def tree(self) -> Path:
        return self.cache.root / self.sha

    def install(self, unpacked: Path, size: int) -> None:
        """Move a freshly unpacked tree into place (unless another step was quicker)."""
        with contextlib.suppress(OSError):  # another step unpacked it first: keep theirs
            os.replace(unpacked, self.tree)
        os.utime(self.tree)
        record = str(size).encode()
        os.pwrite(self._fd, record, 0)
        os.ftruncate(self._fd, len(record))

    def touch(self) -> None:
        with contextlib.suppress(OSError):
            os.utime(self.tree)

    def release(self) -> None:
        if self._fd < 0:
            return
        try:
            if not self.tree.is_dir():  # nothing was unpacked: leave no lock file behind
                self.cache._forget(self.sha, self._fd)
        finally:
            os.close(self._fd)
            self._fd = -1


class CodeCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _lock_path(self, sha: str) -> Path:
        return self.root / f"{sha}.lock"

    async def hold(self, sha: str) -> Hold:
        """Hold the sha's tree (present or not) against eviction."""
        if not SHA256.fullmatch(sha):
            raise ValueError(f"not a sha256: {sha!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        # An evictor holds its exclusive lock only to rename the tree away: wait by polling,
        # so a cancelled step never leaves a lock taken by a thread behind.
        while (fd := _lock(self._lock_path(sha), exclusive=False)) is None:  # noqa: ASYNC110
            await asyncio.sleep(_WAIT_SECONDS)
        return Hold(self, sha, fd)

    def staging(self, sha: str) -> Path:
        """A fresh directory, on the cache's file system, to unpack one sha into."""
        return Path(tempfile.mkdtemp(prefix=f".unpack-{sha}-", dir=self.root))

    def entries(self) -> list[tuple[float, str, int]]:
        """(last use, sha, bytes) of every tree, least recently used first."""
        found = []
        for child in self.root.iterdir():
            if not SHA256.fullmatch(child.name):
                continue
            try:
                used = child.stat().st_mtime
            except FileNotFoundError:
                continue
            found.append((used, child.name, self._size(child.name)))
        return sorted(found)

    def _size(self, sha: str) -> int:
        try:
            return int(self._lock_path(sha).read_text())
        except (OSError, ValueError):  # unpacked by an older worker, or being evicted
            return _tree_bytes(self.root / sha)

    def evict(self) -> list[str]:
        """Evict least recently used trees nobody holds until the total fits the bound; clear
        what dead workers left. Returns the evicted shas."""
        if not self.root.is_dir():
            return []
        self._sweep()
        entries = self.entries()
        total = sum(size for _, _, size in entries)
        evicted = []
        for _, sha, size in entries:
            if total <= self.max_bytes:
                break
            if self._evict(sha):
                evicted.append(sha)
                total -= size
        return evicted

    def _evict(self, sha: str) -> bool:
        fd = _lock(self._lock_path(sha), exclusive=True)
        if fd is None:
            return False  # a step holds it
        trash = self.root / f".evict-{sha}-{uuid.uuid4().hex[:8]}"
        try:
            try:
                os.rename(self.root / sha, trash)
            except FileNotFoundError:
                return False
            finally:
                self._lock_path(sha).unlink(missing_ok=True)
        finally:
            os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def _forget(self, sha: str, fd: int) -> None:
        """Remove the lock file of a sha that has no tree, unless somebody else holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        path = self._lock_path(sha)
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino and not (self.root / sha).is_dir():
                path.unlink()

    def _sweep(self) -> None:
        """Remove trees half evicted, unpacks nobody is doing any more (their worker died),
        and lock files of shas without a tree that nobody holds."""
        idle: set[str] = set()
        for child in self.root.iterdir():
            name = child.name
            if name.startswith(".evict-"):
                shutil.rmtree(child, ignore_errors=True)
            elif match := _STAGING.fullmatch(name):
                idle.add(match.group(1))
            elif (
                name.endswith(".lock")
                and SHA256.fullmatch(name[:-5])
                and not (self.root / name[:-5]).is_dir()
            ):
                idle.add(name[:-5])
        for sha in idle:
            fd = _lock(self._lock_path(sha), exclusive=True)
            if fd is None:
                continue  # being unpacked or used
            try:
                for staging in self.root.glob(f".unpack-{sha}-*"):
                    shutil.rmtree(staging, ignore_errors=True)
                if not (self.root / sha).is_dir():
                    self._lock_path(sha).unlink(missing_ok=True)
            finally:
                os.close(fd)
