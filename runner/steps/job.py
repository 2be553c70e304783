"""JobStep: run an algorithm as a sandboxed subprocess in a fresh working directory.

Inputs are downloaded and passed as ``--<input>=<local path>``, parameters as
``--<name>=<value>``, outputs as ``--<output>=<local dir>`` and uploaded afterwards. Output is
streamed to a log object while the process runs; ``metrics.json`` in a metrics output is
validated and stored. The process runs in the sandbox (:mod:`runner.sandbox`) with a clean
environment and its flavor's limits; it is killed, with everything it started, on timeout, on
stop, on cancellation, when its worker dies, and once the main process exits.

The working directory (``/job`` inside the sandbox) holds ``code/`` (the current directory),
``inputs/<name>``, ``outputs/<name>`` and ``tmp/`` (``/tmp``); the log is kept outside it, so
the job cannot write to it except through its output.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from registry.settings import StepLimits
from runner import launch, objects, packages, steplog
from runner.launch import Box
from runner.messages import StepTask
from runner.sandbox import INSIDE, PATH, Placement, Sandbox
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk import metrics as metrics_rules
from sdk import spec as ir

KILL_GRACE_SECONDS = 5.0


SHELL_SYNTAX = set("|&;<>()$`\\\"'*?[#~=%{}\n")


def _command(command: str, args: list[str]) -> list[str]:
    """A plain command line runs directly; anything with shell syntax runs under ``sh -c``."""
    if SHELL_SYNTAX.isdisjoint(command):
        return [*shlex.split(command), *args]
    return ["/bin/sh", "-c", f"{command} {shlex.join(args)}"]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _limits(ctx: StepContext, task: StepTask) -> StepLimits:
    """The step's flavor's limits from this worker's settings, or the default ones."""
    if task.flavor is not None and task.flavor in ctx.settings.flavors:
        return ctx.settings.flavors[task.flavor]
    return ctx.settings.step_limits


