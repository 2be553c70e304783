"""Child-process entry point: ``gallery worker`` (``runner.worker.main``), optionally instrumented.

Run as ``python -m tests.bench.runner_worker``; settings come from ``GALLERY_*`` like the real
command. With none of the variables below it is exactly ``gallery worker``.

* ``BENCH_TRACE=path``: wraps (at run time, nothing in ``runner/`` changes) the step activity
  and its phases — taking a started sandbox (or starting one), the access check, putting the
  code in place, the arguments, sending the job, the supervised job, its output, the log
  upload, the output collection, the "running" and final record writes — the SQLite write lock
  (wait and hold), the workflow's own code, and the SDK's workflow activations and activity
  tasks; writes one JSON line per call: ``{"phase", "ms", "t"}`` (``t`` = when it ended, epoch
  seconds). The benchmark sums them per step over the measured runs.
* ``BENCH_PROFILE=path``: cProfile of the main thread (the asyncio loop that runs activities),
  dumped at exit.
* ``BENCH_SAMPLE=path``: all-threads stack sampler (``sampler.py``); workflow activations run in
  the SDK's thread pool, so this is the one that sees the workflow side.
"""

from __future__ import annotations

import cProfile
import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

_lines: list[str] = []
_lock = threading.Lock()


def _note(phase: str, started: float) -> None:
    end = time.perf_counter()
    line = json.dumps({"phase": phase, "ms": round((end - started) * 1000, 3), "t": time.time()})
    with _lock:
        _lines.append(line)


def _async(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            _note(phase, started)

    return wrapper


def _sync(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _note(phase, started)

    return wrapper


def install_temporal_trace() -> None:
    """The SDK side, the same in the floor worker: a whole workflow activation on the event
    loop (decode, run, encode), the workflow code alone (on the SDK's thread pool, inside the
    sandbox), and a whole activity task (decode the input, run, encode the result)."""
    from temporalio.worker import _activity, _workflow, _workflow_instance
    from temporalio.worker.workflow_sandbox import _runner as sandbox

    _workflow._WorkflowWorker._handle_activation = _async(  # type: ignore[method-assign]
        "workflow_activation", _workflow._WorkflowWorker._handle_activation
    )
    sandbox._Instance.activate = _sync("workflow_code", sandbox._Instance.activate)  # type: ignore[method-assign]
    # The workflow code itself, sandboxed or not (inside "workflow_code" when sandboxed).
    instance = _workflow_instance._WorkflowInstanceImpl
    instance.activate = _sync("workflow_instance", instance.activate)  # type: ignore[method-assign]
    _activity._ActivityWorker._handle_start_activity_task = _async(  # type: ignore[method-assign]
        "activity_task", _activity._ActivityWorker._handle_start_activity_task
    )


def install_trace() -> None:
    install_temporal_trace()
    import asyncio

    from registry.db import Database

    class TimedLock(asyncio.Lock):
        """The in-process SQLite write lock: time waiting for it and time holding it."""

        held_since = 0.0

        async def acquire(self) -> Literal[True]:
            started = time.perf_counter()
            got = await super().acquire()
            _note("db_write_lock_wait", started)
            self.held_since = time.perf_counter()
            return got

        def release(self) -> None:
            _note("db_write_lock_held", self.held_since)
            super().release()

    original_init = Database.__init__

    def init(self: Database, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self._write_lock is not None:
            self._write_lock = TimedLock()

    Database.__init__ = init  # type: ignore[method-assign]
    from registry.blobs.local import LocalBlobStore
    from runner import activities, launch, packages, records, steplog, steps
    from runner.steps import job

    records.Recorder.step_started = _async("record_running", records.Recorder.step_started)  # type: ignore[method-assign]
    records.Recorder.step_finished = _async("record_final", records.Recorder.step_finished)  # type: ignore[method-assign]
    records.Recorder.apply = _async("record_batch", records.Recorder.apply)  # type: ignore[method-assign]
    packages.install = _async("code_install", packages.install)
    job._link_tree = _sync("link_tree", job._link_tree)
    job._install = _sync("install", job._install)
    job._together = _async("code_and_inputs", job._together)
    launch.Sandboxes.take = _async("sandbox_take", launch.Sandboxes.take)  # type: ignore[method-assign]
    launch.Sandboxes._start = _async("sandbox_start", launch.Sandboxes._start)  # type: ignore[method-assign]
    launch.Box.send = _async("go", launch.Box.send)  # type: ignore[method-assign]
    packages._check_use = _async("access_check", packages._check_use)
    job._arguments = _async("arguments", job._arguments)
    job._supervise = _async("supervise", job._supervise)
    steplog.pump = _async("process_output", steplog.pump)
    job._collect = _async("collect", job._collect)
    LocalBlobStore.put_file = _sync("log_upload", LocalBlobStore.put_file)  # type: ignore[method-assign]
    steps.EXECUTORS["job"] = _async("executor", steps.EXECUTORS["job"])
    # The activity itself: the decorator's definition is copied along by functools.wraps and
    # the worker binds the wrapper (temporalio's _Definition.from_callable).
    activities.Activities.run_step = _async("activity", activities.Activities.run_step)  # type: ignore[method-assign]
    from runner import workflow

    flow = workflow.ExecutionWorkflow
    flow._schedule = _sync("workflow_schedule", flow._schedule)  # type: ignore[method-assign]
    flow._task = _sync("workflow_task_input", flow._task)  # type: ignore[method-assign]


def flush(path: str) -> None:
    with _lock, open(path, "w") as out:
        out.write("\n".join(_lines) + ("\n" if _lines else ""))


def main() -> int:
    from runner.worker import main as worker_main

    trace_to = os.environ.get("BENCH_TRACE")
    profile_to = os.environ.get("BENCH_PROFILE")
    sample_to = os.environ.get("BENCH_SAMPLE")
    if trace_to:
        install_trace()
    sampler = None
    if sample_to:
        from tests.bench.sampler import Sampler

        sampler = Sampler(sample_to)
        sampler.start()
    profiler = cProfile.Profile() if profile_to else None
    if profiler:
        profiler.enable()
    try:
        return worker_main([])
    finally:
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile_to))
        if sampler:
            sampler.stop()
        if trace_to:
            flush(trace_to)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
