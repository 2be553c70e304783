"""The floor for ``make bench-runner``: minimal hand-written Temporal workflows, no Gallery.

Run as a child process of the benchmark (so, like ``gallery worker``, it has its own GIL):

    python -m tests.bench.runner_floor ADDRESS TASK_QUEUE [SLOTS]

It hosts three workflows and two no-op activities on one task queue, with the same worker
settings ``gallery worker`` uses (default sandbox, ``max_concurrent_activities=SLOTS``):

* ``FloorChain(n, activity)``: ``n`` activities one after another;
* ``FloorFan(width, activity)``: one activity, ``width`` in parallel, one more;
* ``FloorWait(activity)``: waits for the ``go`` signal (or the ``go`` update), then runs one
  activity. Used for the signal latency: send → activity started.

Activities: ``noop`` returns at once; ``spawn_true`` spawns ``/bin/true`` as a subprocess and
waits for it (the cost any subprocess-per-step runner pays); ``spawn_sandboxed`` spawns it in
Gallery's step sandbox (``runner.sandbox``: prlimit, bwrap, setpriv, a claimed uid, as a job
gets it), so the difference to ``spawn_true`` is what the sandbox costs per step. All return
``time.time()`` taken when the activity started, so the client can place activity starts on the
wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=120)


@dataclass
class Args:
    n: int = 20
    activity: str = "noop"


@activity.defn(name="noop")
async def noop() -> float:
    return time.time()


@activity.defn(name="spawn_true")
async def spawn_true() -> float:
    started = time.time()
    process = await asyncio.create_subprocess_exec(
        "/bin/true", stdin=asyncio.subprocess.DEVNULL, start_new_session=True
    )
    await process.wait()
    return started


_SANDBOX: dict[str, object] = {}


@activity.defn(name="spawn_sandboxed")
async def spawn_sandboxed() -> float:
    from registry.settings import Settings, StepLimits
    from runner.sandbox import PATH, Sandbox

    started = time.time()
    sandbox = _SANDBOX.get("box")
    if sandbox is None:
        import tempfile

        data = tempfile.mkdtemp(prefix="floor-sandbox-")
        sandbox = _SANDBOX["box"] = Sandbox.from_settings(Settings(data_dir=data))
    assert isinstance(sandbox, Sandbox)
    with sandbox.claim() as uid:
        argv = sandbox.command(
            ["/bin/true"],
            place=None,
            limits=StepLimits(),
            env={"PATH": PATH},
            uid=uid,
            timeout_seconds=60,
        )
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, start_new_session=True, env={"PATH": PATH}
        )
        await process.wait()
    return started


@workflow.defn(name="FloorChain")
class FloorChain:
    @workflow.run
    async def run(self, args: Args) -> list[float]:
        stamps = []
        for _ in range(args.n):
            stamp: float = await workflow.execute_activity(
                args.activity, start_to_close_timeout=TIMEOUT, result_type=float
            )
            stamps.append(stamp)
        return stamps


@workflow.defn(name="FloorFan")
class FloorFan:
    @workflow.run
    async def run(self, args: Args) -> list[float]:
        def one() -> workflow.ActivityHandle[float]:
            return workflow.start_activity(
                args.activity, start_to_close_timeout=TIMEOUT, result_type=float
            )

        first = await one()
        middle = await asyncio.gather(*(one() for _ in range(args.n)))
        last = await one()
        return [first, *middle, last]


@workflow.defn(name="FloorWait")
class FloorWait:
    def __init__(self) -> None:
        self.go = False

    @workflow.run
    async def run(self, args: Args) -> float:
        await workflow.wait_condition(lambda: self.go)
        stamp: float = await workflow.execute_activity(
            args.activity, start_to_close_timeout=TIMEOUT, result_type=float
        )
        return stamp

    @workflow.signal(name="go")
    def go_signal(self) -> None:
        self.go = True

    @workflow.update(name="go")
    async def go_update(self) -> str:
        self.go = True
        return "ok"


async def serve(address: str, queue: str, slots: int) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    deadline = time.monotonic() + 60
    while True:  # the dev server listens before its frontend is healthy
        try:
            client = await Client.connect(address)
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[FloorChain, FloorFan, FloorWait],
        activities=[noop, spawn_true, spawn_sandboxed],
        max_concurrent_activities=slots,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(f"floor worker polling {queue} on {address}", flush=True)
        await stop.wait()


def main(argv: list[str]) -> int:
    import os

    address, queue = argv[0], argv[1]
    slots = int(argv[2]) if len(argv) > 2 else 32
    trace_to = os.environ.get("BENCH_TRACE")  # the SDK-side phases, as in runner_worker.py
    if trace_to:
        from tests.bench import runner_worker

        runner_worker.install_temporal_trace()
    try:
        asyncio.run(serve(address, queue, slots))
    finally:
        if trace_to:
            runner_worker.flush(trace_to)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
