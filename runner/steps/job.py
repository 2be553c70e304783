"""JobStep: run an algorithm as a subprocess in a fresh working directory.

Inputs are downloaded and passed as ``--<input>=<local path>``, parameters as
``--<name>=<value>``, outputs as ``--<output>=<local dir>`` and uploaded afterwards. Output is
streamed to a log object while the process runs; ``metrics.json`` in a metrics output is
validated and stored. The process runs in its own process group, which is killed on timeout,
on stop and on cancellation, and once the main process exits, so nothing keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from temporalio import activity

from registry.assets.models import Asset, AssetVersion
from registry.blobs import BlobNotFound
from runner import objects
from runner.messages import StepTask
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk import metrics as metrics_rules
from sdk import spec as ir

LOG_UPLOAD_SECONDS = 2.0
HEARTBEAT_SECONDS = 1.0
KILL_GRACE_SECONDS = 5.0
TAIL_LINES = 8
# "algorithm <content id>@<version>" → (package blob key, sha256), per worker process.
_PACKAGES: dict[str, tuple[str, str]] = {}


SETPRIV = shutil.which("setpriv")


def _with_parent(argv: list[str]) -> list[str]:
    """Linux: the job gets SIGKILL if the worker that started it dies.

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


async def run(ctx: StepContext, task: StepTask) -> Outcome:
    props = task.step.typed_properties()
    assert isinstance(props, ir.JobProperties)
    work = Path(tempfile.mkdtemp(prefix=f"{task.step.name}-", dir=ctx.work_root))
    log_path = work / "step.log"
    try:
        code = await _code(ctx, props.algorithm)
        run_dir = work / "code"
        await asyncio.to_thread(_link_tree, code, run_dir)
        notes: list[str] = []
        args = await _arguments(ctx, task, work, notes)
        algorithm = props.algorithm
        if algorithm.boot_file:
            argv = [sys.executable, str(run_dir / algorithm.boot_file), *args]
        else:
            assert algorithm.command
            argv = _command(algorithm.command, args)
        env = {
            **os.environ,
            **algorithm.environments,
            "PYTHONUNBUFFERED": "1",
            "GALLERY_EXECUTION_ID": task.execution_id,
            "GALLERY_STEP": task.step.name,
            "GALLERY_ATTEMPT": str(ctx.attempt),
        }
        header = [
            f"gallery: step {task.step.name!r}, attempt {ctx.attempt}, on {socket.gethostname()}",
            *notes,
            "gallery: $ " + shlex.join(argv),
        ]
        log_path.write_text("\n".join(header) + "\n")
        code_ = await _supervise(ctx, argv, run_dir, env, log_path, task.timeout_seconds)
        if code_ != 0:
            raise StepFailure(
                f"step {task.step.name!r} exited with code {code_}; last lines:\n" + _tail(log_path)
            )
        outputs, metrics, floats = await _collect(ctx, task, work)
        return Outcome(outputs=outputs, metrics=metrics, floats=floats)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


async def _arguments(ctx: StepContext, task: StepTask, work: Path, notes: list[str]) -> list[str]:
    args: list[str] = []
    for name, value in task.inputs.items():
        if value.kind == "path":
            assert value.path is not None
            try:
                local = await asyncio.to_thread(
                    objects.download, ctx.blobs, value.path, work / "inputs" / name
                )
            except objects.ObjectPathError as exc:
                raise StepFailure(f"input {name!r}: {exc}", non_retryable=True) from None
            except FileNotFoundError:
                raise StepFailure(
                    f"input {name!r}: nothing is stored at {value.path}", non_retryable=True
                ) from None
            if local.is_dir() and not any(local.iterdir()):
                notes.append(f"gallery: input {name!r}: nothing is stored at {value.path}")
            args.append(f"--{name}={local}")
        else:
            args.append(f"--{name}={_text(value.value)}")
    for name, parameter in task.parameters.items():
        args.append(f"--{name}={_text(parameter)}")
    for name in task.outputs:
        local = work / "outputs" / name
        local.mkdir(parents=True)
        args.append(f"--{name}={local}")
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
            *_with_parent(argv),
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise StepFailure(f"cannot start {argv[0]!r}: {exc}", non_retryable=True) from None
    pump = asyncio.create_task(_pump(process, log_path))
    shipper = asyncio.create_task(_ship_log(ctx, log_path))
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
        if _size(log_path) >= 0:
            await asyncio.to_thread(ctx.blobs.put_file, ctx.log_key, log_path)


