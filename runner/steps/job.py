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
import tempfile
from pathlib import Path
from typing import Any

from registry.settings import StepLimits
from runner import objects, packages, steplog
from runner.messages import StepTask
from runner.sandbox import INSIDE, PATH, Placement, Sandbox
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk import metrics as metrics_rules
from sdk import spec as ir

KILL_GRACE_SECONDS = 5.0


SETPRIV = shutil.which("setpriv")


def _with_parent(argv: list[str]) -> list[str]:
    """Unsandboxed (GALLERY_UNSAFE_NO_SANDBOX): the job gets SIGKILL if the worker that started
    it dies (in the sandbox, bwrap's --die-with-parent does this).

    ``setpriv --pdeathsig`` (util-linux) sets it and execs the job, so the worker can start the
    process without a Python ``preexec_fn``, which would force a slow fork of the whole worker
    and block its event loop for ~10 ms per step.
    """
    if SETPRIV is None:
        return argv
    return [SETPRIV, "--pdeathsig", "KILL", "--", *argv]


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
    sandbox = ctx.sandbox
    if sandbox.problem is not None:
        raise StepFailure(f"this worker {sandbox.describe()}", non_retryable=True)
    work = Path(tempfile.mkdtemp(prefix=f"{task.step.name}-", dir=ctx.work_root))
    log_path = work / "step.log"
    job = work / "job"
    place = Placement(job, INSIDE if sandbox.enabled else job)
    try:
        for part in ("tmp", "inputs", "outputs"):
            (job / part).mkdir(parents=True)
        run_dir = job / "code"
        async with packages.code_dir(ctx, props.algorithm) as code:  # held while it is copied
            await asyncio.to_thread(_link_tree, code, run_dir, sandbox.mode != "userns")
        notes: list[str] = []
        args = await _arguments(ctx, task, job, place, notes)
        algorithm = props.algorithm
        if algorithm.boot_file:
            argv = [sys.executable, place.view(run_dir / algorithm.boot_file), *args]
        else:
            assert algorithm.command
            argv = _command(algorithm.command, args)
        limits = _limits(ctx, task)
        env = _environment(task, algorithm, ctx.attempt, place.view(job / "tmp"))
        with sandbox.claim() as uid:
            writable = [job, job / "tmp", *_dirs(run_dir), *(job / "outputs").iterdir()]
            await asyncio.to_thread(sandbox.prepare, place, uid, writable)
            header = [
                f"gallery: step {task.step.name!r}, attempt {ctx.attempt}, on "
                f"{socket.gethostname()}; {_sandbox_note(sandbox, limits, uid)}",
                *notes,
                "gallery: $ " + shlex.join(argv),
            ]
            log_path.write_text("\n".join(header) + "\n")
            full = sandbox.command(
                argv,
                place=place,
                limits=limits,
                env=env,
                uid=uid,
                timeout_seconds=task.timeout_seconds,
                cwd=run_dir,
            )
            if not sandbox.enabled:
                full = _with_parent(full)
            code_ = await _supervise(ctx, full, run_dir, env, log_path, task.timeout_seconds)
        if code_ != 0:
            raise StepFailure(
                f"step {task.step.name!r} exited with code {code_}; last lines:\n"
                + steplog.tail(log_path)
            )
        outputs, metrics, floats = await _collect(ctx, task, job)
        return Outcome(outputs=outputs, metrics=metrics, floats=floats)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


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
    for name in task.outputs:
        local = work / "outputs" / name
        local.mkdir(parents=True)
        args.append(f"--{name}={place.view(local)}")
    return args


async def _supervise(
    ctx: StepContext,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    limit_seconds: float,
) -> int:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise StepFailure(f"cannot start {argv[0]!r}: {exc}", non_retryable=True) from None
    pump = asyncio.create_task(steplog.pump(process, log_path, ctx.settings.step_log_bytes))
    shipper = asyncio.create_task(steplog.ship(ctx, log_path))
    try:
        try:
            return await asyncio.wait_for(process.wait(), limit_seconds)
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
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pump, 5)
        shipper.cancel()
        with contextlib.suppress(BaseException):
            await shipper
        await steplog.ship_final(ctx, log_path)


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

    shutil.copytree(source, target, copy_function=hard_link if link else shutil.copy2)