def _environment(
    task: StepTask, algorithm: ir.AlgorithmSpec, attempt: int, home: str
) -> dict[str, str]:
    """Only what the step is given: never the worker's own environment (its secrets)."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{PATH}",
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        **algorithm.environments,
        "PYTHONUNBUFFERED": "1",
        "GALLERY_EXECUTION_ID": task.execution_id,
        "GALLERY_STEP": task.step.name,
        "GALLERY_ATTEMPT": str(attempt),
    }


async def run(ctx: StepContext, task: StepTask) -> Outcome:
    props = task.step.typed_properties()
    assert isinstance(props, ir.JobProperties)
    if ctx.sandbox.problem is not None:
        raise StepFailure(f"this worker {ctx.sandbox.describe()}", non_retryable=True)
    algorithm = props.algorithm
    limits = _limits(ctx, task)
    # A sandbox started ahead waits for the job (runner.launch); or one starts now and sets
    # itself up while the code is checked, fetched and linked and the inputs downloaded.
    try:
        box = await ctx.boxes.take(task.step.name, limits, task.timeout_seconds)
    except OSError as exc:
        raise StepFailure(f"cannot start the step's sandbox: {exc}", non_retryable=True) from None
    try:
        return await _run(ctx, task, algorithm, limits, box)
    finally:
        if box.alive():  # the step ended before its job started: the sandbox goes unused
            await box.discard()
        ctx.boxes.done(box)  # its directory goes after the step has answered


async def _run(
    ctx: StepContext, task: StepTask, algorithm: ir.AlgorithmSpec, limits: StepLimits, box: Box
) -> Outcome:
    sandbox = ctx.sandbox
    job = box.job
    run_dir = job / "code"
    place = Placement(job, INSIDE if sandbox.enabled else job)
    outputs = [job / "outputs" / name for name in task.outputs]
    for folder in outputs:
        folder.mkdir()
    notes: list[str] = []

    async def put(tree: Path) -> None:
        await asyncio.to_thread(_install, sandbox, tree, place, box.uid, outputs)

    async def code() -> None:
        await packages.install(ctx, algorithm, put)

    _, args = await _together(
        asyncio.ensure_future(code()),
        asyncio.ensure_future(_arguments(ctx, task, job, place, notes)),
    )
    if algorithm.boot_file:
        argv = [sys.executable, place.view(run_dir / algorithm.boot_file), *args]
    else:
        assert algorithm.command
        argv = _command(algorithm.command, args)
    env = _environment(task, algorithm, ctx.attempt, place.view(job / "tmp"))
    header = [
        f"gallery: step {task.step.name!r}, attempt {ctx.attempt}, on "
        f"{socket.gethostname()}; {_sandbox_note(sandbox, limits, box.uid)}",
        *notes,
        "gallery: $ " + shlex.join(argv),
    ]
    log_path = box.work / "step.log"
    code_ = await _supervise(
        ctx,
        box,
        launch.script(argv, env, place.view(run_dir)),
        log_path,
        "\n".join(header) + "\n",
        task.timeout_seconds,
    )
    if code_ != 0:
        raise StepFailure(
            f"step {task.step.name!r} exited with code {code_}; last lines:\n"
            + steplog.tail(log_path)
        )
    found, metrics, floats = await _collect(ctx, task, job)
    return Outcome(outputs=found, metrics=metrics, floats=floats)


def _install(
    sandbox: Sandbox, tree: Path, place: Placement, uid: int, writable: list[Path]
) -> None:
    """The step's private copy of the code, and its writable directories opened to its uid
    (the sandbox's own directories were opened to it when it was made)."""
    run_dir = place.host / "code"
    _link_tree(tree, run_dir, sandbox.mode != "userns")
    sandbox.prepare(place, uid, [*writable, *_dirs(run_dir)])


async def _together(*tasks: asyncio.Future[Any]) -> list[Any]:
    """Wait for all; the first failure cancels the others and is raised as it is."""
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        await _cancel(tasks)
    for t in tasks:
        error = None if t.cancelled() else t.exception()
        if error is not None:
            raise error
    return [t.result() for t in tasks]


async def _cancel(tasks: Sequence[asyncio.Future[Any]]) -> None:
    pending = [t for t in tasks if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending)


def _sandbox_note(sandbox: Sandbox, limits: StepLimits, uid: int) -> str:
    if not sandbox.enabled:
        return "UNSANDBOXED (GALLERY_UNSAFE_NO_SANDBOX)"
    who = f"uid {uid}" if sandbox.mode == "root" else "a user namespace"
    net = "network" if limits.network else "no network"
    return f"sandboxed as {who}, {net}, memory {limits.memory_mb} MiB"


def _dirs(root: Path) -> list[Path]:
    """``root`` and every directory below it (the step may add files to its code copy)."""
    found = [root]
    for path, dirs, _ in os.walk(root):
        found += [Path(path) / d for d in dirs]
    return found


async def _arguments(
    ctx: StepContext, task: StepTask, work: Path, place: Placement, notes: list[str]
) -> list[str]:
    args: list[str] = []
    for name, value in task.inputs.items():
        if value.kind == "path":
            assert value.path is not None
            try:
                local = await asyncio.to_thread(
                    objects.download,
                    ctx.blobs,
                    value.path,
                    work / "inputs" / name,
                    ctx.tenant.namespace,
                )
            except objects.ObjectPathError as exc:
                raise StepFailure(f"input {name!r}: {exc}", non_retryable=True) from None
            except FileNotFoundError:
                raise StepFailure(
                    f"input {name!r}: nothing is stored at {value.path}", non_retryable=True
                ) from None
            if local.is_dir() and not any(local.iterdir()):
                notes.append(f"gallery: input {name!r}: nothing is stored at {value.path}")
            args.append(f"--{name}={place.view(local)}")
        else:
            args.append(f"--{name}={_text(value.value)}")
    for name, parameter in task.parameters.items():
        args.append(f"--{name}={_text(parameter)}")
    for name in task.outputs:  # made by the caller
        args.append(f"--{name}={place.view(work / 'outputs' / name)}")
    return args


async def _supervise(
    ctx: StepContext,
    box: Box,
    script: bytes,
    log_path: Path,
    header: str,
    limit_seconds: float,
) -> int:
    process = box.process
    pump: asyncio.Task[None] | None = None
    steplog.start(log_path, header)
    shipper = steplog.Shipper(ctx, log_path)  # the header goes up while the job starts
    try:
        try:
            await box.send(script)
            ctx.boxes.going(box)
            # After the header: what the sandbox said while it was set up (if that went
            # wrong), then the job's output.
            said = await box.said()
            pump = asyncio.create_task(
                steplog.pump(process, log_path, ctx.settings.step_log_bytes, said)
            )
            async with asyncio.timeout(limit_seconds):
                return await process.wait()
        except TimeoutError:
            await _kill_group(process)
            with log_path.open("a") as handle:
                handle.write(f"\ngallery: stopped after the {limit_seconds / 60:g}-minute limit\n")
            raise StepFailure(
                f"timed out after {limit_seconds / 60:g} minutes (max_execution_minutes)",
                non_retryable=True,
            ) from None
        except asyncio.CancelledError:
            await _kill_group(process)
            with log_path.open("a") as handle:
                handle.write("\ngallery: stopped\n")
            raise
    finally:
        _kill_leftovers(process.pid)
        if pump is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await pump
        await shipper.close()


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the whole group, SIGKILL after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), KILL_GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _kill_leftovers(pgid: int) -> None:
    """Whatever the job left running in its group goes with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def _collect(
    ctx: StepContext, task: StepTask, work: Path
) -> tuple[dict[str, str], dict[str, Any], dict[str, dict[str, float]]]:
    metrics: dict[str, Any] = {}
    floats: dict[str, dict[str, float]] = {}
    kinds = {o.name: o.kind for o in task.step.outputs}
    for name in task.outputs:
        if kinds.get(name) != "metrics":
            continue
        found = work / "outputs" / name / "metrics.json"
        raw = _read_plain(found, metrics_rules.MAX_BYTES + 1)
        if raw is None:
            raise StepFailure(
                f"step {task.step.name!r} wrote no metrics.json into --{name}", non_retryable=True
            )
        try:
            entries = metrics_rules.parse(raw)
        except metrics_rules.MetricsError as exc:
            raise StepFailure(
                f"step {task.step.name!r}: {name}/metrics.json: {exc}", non_retryable=True
            ) from None
        metrics[name] = entries
        floats[name] = {
            e["key"]: float(e["data"]["value"]) for e in entries if e["type"] == "float"
        }
    for name, path in task.outputs.items():
        try:
            await asyncio.to_thread(
                objects.upload, ctx.blobs, work / "outputs" / name, path, ctx.tenant.namespace
            )
        except objects.ObjectPathError as exc:
            raise StepFailure(f"output {name!r}: {exc}", non_retryable=True) from None
    return dict(task.outputs), metrics, floats


def _read_plain(path: Path, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of a regular file the job wrote, or None when there is none.

    The job is finished but was hostile: a symbolic link (to the worker's secrets) or a FIFO
    (which would block the worker) in its place is not followed or opened for reading.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(limit)


def _link_tree(source: Path, target: Path, link: bool) -> None:
    """A private copy of the code. Hard links where the job runs as another user than the
    cache's owner (cheap, and it cannot write into the shared files); real copies otherwise,
    so a job can never change the cached code other steps will run."""

    def hard_link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(
        source, target, copy_function=hard_link if link else shutil.copy2, dirs_exist_ok=True
    )
