"""What a user does to executions, for every surface: the HTTP API and the web pages call
these (never each other), so each action has one meaning and one set of checks.

Each takes the app's ``Context`` and the acting user, opens its own database sessions and
talks to the runner; access is checked by the service lookups (404 for what the user may
not see).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from registry.accounts.service import Principal
from registry.blobs import BlobNotFound
from registry.context import Context
from registry.errors import Conflict, GalleryError, NotFound
from registry.executions import service
from registry.executions.models import OPEN_STATUSES, Execution, StepRun, log_key, log_prefix
from registry.executions.schemas import ExecutionRead, ExecutionStart
from registry.labeling import service as labeling
from registry.workspaces import service as workspaces
from registry.workspaces.models import RuntimeWorkflow
from sdk import spec as ir

MAX_LOG_BYTES = 4 * 1024 * 1024


async def read(ctx: Context, execution_id: str, user: Principal) -> ExecutionRead:
    async with ctx.db.read() as session:
        execution, workflow, workspace = await service.find_execution(session, execution_id, user)
        steps = await service.steps_of(session, execution)
        experiment = await service.experiment_of(session, execution)
    return service.to_read(execution, workflow, workspace, steps, experiment)


async def launch(
    ctx: Context, user: Principal, workflow_id: str, data: ExecutionStart
) -> ExecutionRead:
    """Create the records, then start the run; if the runner cannot take it, say so (503)
    and leave the record failed with the reason."""
    async with ctx.db.write() as session:
        workflow, workspace = await workspaces.find_workflow(session, workflow_id, user)
        execution, message = await service.start_execution(
            session,
            workflow=workflow,
            workspace=workspace,
            data=data,
            principal=user,
            settings=ctx.settings,
        )
    try:
        await ctx.runner.start(message)
    except GalleryError as exc:
        async with ctx.db.write() as session:
            await service.mark_unstarted(session, execution.execution_id, exc.detail)
        raise
    return await read(ctx, execution.execution_id, user)


async def set_labels(
    ctx: Context, user: Principal, execution_id: str, labels: list[str]
) -> ExecutionRead:
    async with ctx.db.write() as session:
        execution, _, _ = await service.find_execution(session, execution_id, user)
        execution.labels_text = " ".join(labels)
        session.add(execution)
    return await read(ctx, execution_id, user)


async def delete(ctx: Context, user: Principal, execution_id: str) -> None:
    """Delete a finished run's records and logs (an open run must be stopped first)."""
    async with ctx.db.write() as session:
        execution, _, _ = await service.find_execution(session, execution_id, user)
        if execution.status in OPEN_STATUSES:
            raise Conflict(f"{execution.name} is {execution.status}; stop it before deleting it")
        await session.delete(execution)
    prefix = log_prefix(execution_id)  # every attempt's log is under it

    def remove() -> None:
        for info in ctx.blobs.list(prefix):
            ctx.blobs.delete(info.key)

    await asyncio.to_thread(remove)


async def stop(ctx: Context, user: Principal, execution_id: str) -> ExecutionRead:
    """Stop every running step (their processes are killed) and end the run as ``stopped``."""
    async with ctx.db.read() as session:
        execution, _, _ = await service.find_execution(session, execution_id, user)
    if execution.status not in OPEN_STATUSES and execution.status not in ("failed", "stopped"):
        raise Conflict(f"{execution.name} has already {execution.status}")
    try:
        await ctx.runner.stop(execution_id)
    except Conflict:
        if execution.status in OPEN_STATUSES:  # the runner has no such run: close the record
            async with ctx.db.write() as session:
                await service.mark_unstarted(
                    session, execution_id, "stopped: the runner had no such run"
                )
        raise
    return await read(ctx, execution_id, user)


async def rerun(ctx: Context, user: Principal, execution_id: str) -> ExecutionRead:
    """A new run of the same workflow with this run's placeholder values and scene."""
    async with ctx.db.read() as session:
        execution, workflow, _ = await service.find_execution(session, execution_id, user)
        spec = workspaces.stored_spec(workflow)
        experiment = await service.experiment_of(session, execution)
    known = {p.name for p in spec.placeholders}
    names = {s.name for s in spec.steps}
    chosen = [s for s in (execution.steps_text or "").split() if s in names]
    data = ExecutionStart(
        scene=execution.scene,
        steps=chosen or None,
        parameters={k: v for k, v in execution.parameters.items() if k in known},
        labels=execution.labels_text.split(),
        experiment=experiment.experiment_id if experiment is not None else None,
    )
    return await launch(ctx, user, workflow.workflow_id, data)


@dataclass(frozen=True)
class StepOf:
    """An execution the user may see, its workflow, one of its steps, and its workspace's
    storage namespace."""

    execution: Execution
    workflow: RuntimeWorkflow
    step: StepRun
    space: str


