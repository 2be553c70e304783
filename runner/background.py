"""Work a step leaves to run after it has answered (tidying up, a record that is also written
durably another way, the next step's sandbox): kept referenced until done, failures logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("runner")
_RUNNING: set[asyncio.Task[Any]] = set()


def later(work: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.ensure_future(work)
    _RUNNING.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task[Any]) -> None:
    _RUNNING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("background work of a step failed", exc_info=task.exception())
