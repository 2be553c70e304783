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

What the manual's job settings mean here (docs/sdk.md, "The manual's names"):

- a ``log`` output (``JobSpec(log_export_path=...)``) is not given to the job: when the step
  ends, also when it fails or times out, its log is copied there as ``<step>-<attempt>.log``;
- a metrics output whose location's last part ends in ``.json`` names that file (else it is a
  directory holding ``metrics.json``); the job writes it into whichever of its outputs holds
  the file's path (the manual's ``train_url/metrics.json``), or into ``--<metrics output>``;
- ``JobEngine``: jobs run on the worker's Python, so a step asking for another engine or a
  container image fails before anything is fetched, naming what it asked for;
- ``poll_interval_seconds``: how often the running step's log is shipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
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
from runner.steps import dataset
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


def _shown(value: Any) -> str:
    if isinstance(value, ir.PlaceholderRef):
        return f"the value of placeholder {value.name!r}"
    if isinstance(value, ir.LiteralValue):
        return repr(value.value)
    return "a value chosen at run time"


def _python_matches(version: str) -> bool:
    """``"3"``, ``"3.12"`` or ``"3.12.3"`` names the worker's Python when its parts lead it."""
    have = platform.python_version().split(".")
    want = version.strip().lower().removeprefix("python").strip().split(".")
    return bool(want) and have[: len(want)] == want


def engine_problem(step: str, algorithm: ir.AlgorithmSpec) -> str | None:
    """Why this runner cannot give the job what its JobEngine asks for, or None. It runs jobs
    on the worker's own Python, the built-in engine (``JobEngine(engine_name="python")``,
    optionally with a version the worker's Python has); there is no container runtime."""
    engine = algorithm.engine or ir.EngineSpec()
    here = (
        f"this runner has no container runtime: jobs run on the worker's Python "
        f"{platform.python_version()}; remove the engine, or write "
        f"JobEngine(engine_name={ir.BUILTIN_ENGINE!r})"
    )
    image = engine.image or (
        ir.LiteralValue(value=algorithm.image) if algorithm.image is not None else None
    )
    if image is not None:
        return f"step {step!r} asks for the container image {_shown(image)}; {here}"
    if engine.id is not None:
        return f"step {step!r} asks for the engine with id {_shown(engine.id)}; {here}"
    name, version = engine.name, engine.version
    if name is None and version is None:
        return None
    builtin = isinstance(name, ir.LiteralValue) and (
        str(name.value).strip().lower() == ir.BUILTIN_ENGINE
    )
    if not builtin:
        asked = " ".join(_shown(v) for v in (name, version) if v is not None)
        return f"step {step!r} asks for the engine {asked}; {here}"
    if version is None:
        return None
    if isinstance(version, ir.LiteralValue) and _python_matches(str(version.value)):
        return None
    return (
        f"step {step!r} asks for Python {_shown(version)}, and this worker runs Python "
        f"{platform.python_version()}"
    )


def _kinds(task: StepTask) -> dict[str, str]:
    return {o.name: o.kind for o in task.step.outputs}


def _written(task: StepTask) -> dict[str, str]:
    """The outputs the job writes: all but the log export."""
    kinds = _kinds(task)
    return {name: path for name, path in task.outputs.items() if kinds.get(name) != "log"}


def _log_name(task: StepTask) -> str:
    return next(o.name for o in task.step.outputs if o.kind == "log")


def _log_export(ctx: StepContext, task: StepTask) -> str | None:
    """The directory the step's log is copied to when it ends (checked before the job runs)."""
    kinds = _kinds(task)
    for name, path in task.outputs.items():
        if kinds.get(name) == "log":
            try:
                objects.key_of(path, ctx.tenant.namespace)
            except objects.ObjectPathError as exc:
                raise StepFailure(f"log_export_path: {exc}", non_retryable=True) from None
            return path if path.endswith("/") else path + "/"
    return None


async def _export_log(ctx: StepContext, task: StepTask, log_path: Path, directory: str) -> None:
    """The step's log, as it ended, copied to ``<directory><step>-<attempt>.log``."""
    key = objects.key_of(f"{directory}{task.step.name}-{ctx.attempt}.log", ctx.tenant.namespace)

    def copy() -> None:
        if log_path.is_file():
            ctx.blobs.put_file(key, log_path)

    await asyncio.to_thread(copy)


async def run(ctx: StepContext, task: StepTask) -> Outcome:
    props = task.step.typed_properties()
    assert isinstance(props, ir.JobProperties)
    if ctx.sandbox.problem is not None:
        raise StepFailure(f"this worker {ctx.sandbox.describe()}", non_retryable=True)
    algorithm = props.algorithm
    problem = engine_problem(task.step.name, algorithm)
    if problem is not None:
        raise StepFailure(problem, non_retryable=True)
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
    export = _log_export(ctx, task)
    outputs = [job / "outputs" / name for name in _written(task)]
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
    try:
        code_ = await _supervise(
            ctx,
            box,
            launch.script(argv, env, place.view(run_dir)),
            log_path,
            "\n".join(header) + "\n",
            task.timeout_seconds,
            task.step.policy.poll_interval_seconds,
        )
        if code_ != 0:
            raise StepFailure(
                f"step {task.step.name!r} exited with code {code_}; last lines:\n"
                + steplog.tail(log_path)
            )
        found, metrics, floats = await _collect(ctx, task, job)
    except BaseException as exc:
        if export is not None:  # a failed, timed-out or stopped step's log is exported too
            with contextlib.suppress(Exception):
                await asyncio.shield(_export_log(ctx, task, log_path, export))
                if isinstance(exc, StepFailure):
                    exc.outputs[_log_name(task)] = export
        raise
    if export is not None:
        try:
            await _export_log(ctx, task, log_path, export)
        except Exception as exc:
            raise StepFailure(
                f"log_export_path: copying the log to {export} failed: {exc}"
            ) from None
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
        elif value.kind in ("model", "dataset"):
            local = work / "inputs" / name
            where = f"input {name!r}"
            pin = (
                str(value.value)
                if value.kind == "model"
                else await dataset.dataset_pin(ctx, value.kind, value.value, where)
            )
            await packages.install_version(ctx, pin, local, f"{where}: {value.kind} {pin}")
            args.append(f"--{name}={place.view(local)}")
        else:
            args.append(f"--{name}={_text(value.value)}")
    for name, parameter in task.parameters.items():
        args.append(f"--{name}={_text(parameter)}")
    for name in _written(task):  # made by the caller
        args.append(f"--{name}={place.view(work / 'outputs' / name)}")
    return args