async def step_of(ctx: Context, user: Principal, execution_id: str, step: str) -> StepOf:
    async with ctx.db.read() as session:
        execution, workflow, workspace = await service.find_execution(session, execution_id, user)
        row = await service.find_step(session, execution, step)
        space = await workspaces.namespace_of(session, workspace)
    return StepOf(execution, workflow, row, space)


async def continue_step(
    ctx: Context, user: Principal, execution_id: str, step: str, inputs: dict[str, Any]
) -> ExecutionRead:
    """Give a waiting step the values of its delayed placeholders; it runs at once."""
    found = await step_of(ctx, user, execution_id, step)
    spec = workspaces.stored_spec(found.workflow)
    service.check_continue(spec, found.execution, found.step, inputs, found.space)
    if service.waits_for_people(spec, found.step):  # 409 "N samples remain" until labelled
        async with ctx.db.read() as session:
            await labeling.check_continue(session, execution_id, step)
    await ctx.runner.update(
        execution_id, ir.UPDATE_CONTINUE, ir.ContinueInput(step=step, values=inputs)
    )
    return await read(ctx, execution_id, user)


async def next_step(
    ctx: Context, user: Principal, execution_id: str, step: str | None, values: dict[str, Any]
) -> dict[str, Any]:
    """Debug runs: start the next ready step (or ``step``) with these values set first.
    ``{"step", "execution"}``; a refusal (nothing ready, values missing) is a 409 saying why."""
    async with ctx.db.read() as session:
        execution, workflow, workspace = await service.find_execution(session, execution_id, user)
        space = await workspaces.namespace_of(session, workspace)
    spec = workspaces.stored_spec(workflow)
    service.check_next(spec, execution, values, space)
    done = await ctx.runner.update(
        execution_id, ir.UPDATE_NEXT, ir.NextInput(step=step, values=values)
    )
    return {"step": done["step"], "execution": await read(ctx, execution_id, user)}


async def retry_step(
    ctx: Context, user: Principal, execution_id: str, step: str, parameters: dict[str, Any]
) -> ExecutionRead:
    """Run a failed or stopped step again, optionally with changed placeholder values."""
    found = await step_of(ctx, user, execution_id, step)
    async with ctx.db.read() as session:
        running = await workspaces.open_execution(session, found.workflow)
    if running is not None and running.id != found.execution.id:
        raise Conflict(
            f"workflow {found.workflow.name!r} has another open execution ({running.name}); "
            "one runs at a time"
        )
    spec = workspaces.stored_spec(found.workflow)
    service.check_retry(spec, found.execution, found.step, parameters, found.space)
    await ctx.runner.update(
        execution_id, ir.UPDATE_RETRY, ir.RetryInput(step=step, parameters=parameters)
    )
    return await read(ctx, execution_id, user)


async def stop_step(ctx: Context, user: Principal, execution_id: str, step: str) -> ExecutionRead:
    """Stop one step (its process group is killed); the run can retry it later."""
    found = await step_of(ctx, user, execution_id, step)
    if found.step.status not in ("pending", "running", "waiting_input"):
        raise Conflict(
            f"step {step!r} of {found.execution.name} is {found.step.status}; nothing to stop"
        )
    await ctx.runner.update(execution_id, ir.UPDATE_STOP_STEP, ir.StopStepInput(step=step))
    return await read(ctx, execution_id, user)


@dataclass(frozen=True)
class LogChunk:
    data: bytes
    size: int
    """How far the whole log goes (bytes)."""
    attempt: str


async def log_chunk(
    ctx: Context,
    user: Principal,
    execution_id: str,
    step: str,
    *,
    attempt: int | None = None,
    offset: int = 0,
    limit: int = MAX_LOG_BYTES,
) -> LogChunk:
    """The step's output from ``offset`` (at most ``limit`` bytes; it is uploaded while the
    step runs). Only the range asked for is read: a log may be huge."""
    found = await step_of(ctx, user, execution_id, step)
    key = found.step.log_key
    if attempt is not None:
        key = log_key(execution_id, step, attempt)
    missing = f"step {step!r} of {found.execution.name} has no log yet"
    if key is None:
        raise NotFound(missing)
    limit = min(limit, MAX_LOG_BYTES)

    def load(key: str) -> tuple[int, bytes]:
        size = ctx.blobs.stat(key).size
        if offset >= size:
            return size, b""
        return size, ctx.blobs.read_range(key, offset, min(limit, size - offset))

    try:
        size, chunk = await asyncio.to_thread(load, key)
    except BlobNotFound:
        raise NotFound(missing) from None
    return LogChunk(chunk, size, key.rsplit("/", 1)[-1][:-4])
