"""HTTP: executions of runtime workflows, their steps and logs, the to-do list, comparisons.

Members of the workflow's workspace only; everyone else gets 404.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from urllib.parse import quote, unquote

from litestar import Request, Response, Router, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter
from litestar.response import ServerSentEvent, Stream
from pydantic import BaseModel
from sqlmodel import select

from registry.context import CtxDep, UserDep, signed_in_routes
from registry.errors import Conflict, InvalidInput, NotFound
from registry.executions import actions, events, outputs, service
from registry.executions.models import (
    EXECUTION_STATUSES,
    OPEN_STATUSES,
    Execution,
)
from registry.executions.schemas import (
    CompareRow,
    ContinueBody,
    ExecutionRead,
    ExecutionStart,
    ExecutionSummary,
    ExecutionUpdate,
    ExperimentCreate,
    ExperimentRead,
    NextBody,
    RetryBody,
    TodoItem,
)
from registry.params import (
    EXCEPTION_HANDLERS,
    EXECUTION,
    ExecutionId,
    ExperimentId,
    OutputPath,
    StepName,
    WorkflowId,
    WorkspaceName,
)
from registry.workspaces import service as workspaces

MAX_LOG_BYTES = actions.MAX_LOG_BYTES


@post("/workflows/{workflow_id:str}/executions", status_code=201)
async def start_execution(
    ctx: CtxDep,
    user: UserDep,
    workflow_id: WorkflowId,
    data: JSONBody[ExecutionStart | None] = None,
) -> ExecutionRead:
    """Start a run with the saved configuration (plus ``parameters``); one open run at a time."""
    return await actions.launch(ctx, user, workflow_id, data or ExecutionStart())


def _status(status: str | None) -> None:
    if status is not None and status not in EXECUTION_STATUSES:
        raise InvalidInput.field(
            "status", "enum", f"status must be one of {', '.join(EXECUTION_STATUSES)}"
        )


def _number(name: str | None) -> int | None:
    return None if name is None else service.execution_number(name)


@get("/workflows/{workflow_id:str}/executions")
async def list_executions(
    ctx: CtxDep,
    user: UserDep,
    workflow_id: WorkflowId,
    status: Annotated[str | None, QueryParameter(max_length=16)] = None,
    label: Annotated[str | None, QueryParameter(max_length=32)] = None,
    name: Annotated[
        str | None, QueryParameter(max_length=32, description="e.g. execution-002")
    ] = None,
) -> list[ExecutionSummary]:
    _status(status)
    number = _number(name)
    async with ctx.db.read() as session:
        workflow, workspace = await workspaces.find_workflow(session, workflow_id, user)
        rows = await service.list_executions(
            session, workflow, status=status, label=label, number=number
        )
        return await service.summaries(session, [(row, workflow, workspace) for row in rows])


@get("/executions")
async def find_executions(
    ctx: CtxDep,
    user: UserDep,
    name: Annotated[
        str | None, QueryParameter(max_length=32, description="e.g. execution-002")
    ] = None,
    workflow: Annotated[
        str | None, QueryParameter(max_length=64, description="workflow name or id")
    ] = None,
    workspace: Annotated[str | None, QueryParameter(max_length=64)] = None,
    status: Annotated[str | None, QueryParameter(max_length=16)] = None,
    label: Annotated[
        str | None, QueryParameter(max_length=32, description="one of the run's labels")
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=service.MAX_FOUND)] = 50,
) -> list[ExecutionSummary]:
    """Executions in your workspaces, newest first, by name (``execution-002``), workflow,
    workspace, status and label: how ``WORKFLOW/execution-002`` is resolved."""
    _status(status)
    number = _number(name)
    async with ctx.db.read() as session:
        rows = await service.find_executions(
            session,
            user,
            number=number,
            workflow=workflow,
            workspace=workspace,
            status=status,
            label=label,
            limit=limit,
        )
        return await service.summaries(session, rows)


@get("/executions/compare")
async def compare_executions(
    ctx: CtxDep,
    user: UserDep,
    ids: Annotated[str, QueryParameter(max_length=2000, description="comma-separated ids")],
) -> list[CompareRow]:
    """Status, start, duration, parameters and float metrics of several runs side by side."""
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    for execution_id in wanted:  # held to the rule of the path's execution ids
        if not EXECUTION.well_formed(execution_id):
            raise EXECUTION.not_found(execution_id)
    async with ctx.db.read() as session:
        return await service.compare(session, wanted, user)


@get("/executions/{execution_id:str}")
async def read_execution(ctx: CtxDep, user: UserDep, execution_id: ExecutionId) -> ExecutionRead:
    return await actions.read(ctx, execution_id, user)


@get("/executions/{execution_id:str}/events", media_type="text/event-stream")
async def execution_events(
    ctx: CtxDep, user: UserDep, execution_id: ExecutionId
) -> ServerSentEvent:
    """Server-sent events: ``execution`` (the execution, as ``GET /executions/{id}`` answers)
    at once and at each change of a status, attempt, time, output or metric, then ``end``
    when the run is over (or deleted). Browsers may use their session cookie."""
    first = await actions.read(ctx, execution_id, user)
    return ServerSentEvent(
        events.execution_stream(ctx, user, first), headers={"cache-control": "no-store"}
    )


@patch("/executions/{execution_id:str}")
async def update_execution(
    ctx: CtxDep,
    user: UserDep,
    execution_id: ExecutionId,
    data: JSONBody[ExecutionUpdate],
) -> ExecutionRead:
    return await actions.set_labels(ctx, user, execution_id, data.labels)


@delete("/executions/{execution_id:str}")
async def delete_execution(ctx: CtxDep, user: UserDep, execution_id: ExecutionId) -> None:
    """Delete a finished run's records and logs (an open run must be stopped first)."""
    await actions.delete(ctx, user, execution_id)


