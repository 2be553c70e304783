"""Workspaces, their workflows, a workflow's configuration form; one-click Run and Import.

Every form posts to a route here that calls the registry's services (what the API calls) and
answers a redirect, or the page again with the registry's field errors beside the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from litestar import get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.assets.crud import find_asset
from registry.assets.models import AssetVersion
from registry.assets.version_reads import list_versions
from registry.context import Context
from registry.errors import (
    Conflict,
    FieldError,
    GalleryError,
    InvalidInput,
    NotFound,
)
from registry.executions import actions
from registry.executions import service as executions
from registry.executions.models import OPEN_STATUSES, Execution
from registry.executions.quick_run import latest_importable, run_asset, start_if_ready
from registry.executions.schemas import ExecutionSummary
from registry.params import ContentId, WorkflowId, WorkspaceName
from registry.workspaces import service as workspaces
from registry.workspaces.models import RuntimeWorkflow, Workspace
from registry.workspaces.schemas import WorkflowCopy, WorkflowImport, WorkflowSummary
from sdk.vocabulary import NAME_RE, NAME_RULE, ExecutionStatus
from web.dag import dag_svg
from web.forms import ConfigForm, build_form, read_form
from web.render import (
    AnyRequest,
    ctx_of,
    form_data,
    form_lists,
    here,
    page,
    see_other,
    signed_in_user,
)
from web.session import safe_next

RUNS_SHOWN = 10
STATUS_FILTERS = [*ExecutionStatus, "none"]


def _workflow_url(workflow_id: str, missing: list[str] | None = None) -> str:
    query = f"?{urlencode({'missing': ','.join(missing)})}" if missing else ""
    return f"/workflows/{workflow_id}{query}"


def _name_error(name: str, field: str = "name") -> FieldError | None:
    if name and not NAME_RE.fullmatch(name):
        return FieldError(field, "name", f"{name!r} is not a name: {NAME_RULE}")
    return None


# --- one-click Run and Import (the forms are on the asset page) -------------------------------


@post("/assets/{content_id:str}/run", include_in_schema=False)
async def run_asset_page(request: AnyRequest, content_id: ContentId) -> Redirect:
    """Import the version (latest by default) into the default workspace, or reuse the
    workflow imported from it, and start it; to its form when a value is missing."""
    user = await signed_in_user(request)
    form = await form_data(request)
    done = await run_asset(ctx_of(request), user, content_id, form.get("version") or None)
    if done.execution is None:
        return see_other(_workflow_url(done.workflow.id, done.missing))
    return see_other(f"/executions/{done.execution.id}")


@dataclass
class ImportView:
    content_id: str
    title: str
    versions: list[AssetVersion]
    workspaces: list[str]
    version: str
    name: str
    workspace: str
    errors: dict[str, str]
    problem: str | None = None


async def _import_page(
    request: AnyRequest,
    user: Principal,
    content_id: str,
    form: dict[str, str],
    errors: list[FieldError],
    status_code: int,
    problem: str | None = None,
) -> Template:
    """The import form again, with what was sent and why it was refused."""
    async with ctx_of(request).db.write() as session:  # may create the default workspace
        asset = await find_asset(session, content_id, user)
        versions = [v for v in await list_versions(session, asset, user) if v.status != "yanked"]
        latest = (await latest_importable(session, asset, user)).version if versions else ""
        await workspaces.ensure_default(session, user)
        spaces = [w.name for w in await workspaces.my_workspaces(session, user)]
    view = ImportView(
        content_id=asset.content_id,
        title=asset.title or asset.name,
        versions=versions,
        workspaces=spaces,
        version=form.get("version") or latest,
        name=form.get("name", ""),
        workspace=form.get("workspace", workspaces.DEFAULT),
        errors={e.field: e.message for e in errors},
        problem=problem,
    )
    return await page(
        request,
        "workflow_import.html",
        status_code=status_code,
        title=f"Import {view.title}",
        view=view,
    )


@post("/assets/{content_id:str}/import", include_in_schema=False)
async def import_asset_page(request: AnyRequest, content_id: ContentId) -> Redirect | Template:
    """Import a version under a name into a workspace → the new workflow's page."""
    user = await signed_in_user(request)
    form = await form_data(request)
    name = form.get("name", "").strip()
    space = form.get("workspace", "").strip() or workspaces.DEFAULT
    version = form.get("version", "").strip() or None
    problem = _name_error(name) or _name_error(space, "workspace")
    if problem is not None:
        return await _import_page(request, user, content_id, form, [problem], 422)
    try:
        async with ctx_of(request).db.write() as session:
            workspace = await workspaces.find_workspace(session, space, user)
            row = await workspaces.import_workflow(
                session,
                workspace=workspace,
                data=WorkflowImport(content_id=content_id, version=version, name=name or None),
                principal=user,
            )
            workflow_id = row.workflow_id
    except Conflict as exc:  # the name is taken in that workspace
        taken = [FieldError("name", "unique", exc.detail)]
        return await _import_page(request, user, content_id, form, taken, 409)
    except InvalidInput as exc:
        return await _import_page(request, user, content_id, form, exc.errors, 422, exc.detail)
    return see_other(f"/workflows/{workflow_id}")


