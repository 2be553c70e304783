"""Server-sent events: an execution's state each time it changes, and a user's to-do list.

One stream per open page (or ``gallery status --follow``). The worker writes run records
from its own process, so the stream watches the database: every ``POLL_SECONDS`` it reads the
execution and sends it when anything but the running clock changed. The first event is the
state at once; the stream ends (event ``end``) after the state of a closed run was sent, or
when the run is deleted. A comment every ``KEEPALIVE_SECONDS`` keeps proxies from closing it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from litestar.response.sse import ServerSentEventMessage

from registry.accounts.service import Principal
from registry.context import Context
from registry.errors import NotFound
from registry.executions import actions
from registry.executions import service as executions
from registry.executions.models import OPEN_STATUSES
from registry.executions.schemas import ExecutionRead

POLL_SECONDS = 0.25
TODO_POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
"""How long a browser waits before it reconnects a broken stream."""


def _fingerprint(execution: ExecutionRead) -> str:
    """The execution without the durations that grow while it runs."""
    data = execution.model_dump(mode="json", exclude={"duration_seconds"})
    for step in data["steps"]:
        step.pop("duration_seconds", None)
    return json.dumps(data, sort_keys=True)


async def execution_stream(
    ctx: Context, user: Principal, first: ExecutionRead
) -> AsyncIterator[ServerSentEventMessage]:
    """``execution`` events (the execution as ``GET /executions/{id}`` answers it), then
    ``end``. ``first`` was read (and access checked) before the stream began."""
    current = first
    seen = _fingerprint(first)
    yield ServerSentEventMessage(
        data=current.model_dump_json(), event="execution", retry=RETRY_MILLISECONDS
    )
    quiet_since = time.monotonic()
    while current.status in OPEN_STATUSES:
        await asyncio.sleep(POLL_SECONDS)
        try:
            current = await actions.read(ctx, first.id, user)
        except NotFound:
            yield ServerSentEventMessage(data=json.dumps({"reason": "deleted"}), event="end")
            return
        mark = _fingerprint(current)
        if mark != seen:
            seen = mark
            quiet_since = time.monotonic()
            yield ServerSentEventMessage(data=current.model_dump_json(), event="execution")
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ServerSentEventMessage(comment="keep-alive")
    yield ServerSentEventMessage(data=json.dumps({"status": current.status}), event="end")


async def _todo(ctx: Context, user: Principal) -> list[dict[str, Any]]:
    async with ctx.db.read() as session:
        items = await executions.todo(session, user)
    return [item.model_dump(mode="json") for item in items]


async def todo_stream(ctx: Context, user: Principal) -> AsyncIterator[ServerSentEventMessage]:
    """``todo`` events: ``{"count", "items"}`` at once and each time the list changes."""
    seen: str | None = None
    quiet_since = time.monotonic()
    while True:
        items = await _todo(ctx, user)
        mark = json.dumps(items, sort_keys=True)
        if mark != seen:
            seen = mark
            quiet_since = time.monotonic()
            yield ServerSentEventMessage(
                data=json.dumps({"count": len(items), "items": items}),
                event="todo",
                retry=RETRY_MILLISECONDS,
            )
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ServerSentEventMessage(comment="keep-alive")
        await asyncio.sleep(TODO_POLL_SECONDS)
