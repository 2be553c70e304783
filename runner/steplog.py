"""A step's log: the job's stdout and stderr in a local file, shipped to the blob store while
the step runs (readable from the API) and once more at the end.

A log holds at most ``GALLERY_STEP_LOG_BYTES``: past it the output is still read (the job never
blocks on a full pipe) but dropped, and a closing ``gallery:`` line says how much, followed by
the job's last few lines so the end of its story is not lost."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from registry.versions.archives import human
from runner.steps.base import StepContext

LOG_UPLOAD_SECONDS = 2.0
"""How often a running step's log is shipped unless its policy says (``poll_interval_seconds``)."""
MIN_UPLOAD_SECONDS = 0.5
TAIL_LINES = 8
TAIL_BYTES = 8192
"""How much of the end of a log ``tail`` reads, and of dropped output the log keeps."""


def size(path: Path) -> int:
    """The file's size, or -1 when it does not exist."""
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def start(log_path: Path, header: str) -> None:
    """A new log holding the runner's header lines (a small local write)."""
    log_path.write_text(header)


async def pump(
    process: asyncio.subprocess.Process, log_path: Path, limit: int, first: bytes = b""
) -> None:
    """Copy ``first`` (output already read from the process), then the process's output into
    the log file until it closes, up to ``limit`` bytes of log; the rest is read and dropped,
    and counted in a closing line."""
    assert process.stdout is not None
    dropped = 0
    last = bytearray()  # the end of what was dropped
    with log_path.open("ab") as handle:
        room = limit - handle.tell()  # the runner's header counts
        pending = first
        try:
            while chunk := pending or await process.stdout.read(65536):
                pending = b""
                if room > 0:
                    kept = chunk[:room]
                    handle.write(kept)
                    handle.flush()
                    room -= len(kept)
                    chunk = chunk[len(kept) :]
                if chunk:
                    dropped += len(chunk)
                    last += chunk
                    del last[:-TAIL_BYTES]
        finally:
            if dropped:  # also when cancelled: the log says it is not whole
                handle.write(_truncated(limit, dropped, bytes(last)))


def _truncated(limit: int, dropped: int, last: bytes) -> bytes:
    """The closing lines of a truncated log: how much was dropped, and the job's last lines."""
    lines = last.split(b"\n")
    if len(last) == TAIL_BYTES and len(lines) > 1:
        lines = lines[1:]  # the first one is cut
    end = b"\n".join(lines[-TAIL_LINES - 1 :]).lstrip(b"\n")
    note = (
        f"\ngallery: log truncated at {human(limit)} ({dropped} more bytes dropped); "
        f"the job's last lines were:\n"
    )
    return note.encode() + end + (b"" if end.endswith(b"\n") else b"\n")


class Shipper:
    """Uploads the log at once (its header: readable as soon as the job starts), then every
    ``every`` seconds (at least ``MIN_UPLOAD_SECONDS``) while it grows, and once more when
    closed, unless nothing was added since the last upload (a quiet job's log is not uploaded
    twice)."""

    def __init__(self, ctx: StepContext, log_path: Path, every: float = LOG_UPLOAD_SECONDS) -> None:
        self.ctx = ctx
        self.log_path = log_path
        self.every = max(every, MIN_UPLOAD_SECONDS)
        self.shipped = -1
        self._lock = asyncio.Lock()  # an upload is never overtaken by an older one
        self._task = asyncio.create_task(self._every())

    async def _every(self) -> None:
        while True:
            await asyncio.shield(self._ship())
            await asyncio.sleep(self.every)

    async def _ship(self) -> None:
        async with self._lock:
            now = size(self.log_path)
            if now >= 0 and now != self.shipped:
                await asyncio.to_thread(self.ctx.blobs.put_file, self.ctx.log_key, self.log_path)
                self.shipped = now

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        await self._ship()


def tail(path: Path) -> str:
    """The last lines the job printed (the runner's own ``gallery:`` lines left out), read from
    the end of the log only."""
    try:
        with path.open("rb") as handle:
            start = max(0, handle.seek(0, os.SEEK_END) - TAIL_BYTES)
            handle.seek(start)
            raw = handle.read(TAIL_BYTES)
    except OSError:
        return ""
    lines = raw.decode(errors="replace").splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # cut in the middle
    body = [line for line in lines if not line.startswith("gallery: ")]
    return "\n".join(body[-TAIL_LINES:])
