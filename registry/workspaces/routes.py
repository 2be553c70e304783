"""HTTP: workspaces and the runtime workflows in them (members only; others get 404)."""

from __future__ import annotations

from typing import Annotated

import anyio
from litestar import Response, Router, delete, get, patch, post, put
from litestar.params import JSONBody, QueryParameter

from registry.context import CtxDep, UserDep, signed_in_routes
from registry.errors import Conflict, InvalidInput
from registry.executions.quick_run import QuickRunBody, QuickRunRead, run_asset
from registry.params import EXCEPTION_HANDLERS, ContentId, WorkflowId, WorkspaceName
from registry.workspaces import service
from registry.workspaces.packages import has_package, package_exists, upload_package
from registry.workspaces.schemas import (
    WorkflowConfig,
    WorkflowCopy,
    WorkflowImport,
    WorkflowRead,
    WorkflowSummary,
    WorkflowUpdate,
    WorkspaceCreate,
    WorkspaceRead,
)
from registry.workspaces.storage import namespace
from sdk.vocabulary import ExecutionStatus


@get("/workspaces")
async def list_workspaces(ctx: CtxDep, user: UserDep) -> list[WorkspaceRead]:
    async with ctx.db.write() as session:  # may create the default workspace
        await service.ensure_default(session, user)
        return await service.my_workspaces(session, user)


@post("/workspaces", status_code=201)
async def create_workspace(
    ctx: CtxDep, user: UserDep, data: JSONBody[WorkspaceCreate]
) -> WorkspaceRead:
    async with ctx.db.write() as session:
        workspace = await service.create_workspace(session, name=data.name, principal=user)
    return WorkspaceRead(
        name=workspace.name,
        owner=user.username,
        created_at=workspace.created_at,
        storage=namespace(user.username, workspace.name),
    )


@get("/workspaces/{ws:str}/workflows")
async def list_workflows(
    ctx: CtxDep,
    user: UserDep,
    ws: WorkspaceName,
    q: Annotated[
        str | None, QueryParameter(max_length=64, description="part of the workflow's name")
    ] = None,
    tag: Annotated[str | None, QueryParameter(max_length=32, description="one of its tags")] = None,
    status: Annotated[
        str | None,
        QueryParameter(description="status of the latest execution; 'none': never run"),
    ] = None,
) -> list[WorkflowSummary]:
    """The workspace's workflows as summaries (no spec, no configuration: read
    ``GET /workflows/{id}`` for those), latest change first."""
    if status is not None and status not in (*ExecutionStatus, "none"):
        raise InvalidInput.field(
            "status", "enum", f"status must be one of {', '.join(ExecutionStatus)} or none"
        )
    async with ctx.db.write() as session:  # may create the default workspace
        workspace = await service.find_workspace(session, ws, user)
        return await service.list_workflows(session, workspace, q=q, tag=tag, status=status)


@post("/workspaces/{ws:str}/workflows", status_code=201)
async def import_workflow(
    ctx: CtxDep, user: UserDep, ws: WorkspaceName, data: JSONBody[WorkflowImport]
) -> Response[WorkflowRead]:
    """Import a workflow version you can read (and every algorithm version it depends on), or
    release a compiled ``spec`` from the SDK (201 when new, 200 when it updated one)."""
    if data.spec is not None and data.content_id is not None:
        raise InvalidInput.field("spec", "exclusive", "give content_id or spec, not both")
    async with ctx.db.write() as session:
        workspace = await service.find_workspace(session, ws, user)
        if data.spec is not None:
            row, created = await service.release_workflow(
                session,
                workspace=workspace,
                data=data,
                principal=user,
                has_package=lambda ws_id, sha: anyio.to_thread.run_sync(
                    has_package, ctx.blobs, ws_id, sha
                ),
            )
        else:
            row = await service.import_workflow(
                session, workspace=workspace, data=data, principal=user
            )
            created = True
    return Response(service.to_read(row, workspace), status_code=201 if created else 200)


@post("/assets/{content_id:str}/run", status_code=201)
async def run_workflow_asset(
    ctx: CtxDep, user: UserDep, content_id: ContentId, data: JSONBody[QuickRunBody | None] = None
) -> Response[QuickRunRead]:
    """Run a workflow asset in one call: import the version (default: the latest you may
    import) into the workspace (default: ``default``), or reuse the workflow imported from it
    there before (``reused``), and start it when every required placeholder has a value;
    otherwise ``execution`` is null and ``missing`` names them. 201 when it imported or
    started something, else 200."""
    body = data or QuickRunBody()
    done = await run_asset(
        ctx,
        user,
        content_id,
        body.version,
        workspace=body.workspace,
        name=body.name,
        parameters=body.parameters,
    )
    created = not done.reused or done.execution is not None
    return Response(done.read(), status_code=201 if created else 200)


@get("/workflows/{workflow_id:str}")
async def read_workflow(ctx: CtxDep, user: UserDep, workflow_id: WorkflowId) -> WorkflowRead:
    async with ctx.db.read() as session:
        row, workspace = await service.find_workflow(session, workflow_id, user)
        status = await service.latest_status(session, row)
    return service.to_read(row, workspace, status)


@patch("/workflows/{workflow_id:str}")
async def update_workflow(
    ctx: CtxDep, user: UserDep, workflow_id: WorkflowId, data: JSONBody[WorkflowUpdate]
) -> WorkflowRead:
    async with ctx.db.write() as session:
        row, workspace = await service.find_workflow(session, workflow_id, user)
        row = await service.update_workflow(session, workflow=row, workspace=workspace, data=data)
    return service.to_read(row, workspace)


@put("/workflows/{workflow_id:str}/config")
async def save_config(
    ctx: CtxDep, user: UserDep, workflow_id: WorkflowId, data: JSONBody[WorkflowConfig]
) -> WorkflowRead:
    """Save typed placeholder values, storage roots and the scene; bad values are a 422."""
    async with ctx.db.write() as session:
        row, workspace = await service.find_workflow(session, workflow_id, user)
        row = await service.save_config(session, workflow=row, workspace=workspace, config=data)
    return service.to_read(row, workspace)


@post("/workflows/{workflow_id:str}/copy", status_code=201)
async def copy_workflow(
    ctx: CtxDep,
    user: UserDep,
    workflow_id: WorkflowId,
    data: JSONBody[WorkflowCopy | None] = None,
) -> WorkflowRead:
    """A twin in the same workspace: ``{"name": …}`` or ``<name>_copy``."""
    async with ctx.db.write() as session:
        row, workspace = await service.find_workflow(session, workflow_id, user)
        twin = await service.copy_workflow(
            session, workflow=row, workspace=workspace, principal=user, data=data
        )
    return service.to_read(twin, workspace)


@delete("/workflows/{workflow_id:str}")
async def delete_workflow(ctx: CtxDep, user: UserDep, workflow_id: WorkflowId) -> None:
    async with ctx.db.write() as session:
        row, _ = await service.find_workflow(session, workflow_id, user)
        running = await service.open_execution(session, row)
        if running is not None:
            raise Conflict(
                f"workflow {row.name!r} has an open execution ({running.name}, "
                f"{running.status}); stop it before deleting the workflow"
            )
        await session.delete(row)


router = Router(
    path="/",
    route_handlers=[
        signed_in_routes(
            list_workspaces,
            create_workspace,
            list_workflows,
            import_workflow,
            run_workflow_asset,
            read_workflow,
            update_workflow,
            save_config,
            copy_workflow,
            delete_workflow,
            package_exists,
            upload_package,
        )
    ],
    exception_handlers=EXCEPTION_HANDLERS,
)
