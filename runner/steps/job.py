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
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from runner import objects, packages, steplog
from runner.messages import StepTask
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk import metrics as metrics_rules
from sdk import spec as ir

KILL_GRACE_SECONDS = 5.0


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
        code = await packages.code_dir(ctx, props.algorithm)
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
                f"step {task.step.name!r} exited with code {code_}; last lines:\n"
                + steplog.tail(log_path)
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
    pump = asyncio.create_task(steplog.pump(process, log_path))
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
            await asyncio.to_thread(
                objects.upload, ctx.blobs, work / "outputs" / name, path, ctx.tenant.namespace
            )
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