def _size(path: Path) -> int:
    """The file's size, or -1 when it does not exist."""
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


async def _pump(process: asyncio.subprocess.Process, log_path: Path) -> None:
    assert process.stdout is not None
    with log_path.open("ab") as handle:
        while chunk := await process.stdout.read(65536):
            handle.write(chunk)
            handle.flush()


async def _ship_log(ctx: StepContext, log_path: Path) -> None:
    """Upload the log while the step runs (readable from the API) and heartbeat."""
    shipped = -1
    last_upload = time.monotonic()
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        if activity.in_activity():
            activity.heartbeat()
        if time.monotonic() - last_upload >= LOG_UPLOAD_SECONDS:
            size = _size(log_path)
            if size != shipped:
                await asyncio.to_thread(ctx.blobs.put_file, ctx.log_key, log_path)
                shipped = size
            last_upload = time.monotonic()


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


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    body = [line for line in lines if not line.startswith("gallery: ")]
    return "\n".join(body[-TAIL_LINES:])


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
        if not found.is_file():
            raise StepFailure(
                f"step {task.step.name!r} wrote no metrics.json into --{name}", non_retryable=True
            )
        try:
            entries = metrics_rules.parse(found.read_bytes())
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
            await asyncio.to_thread(objects.upload, ctx.blobs, work / "outputs" / name, path)
        except objects.ObjectPathError as exc:
            raise StepFailure(f"output {name!r}: {exc}", non_retryable=True) from None
    return dict(task.outputs), metrics, floats


def _link_tree(source: Path, target: Path) -> None:
    """A private copy of the code (hard links where possible: cheap, and the cache stays
    intact because jobs replace files rather than write into them in place)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


async def _code(ctx: StepContext, algorithm: ir.AlgorithmSpec) -> Path:
    """The algorithm's code directory: its package from the registry, unpacked once per sha."""
    if algorithm.source != "gallery":
        raise StepFailure(
            "this step runs local code (code_dir); publish it first (release_to_gallery or "
            "release) so a worker can fetch it",
            non_retryable=True,
        )
    where = f"algorithm {algorithm.content_id}@{algorithm.version}"
    known = _PACKAGES.get(where)  # versions are immutable: ask the database once
    if known is not None:
        key, sha = known
        target = ctx.code_cache / sha
        if target.is_dir():
            return target
        await asyncio.to_thread(_unpack, ctx, key, sha, target, where)
        return target
    async with ctx.db.read() as session:
        row = (
            await session.exec(
                select(AssetVersion.package_key, AssetVersion.package_sha256)
                .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
                .where(Asset.content_id == algorithm.content_id)
                .where(AssetVersion.version == algorithm.version)
            )
        ).first()
    if row is None or row[0] is None or row[1] is None:
        raise StepFailure(f"{where} has no package in this registry", non_retryable=True)
    key, sha = row[0], row[1]
    if len(_PACKAGES) > 10_000:
        _PACKAGES.clear()
    _PACKAGES[where] = (key, sha)
    target = ctx.code_cache / sha
    if not target.is_dir():
        await asyncio.to_thread(_unpack, ctx, key, sha, target, where)
    return target


def _unpack(ctx: StepContext, key: str, sha: str, target: Path, where: str) -> None:
    ctx.code_cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=ctx.code_cache))
    try:
        archive = staging / "package.tar.gz"
        digest = hashlib.sha256()
        try:
            with archive.open("wb") as handle:
                for chunk in ctx.blobs.open(key):
                    digest.update(chunk)
                    handle.write(chunk)
        except BlobNotFound:
            raise StepFailure(f"{where}: its package is missing", non_retryable=True) from None
        if digest.hexdigest() != sha:
            raise StepFailure(f"{where}: its package fails its sha256 check", non_retryable=True)
        tree = staging / "tree"
        with tarfile.open(archive, mode="r:gz") as tar:
            tar.extractall(tree, filter="data")
        with contextlib.suppress(OSError):  # another step unpacked it first: keep theirs
            os.replace(tree, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
