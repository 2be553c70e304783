"""A step's log: the job's stdout and stderr in a local file, shipped to the blob store while
the step runs (readable from the API) and once more at the end."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from runner.steps.base import StepContext

LOG_UPLOAD_SECONDS = 2.0
TAIL_LINES = 8


def size(path: Path) -> int:
    """The file's size, or -1 when it does not exist."""
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


async def pump(process: asyncio.subprocess.Process, log_path: Path) -> None:
    """Copy the process's output into the log file until it closes."""
    assert process.stdout is not None
    with log_path.open("ab") as handle:
        while chunk := await process.stdout.read(65536):
            handle.write(chunk)
            handle.flush()


async def ship(ctx: StepContext, log_path: Path) -> None:
    """Upload the log every few seconds while it grows (cancelled when the step ends)."""
    shipped = -1
    while True:
        await asyncio.sleep(LOG_UPLOAD_SECONDS)
        now = size(log_path)
        if now != shipped:
            await asyncio.to_thread(ctx.blobs.put_file, ctx.log_key, log_path)
            shipped = now


async def ship_final(ctx: StepContext, log_path: Path) -> None:
    if size(log_path) >= 0:
        await asyncio.to_thread(ctx.blobs.put_file, ctx.log_key, log_path)


def tail(path: Path) -> str:
    """The last lines the job printed (the runner's own ``gallery:`` lines left out)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    body = [line for line in lines if not line.startswith("gallery: ")]
    return "\n".join(body[-TAIL_LINES:])
