"""One-click Run: a catalog asset's version imported into a workspace (or the workflow already
imported from it reused) and started at once when every required placeholder has a value.

The API (``POST /api/v1/assets/{content_id}/run``), the web console's Run button and
``gallery run CONTENT_ID[@VERSION]`` all come here. Access is the import's and the start's:
an asset or version the user cannot read is a 404, a pinned dependency they may not use a 403.

It lives with executions, not workspaces: it builds on both (workspaces know executions only
as a table, see the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import semver
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.assets.crud import find_asset
from registry.assets.models import Asset, AssetVersion
from registry.assets.schemas import Name
from registry.assets.version_reads import find_version, list_versions
from registry.context import Context
from registry.errors import FieldError, InvalidInput, NotFound
from registry.executions import actions
from registry.executions.schemas import ExecutionRead, ExecutionStart
from registry.workspaces import service as workspaces
from registry.workspaces.models import RuntimeWorkflow, Workspace
from registry.workspaces.schemas import WorkflowConfig, WorkflowImport, WorkflowRead
from sdk import spec as ir


class QuickRunBody(BaseModel):
    """Run a workflow asset in one call: import ``version`` (default: the latest you may
    import) into ``workspace`` (default: your default one) as ``name`` (default: the workflow
    imported from that version before, else a new name), then start it with ``parameters``
    on top of its saved configuration when every required placeholder has a value."""

    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(default=None, min_length=1, max_length=128)
    workspace: Name | None = None
    name: Name | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class QuickRunRead(BaseModel):
    workflow: WorkflowRead
    execution: ExecutionRead | None = Field(
        description="The run started; null when required placeholders have no value yet"
    )
    missing: list[str] = Field(
        description="Required placeholders without a value (set them in the workflow's "
        "configuration, or pass them as parameters, and start it)"
    )
    reused: bool = Field(
        description="True when an existing workflow imported from this version was used "
        "instead of importing it again"
    )


@dataclass(frozen=True)
class QuickRun:
    """What a one-click run did: the workflow (imported, or reused when ``reused``), the
    execution it started, or None and the placeholders that still need a value."""

    workflow: WorkflowRead
    execution: ExecutionRead | None
    missing: list[str]
    reused: bool

    def read(self) -> QuickRunRead:
        return QuickRunRead(
            workflow=self.workflow,
            execution=self.execution,
            missing=self.missing,
            reused=self.reused,
        )


def missing_values(
    spec: ir.WorkflowSpec, config: WorkflowConfig, given: dict[str, Any] | None = None
) -> list[str]:
    """Required placeholders that neither a default, the saved configuration nor ``given``
    fills (delayed ones are asked for while running), in declaration order."""
    given = given or {}
    return [
        p.name
        for p in spec.placeholders
        if p.required
        and not p.delay
        and p.default is None
        and config.placeholders.get(p.name) is None
        and given.get(p.name) is None
    ]


def check_parameters(spec: ir.WorkflowSpec, parameters: dict[str, Any]) -> None:
    """A 422 naming each value (``parameters.NAME``) that is unknown or does not fit its type."""
    problems = ir.check_values(spec, parameters)
    if problems:
        errors = [FieldError(f"parameters.{name}", "placeholder", why) for name, why in problems]
        raise InvalidInput.of("parameters", errors)


async def start_if_ready(
    ctx: Context, user: Principal, workflow_id: str, parameters: dict[str, Any] | None = None
) -> tuple[ExecutionRead | None, list[str]]:
    """Start the workflow when every required placeholder has a value: (the execution, []);
    else (None, the placeholders still missing). Bad ``parameters`` are a 422."""
    async with ctx.db.read() as session:
        workflow, _ = await workspaces.find_workflow(session, workflow_id, user)
    spec = workspaces.stored_spec(workflow)
    check_parameters(spec, parameters or {})
    missing = missing_values(spec, workspaces.stored_config(workflow), parameters)
    if missing:
        return None, missing
    return await _launch(ctx, user, workflow_id, parameters), []


async def _launch(
    ctx: Context, user: Principal, workflow_id: str, parameters: dict[str, Any] | None
) -> ExecutionRead:
    return await actions.launch(
        ctx, user, workflow_id, ExecutionStart(parameters=dict(parameters or {}))
    )


async def latest_importable(
    session: AsyncSession, asset: Asset, principal: Principal
) -> AssetVersion:
    """The highest version of the asset the principal can read that is not yanked (what an
    import without a version takes)."""
    versions = [v for v in await list_versions(session, asset, principal) if v.status != "yanked"]
    if not versions:
        raise NotFound(f"asset {asset.content_id} has no version you can import")
    return max(versions, key=lambda v: semver.Version.parse(v.version))


async def _imported_before(
    session: AsyncSession, workspace: Workspace, content_id: str, version: str, name: str | None
) -> RuntimeWorkflow | None:
    """The workspace's workflow imported from this version (named ``name`` when given); of
    several, one without an open run, most recently changed first."""
    query = select(RuntimeWorkflow).where(
        RuntimeWorkflow.workspace_id == workspace.id,
        RuntimeWorkflow.source_content_id == content_id,
        RuntimeWorkflow.source_version == version,
    )
    if name is not None:
        query = query.where(RuntimeWorkflow.name == name)
    rows = await session.exec(
        query.order_by(col(RuntimeWorkflow.updated_at).desc(), col(RuntimeWorkflow.id).desc())
    )
    found = list(rows.all())
    for row in found:
        if await workspaces.open_execution(session, row) is None:
            return row
    return found[0] if found else None


async def _name_after(session: AsyncSession, workspace: Workspace, asset: Asset) -> str | None:
    """A name for a new import: the asset's own, or ``<name>_2`` … when taken (None: the
    import picks one)."""
    taken = set(
        (
            await session.exec(
                select(RuntimeWorkflow.name).where(
                    RuntimeWorkflow.workspace_id == workspace.id,
                    col(RuntimeWorkflow.name).startswith(asset.name, autoescape=True),
                )
            )
        ).all()
    )
    for number in range(1, 100):
        name = asset.name if number == 1 else f"{asset.name}_{number}"
        if name not in taken and ir.NAME_RE.fullmatch(name):
            return name
    return None


async def run_asset(
    ctx: Context,
    user: Principal,
    content_id: str,
    version: str | None = None,
    *,
    workspace: str | None = None,
    name: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> QuickRun:
    """Import ``content_id@version`` (default: the latest importable version) into
    ``workspace`` (default: the user's default one) as ``name`` (default: the asset's name,
    ``<name>_2`` … when taken), or reuse the workflow imported from that version there before;
    then start it when every required placeholder has a value."""
    async with ctx.db.write() as session:
        space = await workspaces.find_workspace(session, workspace or workspaces.DEFAULT, user)
        asset = await find_asset(session, content_id, user)
        if asset.kind != "workflow":
            raise InvalidInput.field(
                "content_id",
                "workflow",
                f"asset {asset.content_id} is a {asset.kind}, not a workflow: only workflows run",
            )
        if version is None:
            chosen = await latest_importable(session, asset, user)
        else:
            chosen = await find_version(session, asset, version, user)
        row = await _imported_before(session, space, asset.content_id, chosen.version, name)
        reused = row is not None
        if row is None:
            row = await workspaces.import_workflow(
                session,
                workspace=space,
                data=WorkflowImport(
                    content_id=asset.content_id,
                    version=chosen.version,
                    name=name or await _name_after(session, space, asset),
                ),
                principal=user,
            )
        workflow_id = row.workflow_id
        # Checked before the import is committed: bad values import nothing.
        spec = workspaces.stored_spec(row)
        check_parameters(spec, parameters or {})
        missing = missing_values(spec, workspaces.stored_config(row), parameters)
    execution = None if missing else await _launch(ctx, user, workflow_id, parameters)
    async with ctx.db.read() as session:
        row, space = await workspaces.find_workflow(session, workflow_id, user)
        status = await workspaces.latest_status(session, row)
    return QuickRun(workspaces.to_read(row, space, status), execution, missing, reused)