# --- workspaces -------------------------------------------------------------------------------


@dataclass
class SpaceRow:
    name: str
    owner: str
    storage: str
    workflows: int
    created_at: datetime


@get("/workspaces", include_in_schema=False)
async def workspaces_page(request: AnyRequest) -> Template:
    user = await signed_in_user(request)
    return await _workspaces(request, user)


async def _workspaces(
    request: AnyRequest,
    user: Principal,
    *,
    name: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    async with ctx_of(request).db.write() as session:  # may create the default workspace
        await workspaces.ensure_default(session, user)
        rows = []
        for read in await workspaces.my_workspaces(session, user):
            space = await workspaces.find_workspace(session, read.name, user)
            count = len(await workspaces.list_workflows(session, space))
            rows.append(SpaceRow(read.name, read.owner, read.storage, count, read.created_at))
    return await page(
        request,
        "workspaces.html",
        status_code=status_code,
        title="Workspaces",
        spaces=rows,
        new_name=name,
        new_error=error,
    )


@post("/workspaces", include_in_schema=False)
async def create_workspace_page(request: AnyRequest) -> Redirect | Template:
    user = await signed_in_user(request)
    name = (await form_data(request)).get("name", "").strip()
    problem = _name_error(name) if name else FieldError("name", "required", "give it a name")
    if problem is not None:
        return await _workspaces(request, user, name=name, error=problem.message, status_code=422)
    try:
        async with ctx_of(request).db.write() as session:
            await workspaces.create_workspace(session, name=name, principal=user)
    except Conflict as exc:
        return await _workspaces(request, user, name=name, error=exc.detail, status_code=409)
    return see_other(f"/workspaces/{quote(name)}")


@dataclass
class WorkflowRow:
    workflow: WorkflowSummary
    current_step: str | None
    duration_seconds: float | None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    finish = end or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if finish.tzinfo is None:
        finish = finish.replace(tzinfo=UTC)
    return max(0.0, (finish - start).total_seconds())


async def _current_steps(session: AsyncSession, summaries: list[WorkflowSummary]) -> dict[str, str]:
    """Latest execution id → its current step(s), for the executions the summaries name."""
    ids = [s.latest_execution_id for s in summaries if s.latest_execution_id]
    if not ids:
        return {}
    rows = list(
        (await session.exec(select(Execution).where(col(Execution.execution_id).in_(ids)))).all()
    )
    steps = await executions.current_steps(session, rows)
    return {row.execution_id: steps[row.id] for row in rows if row.id in steps}


async def _titles(
    session: AsyncSession, user: Principal, content_ids: set[str | None]
) -> dict[str, str]:
    """The titles of the source assets the user can still read."""
    found = {}
    for content_id in sorted(c for c in content_ids if c):
        try:
            asset = await find_asset(session, content_id, user)
        except NotFound:
            continue
        found[content_id] = asset.title or asset.name
    return found


@get("/workspaces/{ws:str}", include_in_schema=False)
async def workspace_page(
    request: AnyRequest,
    ws: WorkspaceName,
    q: Annotated[str | None, QueryParameter(max_length=64)] = None,
    tag: Annotated[str | None, QueryParameter(max_length=32)] = None,
    status: Annotated[str | None, QueryParameter(max_length=16)] = None,
) -> Template:
    """The workspace's workflows: source, latest run (status, current step, start, duration),
    tags; search by name, filter by tag and status."""
    user = await signed_in_user(request)
    errors: dict[str, str] = {}
    if status and status not in STATUS_FILTERS:
        errors["status"] = f"{status!r} is not a status: one of {', '.join(STATUS_FILTERS)}"
    if tag:
        try:
            workspaces.check_tag(tag)
        except InvalidInput as exc:
            errors["tag"] = exc.errors[0].message
    async with ctx_of(request).db.write() as session:  # may create the default workspace
        workspace = await workspaces.find_workspace(session, ws, user)
        summaries = await workspaces.list_workflows(
            session,
            workspace,
            q=q or None,
            tag=None if "tag" in errors else tag or None,
            status=None if "status" in errors else status or None,
        )
        current = await _current_steps(session, summaries)
        titles = await _titles(session, user, {s.source_content_id for s in summaries})
        spaces = [w.name for w in await workspaces.my_workspaces(session, user)]
    rows = [
        WorkflowRow(
            s,
            current.get(s.latest_execution_id or ""),
            _seconds(s.latest_started_at, s.latest_finished_at),
        )
        for s in summaries
    ]
    return await page(
        request,
        "workflows.html",
        status_code=422 if errors else 200,
        title=f"Workspace {workspace.name}",
        workspace=workspace.name,
        spaces=spaces,
        rows=rows,
        titles=titles,
        open_statuses=OPEN_STATUSES,
        filters={"q": q or "", "tag": tag or "", "status": status or ""},
        statuses=STATUS_FILTERS,
        errors=errors,
        here=here(request),
    )


# --- a workflow -------------------------------------------------------------------------------


@dataclass
class WorkflowView:
    row: RuntimeWorkflow
    workspace: Workspace
    status: str | None
    runs: list[ExecutionSummary]
    open_run: Execution | None
    source_title: str | None
    space: str


async def _load(ctx: Context, user: Principal, workflow_id: str) -> WorkflowView:
    async with ctx.db.read() as session:
        row, workspace = await workspaces.find_workflow(session, workflow_id, user)
        status = await workspaces.latest_status(session, row)
        found = await executions.list_executions(session, row, status=None, label=None)
        runs = await executions.summaries(
            session, [(e, row, workspace) for e in found[:RUNS_SHOWN]]
        )
        open_run = await workspaces.open_execution(session, row)
        space = await workspaces.namespace_of(session, workspace)
        title = None
        if row.source_content_id:
            try:
                asset = await find_asset(session, row.source_content_id, user)
                title = asset.title or asset.name
            except NotFound:  # no longer readable: its id alone
                title = None
    return WorkflowView(row, workspace, status, runs, open_run, title, space)


async def _workflow_page(
    request: AnyRequest,
    view: WorkflowView,
    form: ConfigForm | None,
    *,
    status_code: int = 200,
    problem: str | None = None,
    notice: str | None = None,
    action_errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
) -> Template:
    spec = workspaces.readable_spec(view.row)
    return await page(
        request,
        "workflow.html",
        status_code=status_code,
        title=f"Workflow {view.row.name}",
        view=view,
        spec=spec,
        dag=dag_svg(spec) if spec is not None else None,
        form=form,
        problem=problem,
        notice=notice,
        action_errors=action_errors or {},
        sent=sent or {},
        here=f"/workflows/{view.row.workflow_id}",
    )


def _saved_form(view: WorkflowView, missing: list[str] | None = None) -> ConfigForm | None:
    """The configuration form showing what is saved (None: a spec this server cannot read)."""
    spec = workspaces.readable_spec(view.row)
    if spec is None:
        return None
    config = workspaces.stored_config(view.row)
    return build_form(spec, config, view.space, missing=missing or [])


async def _refused(
    request: AnyRequest,
    user: Principal,
    workflow_id: str,
    action: str,
    error: GalleryError,
    sent: dict[str, str],
) -> Template:
    """The workflow's page again, the ``action``'s form saying why it was refused and keeping
    what was ``sent``."""
    view = await _load(ctx_of(request), user, workflow_id)
    return await _workflow_page(
        request,
        view,
        _saved_form(view),
        status_code=error.status,
        action_errors={action: error.detail},
        sent=sent,
    )


@get("/workflows/{workflow_id:str}", include_in_schema=False)
async def workflow_page(
    request: AnyRequest,
    workflow_id: WorkflowId,
    missing: Annotated[str | None, QueryParameter(max_length=2000)] = None,
    saved: Annotated[str | None, QueryParameter(max_length=8)] = None,
) -> Template:
    """The workflow: its source, latest runs, and the configuration form (``?missing=a,b``
    marks the fields a start needs)."""
    user = await signed_in_user(request)
    view = await _load(ctx_of(request), user, workflow_id)
    wanted = [m.strip() for m in (missing or "").split(",") if m.strip()]
    notice = "Saved." if saved else None
    return await _workflow_page(request, view, _saved_form(view, wanted), notice=notice)


@post("/workflows/{workflow_id:str}/config", include_in_schema=False)
async def save_config_page(request: AnyRequest, workflow_id: WorkflowId) -> Redirect | Template:
    """Save the form (typed values, storage roots, scene); ``action=start`` also starts a run.
    A refused form comes back with the registry's messages beside its fields (422)."""
    user = await signed_in_user(request)
    ctx = ctx_of(request)
    submitted = await form_lists(request)
    start = (submitted.get("action") or [""])[-1] == "start"
    view = await _load(ctx, user, workflow_id)
    spec = workspaces.stored_spec(view.row)
    config, errors = read_form(spec, workspaces.stored_config(view.row), submitted)
    try:
        workspaces.validate_config(view.row.spec, config, view.space)
    except InvalidInput as exc:
        errors += [e for e in exc.errors if e.field not in {x.field for x in errors}]
    if errors:
        form = build_form(spec, config, view.space, submitted=submitted, errors=errors)
        return await _workflow_page(request, view, form, status_code=422)
    async with ctx.db.write() as session:
        row, workspace = await workspaces.find_workflow(session, workflow_id, user)
        await workspaces.save_config(session, workflow=row, workspace=workspace, config=config)
    if not start:
        return see_other(f"/workflows/{workflow_id}?saved=1")
    try:
        execution, missing = await start_if_ready(ctx, user, workflow_id)
    except GalleryError as exc:
        view = await _load(ctx, user, workflow_id)
        field_errors = exc.errors if isinstance(exc, InvalidInput) else []
        form = build_form(spec, config, view.space, errors=field_errors)
        form.refused = "Saved, but these values keep it from starting:"
        return await _workflow_page(
            request,
            view,
            form,
            status_code=exc.status,
            problem=f"Saved, but not started: {exc.detail}",
        )
    if execution is None:
        return see_other(_workflow_url(workflow_id, missing))
    return see_other(f"/executions/{execution.id}")


@post("/workflows/{workflow_id:str}/start", include_in_schema=False)
async def start_page(request: AnyRequest, workflow_id: WorkflowId) -> Redirect:
    """Start a run with the saved configuration → the run; to the form when values are
    missing."""
    user = await signed_in_user(request)
    execution, missing = await start_if_ready(ctx_of(request), user, workflow_id)
    if execution is None:
        return see_other(_workflow_url(workflow_id, missing))
    return see_other(f"/executions/{execution.id}")


@post("/workflows/{workflow_id:str}/stop", include_in_schema=False)
async def stop_page(request: AnyRequest, workflow_id: WorkflowId) -> Redirect:
    """Stop the workflow's open run → ``next`` (default: the run)."""
    user = await signed_in_user(request)
    ctx = ctx_of(request)
    form = await form_data(request)
    async with ctx.db.read() as session:
        row, _ = await workspaces.find_workflow(session, workflow_id, user)
        running = await workspaces.open_execution(session, row)
    if running is None:
        raise Conflict(f"workflow {row.name!r} has no open run to stop")
    await actions.stop(ctx, user, running.execution_id)
    return see_other(safe_next(form.get("next"), f"/executions/{running.execution_id}"))


@post("/workflows/{workflow_id:str}/copy", include_in_schema=False)
async def copy_page(request: AnyRequest, workflow_id: WorkflowId) -> Redirect | Template:
    """A twin in the same workspace (``name``, default ``<name>_copy``) → its page, or
    ``next`` when given."""
    user = await signed_in_user(request)
    ctx = ctx_of(request)
    form = await form_data(request)
    name = form.get("name", "").strip()
    problem = _name_error(name)
    try:
        if problem is not None:
            raise InvalidInput(problem.message, [problem])
        async with ctx.db.write() as session:
            row, workspace = await workspaces.find_workflow(session, workflow_id, user)
            twin = await workspaces.copy_workflow(
                session,
                workflow=row,
                workspace=workspace,
                principal=user,
                data=WorkflowCopy(name=name or None),
            )
            twin_id = twin.workflow_id
    except (InvalidInput, Conflict) as exc:
        return await _refused(request, user, workflow_id, "copy", exc, {"copy_name": name})
    return see_other(safe_next(form.get("next"), f"/workflows/{twin_id}"))


@post("/workflows/{workflow_id:str}/delete", include_in_schema=False)
async def delete_page(request: AnyRequest, workflow_id: WorkflowId) -> Redirect | Template:
    """Delete the workflow when ``confirm`` is its name (and no run of it is open) → its
    workspace."""
    user = await signed_in_user(request)
    ctx = ctx_of(request)
    typed = (await form_data(request)).get("confirm", "")
    error: GalleryError | None = None
    async with ctx.db.write() as session:
        row, workspace = await workspaces.find_workflow(session, workflow_id, user)
        running = await workspaces.open_execution(session, row)
        if typed != row.name:
            error = InvalidInput.field(
                "confirm", "matches", f"type the workflow's name, {row.name}, to delete it"
            )
        elif running is not None:
            error = Conflict(
                f"{running.name} of {row.name} is {running.status}; stop it before deleting "
                "the workflow"
            )
        else:
            await session.delete(row)
        space = workspace.name
    if error is None:
        return see_other(f"/workspaces/{quote(space)}")
    return await _refused(request, user, workflow_id, "delete", error, {"confirm": typed})


PAGES = [
    run_asset_page,
    import_asset_page,
    workspaces_page,
    create_workspace_page,
    workspace_page,
    workflow_page,
    save_config_page,
    start_page,
    stop_page,
    copy_page,
    delete_page,
]
