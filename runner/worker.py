"""``gallery worker``: run execution workflows and step activities.

One worker polls the default task queue for workflows and steps; ``--queue`` adds task queues
for steps only (resource flavors map to queues through ``GALLERY_FLAVOR_QUEUES``), so other
machines can serve the steps that need them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from registry.blobs import open_blob_store
from registry.db import Database
from registry.logs import logging_config
from registry.settings import Settings
from runner import launch
from runner.activities import Activities
from runner.services import Processes, Supervisor
from runner.steps.service import set_processes
from runner.workflow import ExecutionWorkflow
from sdk import spec as ir


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.resolved_temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


def build_workers(
    client: Client,
    activities: Activities,
    *,
    task_queue: str = ir.DEFAULT_TASK_QUEUE,
    queues: Sequence[str] = (),
    workflows: bool = True,
    slots: int = 32,
) -> list[Worker]:
    """A worker for the default queue (workflows and steps) and one per extra step queue."""
    workers = []
    steps: list[Callable[..., Any]] = [activities.run_step, activities.record]
    if workflows:
        workers.append(
            Worker(
                client,
                task_queue=task_queue,
                workflows=[ExecutionWorkflow],
                activities=steps,
                max_concurrent_activities=slots,
            )
        )
    for queue in queues:
        if queue == task_queue and workflows:
            continue
        workers.append(
            Worker(client, task_queue=queue, activities=steps, max_concurrent_activities=slots)
        )
    return workers


def _watch_children_with_pidfds() -> None:
    """Python 3.11 waits for every child process on a thread of its own, started per step; a
    pidfd in the event loop does it without one (and is the default from Python 3.12)."""
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(asyncio.get_running_loop())
        asyncio.set_child_watcher(watcher)


async def serve(settings: Settings, *, queues: Sequence[str] = (), workflows: bool = True) -> None:
    _watch_children_with_pidfds()
    db = Database(settings.resolved_database_url)
    activities = Activities(db, open_blob_store(settings), settings, spares=launch.SPARES)
    client = await _connect_with_retry(settings)
    workers = build_workers(
        client,
        activities,
        task_queue=settings.task_queue,
        queues=queues,
        workflows=workflows,
        slots=settings.worker_slots,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    # Deployed services on this machine: re-adopted or restarted now, then supervised.
    processes = Processes(settings, activities.sandbox)
    set_processes(processes)
    supervising = asyncio.create_task(Supervisor(db, settings, processes).run())
    names = ", ".join(w.task_queue for w in workers)
    print(f"Gallery worker polling {names} on {settings.resolved_temporal_address}", flush=True)
    print(f"Gallery worker: {activities.sandbox.describe()}", flush=True)
    try:
        async with contextlib.AsyncExitStack() as stack:
            for worker in workers:
                await stack.enter_async_context(worker)
            await stop.wait()
    finally:
        supervising.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervising
        await activities.stop()
        await db.dispose()


async def _connect_with_retry(settings: Settings, seconds: float = 60.0) -> Client:
    """The embedded Temporal server may still be starting: wait for it a while."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await connect(settings)
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery worker", description="Run execution workflows and their steps."
    )
    parser.add_argument(
        "--queue",
        action="append",
        default=[],
        help="also run steps from this task queue (repeatable)",
    )
    parser.add_argument(
        "--steps-only",
        action="store_true",
        help="run steps only (from --queue), no workflow tasks",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    logging_config(settings.log_format, settings.log_level).configure()
    if args.steps_only and not args.queue:
        print("error: --steps-only needs at least one --queue", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings, queues=args.queue, workflows=not args.steps_only))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # one clear line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