async def _supervise(
    ctx: StepContext,
    box: Box,
    script: bytes,
    log_path: Path,
    header: str,
    limit_seconds: float,
    ship_every: float,
) -> int:
    process = box.process
    pump: asyncio.Task[None] | None = None
    steplog.start(log_path, header)
    # the header goes up while the job starts, then the log every ship_every seconds
    shipper = steplog.Shipper(ctx, log_path, ship_every)
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


def metrics_file(location: str) -> str:
    """The object path of a metrics output's file: its location when the last part ends in
    ``.json`` (the manual's ``storage.join("out/metrics.json", create_dir=False)``; the
    runner hands locations over as directories, with a final ``/``), else ``metrics.json``
    inside it."""
    bare = location.rstrip("/")
    if bare.rsplit("/", 1)[-1].endswith(".json"):
        return bare
    return f"{bare}/metrics.json"


def _below(base: Path, relative: str) -> Path | None:
    """``base / relative`` when every directory on the way is a real one the job made (no
    link out of its outputs, no ``..``); None otherwise."""
    parts = relative.split("/")
    if not relative or any(p in ("", ".", "..") for p in parts):
        return None
    here = base
    for part in parts[:-1]:
        here = here / part
        try:
            if not stat.S_ISDIR(os.lstat(here).st_mode):
                return None
        except OSError:
            return None
    return here / parts[-1]


def _metrics_places(
    name: str, file: str, written: dict[str, str], work: Path
) -> list[tuple[str, Path]]:
    """Where the job may have written a metrics output's file, as (output, local path): inside
    another output whose directory holds the file's path (the manual writes ``metrics.json``
    into ``train_url``), then in the metrics output's own directory."""
    places = []
    for other, directory in sorted(written.items(), key=lambda item: -len(item[1])):
        if other != name and file.startswith(directory):
            local = _below(work / "outputs" / other, file[len(directory) :])
            if local is not None:
                places.append((other, local))
    own = written[name]
    relative = file[len(own) :] if file.startswith(own) else file.rsplit("/", 1)[-1]
    local = _below(work / "outputs" / name, relative)
    if local is not None:
        places.append((name, local))
    return places


async def _collect(
    ctx: StepContext, task: StepTask, work: Path
) -> tuple[dict[str, str], dict[str, Any], dict[str, dict[str, float]]]:
    metrics: dict[str, Any] = {}
    floats: dict[str, dict[str, float]] = {}
    kinds = _kinds(task)
    written = _written(task)
    found = dict(task.outputs)
    files: dict[str, tuple[str, Path]] = {}  # a metrics file named by its output, to upload
    for name in written:
        if kinds.get(name) != "metrics":
            continue
        file = metrics_file(written[name])
        places = _metrics_places(name, file, written, work)
        raw, where = None, ""
        for owner, local in places:
            raw = _read_plain(local, metrics_rules.MAX_BYTES + 1)
            if raw is not None:
                where = f"{owner}/{local.relative_to(work / 'outputs' / owner).as_posix()}"
                if owner == name and not file.startswith(written[name]):
                    files[name] = (file, local)
                break
        if raw is None:
            into = " or ".join(f"--{owner}" for owner, _ in places) or f"--{name}"
            wanted = file.rsplit("/", 1)[-1]
            raise StepFailure(
                f"step {task.step.name!r} wrote no {wanted} into {into} (metrics output "
                f"{name!r}, {file})",
                non_retryable=True,
            )
        try:
            entries = metrics_rules.parse(raw)
        except metrics_rules.MetricsError as exc:
            raise StepFailure(
                f"step {task.step.name!r}: {where}: {exc}", non_retryable=True
            ) from None
        metrics[name] = entries
        floats[name] = {
            e["key"]: float(e["data"]["value"]) for e in entries if e["type"] == "float"
        }
        if not file.startswith(written[name]):
            found[name] = file  # the output is that file, not a directory
    for name, path in written.items():
        try:
            if name in files:
                target, local = files[name]
                key = objects.key_of(target, ctx.tenant.namespace)
                await asyncio.to_thread(ctx.blobs.put_file, key, local)
            elif kinds.get(name) != "metrics" or metrics_file(path).startswith(path):
                await asyncio.to_thread(
                    objects.upload, ctx.blobs, work / "outputs" / name, path, ctx.tenant.namespace
                )
        except objects.ObjectPathError as exc:
            raise StepFailure(f"output {name!r}: {exc}", non_retryable=True) from None
    return found, metrics, floats


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