@post("/executions/{execution_id:str}/stop", status_code=200)
async def stop_execution(ctx: CtxDep, user: UserDep, execution_id: ExecutionId) -> ExecutionRead:
    """Stop every running step (their processes are killed) and end the run as ``stopped``."""
    return await actions.stop(ctx, user, execution_id)


@post("/executions/{execution_id:str}/rerun", status_code=201)
async def rerun_execution(ctx: CtxDep, user: UserDep, execution_id: ExecutionId) -> ExecutionRead:
    """A new run of the same workflow with this run's placeholder values and scene."""
    return await actions.rerun(ctx, user, execution_id)


@post("/executions/{execution_id:str}/steps/{step:str}/continue", status_code=200)
async def continue_step(
    ctx: CtxDep,
    user: UserDep,
    execution_id: ExecutionId,
    step: StepName,
    data: JSONBody[ContinueBody | None] = None,
) -> ExecutionRead:
    """Give a waiting step the values of its delayed placeholders; it runs at once."""
    body = data or ContinueBody()
    return await actions.continue_step(ctx, user, execution_id, step, body.inputs)


class NextRead(BaseModel):
    step: str
    """The step that started."""
    execution: ExecutionRead


@post("/executions/{execution_id:str}/next", status_code=200)
async def next_step(
    ctx: CtxDep, user: UserDep, execution_id: ExecutionId, data: JSONBody[NextBody | None] = None
) -> NextRead:
    """Debug runs (started with ``debug: true``): start the next ready step, or ``step``,
    with ``values`` for placeholders set first. 409 says why nothing can start (a step still
    running, a failed step to retry, every step done) or which values the step still needs."""
    body = data or NextBody()
    done = await actions.next_step(ctx, user, execution_id, body.step, body.values)
    return NextRead(step=done["step"], execution=done["execution"])


@get("/workspaces/{ws:str}/experiments")
async def list_experiments(ctx: CtxDep, user: UserDep, ws: WorkspaceName) -> list[ExperimentRead]:
    """The workspace's experiments (groups of development runs), newest first."""
    async with ctx.db.write() as session:  # may create the default workspace
        workspace = await workspaces.find_workspace(session, ws, user)
        return await service.list_experiments(session, workspace)


@post("/workspaces/{ws:str}/experiments", status_code=201)
async def create_experiment(
    ctx: CtxDep, user: UserDep, ws: WorkspaceName, data: JSONBody[ExperimentCreate]
) -> Response[ExperimentRead]:
    """Make an experiment (200 with the existing one when the name is taken: it is the same
    experiment)."""
    async with ctx.db.write() as session:
        workspace = await workspaces.find_workspace(session, ws, user)
        known = await service.list_experiments(session, workspace)
        before = {e.name for e in known} | {e.id for e in known}
        experiment = await service.experiment_for(session, workspace, data.name, user)
        read = await service.experiment_read(session, experiment, workspace)
    return Response(read, status_code=200 if data.name in before else 201)


@get("/experiments/{experiment_id:str}")
async def read_experiment(
    ctx: CtxDep, user: UserDep, experiment_id: ExperimentId
) -> ExperimentRead:
    async with ctx.db.read() as session:
        experiment, workspace = await service.find_experiment(session, experiment_id, user)
        return await service.experiment_read(session, experiment, workspace)


@get("/experiments/{experiment_id:str}/executions")
async def experiment_executions(
    ctx: CtxDep, user: UserDep, experiment_id: ExperimentId
) -> list[ExecutionSummary]:
    """The runs recorded under the experiment, newest first (compare them with
    ``GET /executions/compare``)."""
    async with ctx.db.read() as session:
        experiment, _ = await service.find_experiment(session, experiment_id, user)
        return await service.experiment_runs(session, experiment)


@delete("/experiments/{experiment_id:str}")
async def delete_experiment(ctx: CtxDep, user: UserDep, experiment_id: ExperimentId) -> None:
    """Delete the experiment; its runs stay, as runs of their workflow (409 while one is open)."""
    async with ctx.db.write() as session:
        experiment, _ = await service.find_experiment(session, experiment_id, user)
        runs = await service.experiment_runs(session, experiment)
        open_runs = [r.name for r in runs if r.status in OPEN_STATUSES]
        if open_runs:
            raise Conflict(
                f"experiment {experiment.name!r} has an open run ({', '.join(open_runs)}); "
                "stop it first"
            )
        for run in await session.exec(
            select(Execution).where(Execution.experiment_pk == experiment.id)
        ):
            run.experiment_pk = None
            session.add(run)
        await session.delete(experiment)


@post("/executions/{execution_id:str}/steps/{step:str}/retry", status_code=200)
async def retry_step(
    ctx: CtxDep,
    user: UserDep,
    execution_id: ExecutionId,
    step: StepName,
    data: JSONBody[RetryBody | None] = None,
) -> ExecutionRead:
    """Run a failed or stopped step again, optionally with changed placeholder values."""
    body = data or RetryBody()
    return await actions.retry_step(ctx, user, execution_id, step, body.parameters)


@post("/executions/{execution_id:str}/steps/{step:str}/stop", status_code=200)
async def stop_step(
    ctx: CtxDep, user: UserDep, execution_id: ExecutionId, step: StepName
) -> ExecutionRead:
    """Stop one step (its process group is killed); the run can retry it later."""
    return await actions.stop_step(ctx, user, execution_id, step)


@get("/executions/{execution_id:str}/steps/{step:str}/logs", media_type="text/plain")
async def step_logs(
    ctx: CtxDep,
    user: UserDep,
    execution_id: ExecutionId,
    step: StepName,
    attempt: Annotated[int | None, QueryParameter(ge=1, le=10_000)] = None,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Response[bytes]:
    """The step's output so far (it is uploaded while the step runs). ``offset`` skips bytes
    already read; the ``X-Log-Size`` header says how far the log goes."""
    chunk = await actions.log_chunk(ctx, user, execution_id, step, attempt=attempt, offset=offset)
    return Response(
        chunk.data,
        media_type="text/plain",  # Litestar adds "; charset=utf-8"
        headers={"X-Log-Size": str(chunk.size), "X-Log-Attempt": chunk.attempt},
    )


OUTPUTS = "/executions/{execution_id:str}/steps/{step:str}/outputs"


def _output_name(request: Request[Any, Any, Any], execution_id: str, step: str) -> str:
    """The requested name exactly as sent: the router has folded ``//``, ``.`` and a leading
    ``/`` out of its own ``path`` parameter (and of ``scope["path"]``), and those must be
    refused rather than guessed at, so the name is read from the raw request path."""
    raw = request.scope.get("raw_path")
    try:
        path = unquote(raw.decode("ascii"), errors="strict") if raw else request.scope["path"]
    except UnicodeError:
        raise InvalidInput.field("name", "characters", "the path is not UTF-8") from None
    marker = f"/executions/{execution_id}/steps/{step}/outputs"
    at = path.find(marker)
    if at < 0:
        raise NotFound("no such output")
    rest = path[at + len(marker) :]
    return rest[1:] if rest.startswith("/") else rest


@get([OUTPUTS, OUTPUTS + "/{name:path}"])
async def step_outputs(
    ctx: CtxDep,
    user: UserDep,
    request: Request[Any, Any, Any],
    execution_id: ExecutionId,
    step: StepName,
    name: OutputPath = None,  # read as sent instead: see _output_name
) -> Stream:
    """Download a step's outputs: ``…/outputs`` is all of them and ``…/outputs/OUTPUT`` one,
    as a tar.gz streamed as it is made (members named ``OUTPUT/path``); ``…/OUTPUT/PATH`` is
    one file as stored, or a folder as a tar.gz. ``X-Output-Kind`` says which (``file`` or
    ``directory``)."""
    at = await actions.step_of(ctx, user, execution_id, step)
    execution, row, space = at.execution, at.step, at.space
    segments = outputs.requested(_output_name(request, execution_id, step))
    stored = outputs.stored_outputs(row.outputs or {}, space)
    what = f"step {step!r} of {execution.name}"
    found = await asyncio.to_thread(outputs.locate, ctx.blobs, stored, segments, what)
    if isinstance(found, outputs.OutputFile):
        chunks = await asyncio.to_thread(outputs.open_file, ctx.blobs, found.info.key)
        return Stream(
            chunks,
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(found.info.size),
                "Content-Disposition": _attachment(found.filename),
                "X-Output-Kind": "file",
            },
        )
    return Stream(
        outputs.tar_gz(ctx.blobs, found.members),
        media_type="application/gzip",
        headers={
            "Content-Disposition": _attachment(found.filename),
            "X-Output-Kind": "directory",
            "X-Output-Files": str(len(found.members)),
            "X-Output-Bytes": str(found.size),
        },
    )


def _attachment(filename: str) -> str:
    """A Content-Disposition for a name a step chose (any characters): an ASCII fallback and
    the exact name percent-encoded (RFC 6266)."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "output"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


@get("/todo/events", media_type="text/event-stream")
async def todo_events(ctx: CtxDep, user: UserDep) -> ServerSentEvent:
    """Server-sent events: ``todo`` (``{"count", "items"}``, items as ``GET /todo``) at once
    and each time the list of steps waiting for you changes."""
    return ServerSentEvent(events.todo_stream(ctx, user), headers={"cache-control": "no-store"})


@get("/todo")
async def todo(ctx: CtxDep, user: UserDep) -> list[TodoItem]:
    """Steps waiting for input in the workspaces you belong to."""
    async with ctx.db.read() as session:
        return await service.todo(session, user)


router = Router(
    path="/",
    route_handlers=[
        signed_in_routes(
            start_execution,
            list_executions,
            compare_executions,
            read_execution,
            update_execution,
            delete_execution,
            next_step,
            list_experiments,
            create_experiment,
            read_experiment,
            experiment_executions,
            delete_experiment,
            stop_execution,
            rerun_execution,
            continue_step,
            retry_step,
            stop_step,
            step_logs,
            step_outputs,
            find_executions,
            todo,
            todo_events,
            execution_events,
        )
    ],
    exception_handlers=EXCEPTION_HANDLERS,
)
