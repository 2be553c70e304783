"""Workspaces (members only) and runtime workflows: import, configure, rename, copy, delete."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Awaitable, Callable

import semver
from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, load_only
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.models import User
from registry.accounts.service import Principal
from registry.assets.crud import find_asset
from registry.assets.import_checks import import_check
from registry.assets.schemas import TAG_RE
from registry.assets.version_reads import find_version, list_versions
from registry.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    problem_list,
    pydantic_errors,
)
from registry.executions.models import OPEN_STATUSES, Execution
from registry.models_base import NAME_RE, NAME_RULE, has_word, utcnow
from registry.workspaces.models import RuntimeWorkflow, Workspace, WorkspaceMember
from registry.workspaces.schemas import (
    WorkflowConfig,
    WorkflowCopy,
    WorkflowImport,
    WorkflowRead,
    WorkflowSummary,
    WorkflowUpdate,
    WorkspaceRead,
)
from registry.workspaces.storage import check_paths, namespace
from sdk import spec as ir

DEFAULT = "default"
ROOT_RE = re.compile(r"^/[A-Za-z0-9._-]+/([^/\x00]+/)*$")
ROOT_RULE = "an object-store directory written /<bucket>/<dir>/ (ending with '/')"
TAG_RULE = "1-32 characters, lower-case letters, digits, '_', '.', '+' or '-'"


async def ensure_default(session: AsyncSession, principal: Principal) -> Workspace:
    """Every user has a ``default`` workspace; it is made on first use."""
    found = (
        await session.exec(
            select(Workspace).where(
                Workspace.owner_id == principal.user_id, Workspace.name == DEFAULT
            )
        )
    ).first()
    if found is not None:
        return found
    return await _new_workspace(session, DEFAULT, principal)


async def _new_workspace(session: AsyncSession, name: str, principal: Principal) -> Workspace:
    """A workspace owned by the principal, who is its first member."""
    workspace = Workspace(name=name, owner_id=principal.user_id)
    session.add(workspace)
    await session.flush()
    assert workspace.id is not None
    session.add(WorkspaceMember(workspace_id=workspace.id, user_id=principal.user_id))
    await session.flush()
    return workspace


async def create_workspace(session: AsyncSession, *, name: str, principal: Principal) -> Workspace:
    taken = await session.exec(
        select(Workspace.id).where(Workspace.owner_id == principal.user_id, Workspace.name == name)
    )
    if taken.first() is not None:
        raise Conflict(f"you already have a workspace named {name!r}")
    return await _new_workspace(session, name, principal)


async def my_workspaces(session: AsyncSession, principal: Principal) -> list[WorkspaceRead]:
    rows = await session.exec(
        select(Workspace, User.username)
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .join(User, col(User.id) == col(Workspace.owner_id))
        .where(WorkspaceMember.user_id == principal.user_id)
        .order_by(col(Workspace.name))
    )
    return [
        WorkspaceRead(
            name=w.name, owner=owner, created_at=w.created_at, storage=namespace(owner, w.name)
        )
        for w, owner in rows
    ]


def stored_spec(workflow: RuntimeWorkflow) -> ir.WorkflowSpec:
    """The workflow's frozen spec; a 409 (not a 500) should a stored one no longer validate
    (written by an older server, or by hand)."""
    try:
        return ir.WorkflowSpec.model_validate(workflow.spec)
    except (ValidationError, TypeError, ValueError):
        raise Conflict(
            f"workflow {workflow.name!r} holds a spec this server cannot read; import or "
            "release it again"
        ) from None


def readable_spec(workflow: RuntimeWorkflow) -> ir.WorkflowSpec | None:
    """For reads that can do without it: the spec, or None when it cannot be read."""
    try:
        return stored_spec(workflow)
    except Conflict:
        return None


def stored_config(workflow: RuntimeWorkflow) -> WorkflowConfig:
    """The saved configuration; an unreadable one reads as empty (nothing is lost: the row
    keeps it until the next save)."""
    try:
        return WorkflowConfig.model_validate(workflow.config)
    except (ValidationError, TypeError, ValueError):
        return WorkflowConfig()


async def namespace_of(session: AsyncSession, workspace: Workspace) -> str:
    """The workspace's object-store namespace, ``/<owner>/<workspace>/``."""
    owner = (await session.exec(select(User.username).where(User.id == workspace.owner_id))).one()
    return namespace(owner, workspace.name)


async def find_workspace(session: AsyncSession, name: str, principal: Principal) -> Workspace:
    """A workspace the principal belongs to, by name (their own first); 404 otherwise."""
    if name == DEFAULT:
        return await ensure_default(session, principal)
    rows = await session.exec(
        select(Workspace)
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .where(WorkspaceMember.user_id == principal.user_id, Workspace.name == name)
        .order_by(col(Workspace.owner_id) != principal.user_id)
    )
    found = rows.first()
    if found is None:
        raise NotFound(f"no workspace {name!r}")
    return found


async def find_workflow(
    session: AsyncSession, workflow_id: str, principal: Principal
) -> tuple[RuntimeWorkflow, Workspace]:
    """A runtime workflow in one of the principal's workspaces; 404 for everyone else."""
    row = (
        await session.exec(
            select(RuntimeWorkflow, Workspace)
            .join(Workspace, col(Workspace.id) == col(RuntimeWorkflow.workspace_id))
            .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
            .where(
                RuntimeWorkflow.workflow_id == workflow_id,
                WorkspaceMember.user_id == principal.user_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no workflow {workflow_id!r}")
    return row[0], row[1]


async def _name_free(session: AsyncSession, workspace: Workspace, name: str) -> bool:
    taken = await session.exec(
        select(RuntimeWorkflow.id).where(
            RuntimeWorkflow.workspace_id == workspace.id, RuntimeWorkflow.name == name
        )
    )
    return taken.first() is None


async def release_workflow(
    session: AsyncSession,
    *,
    workspace: Workspace,
    data: WorkflowImport,
    principal: Principal,
    has_package: Callable[[int, str], Awaitable[bool]] | None = None,
) -> tuple[RuntimeWorkflow, bool]:
    """A compiled spec from the SDK: create the workflow, or update the one of that name
    (made by an earlier release). Returns the workflow and whether it is new.

    ``data.development``: a development workflow (``workflow.run()``/``debug()``), whose
    steps may run packages uploaded to the workspace (``has_package`` says which exist). A
    release of the same name later makes it an ordinary runtime workflow."""
    assert data.spec is not None
    try:
        spec = ir.WorkflowSpec.model_validate(data.spec, strict=True)
        ir.validate(spec)
    except ValidationError as exc:
        raise InvalidInput.of("workflow spec", pydantic_errors(exc, "spec")) from None
    except ir.SpecError as exc:
        raise InvalidInput.of("workflow spec", problem_list(exc.problems, "spec", "spec")) from None
    problems = []
    for step in spec.steps:
        props = step.typed_properties()
        if isinstance(props, ir.JobProperties) and props.algorithm.source == "local":
            problems.append(
                FieldError(
                    f"spec.steps.{step.name}.algorithm",
                    "published",
                    f"step {step.name!r} runs local code; the SDK publishes it first "
                    "(workflow.release() does this)",
                )
            )
    for step_name, sha in ir.workspace_packages(spec):
        where = f"spec.steps.{step_name}.algorithm"
        if not data.development:
            problems.append(
                FieldError(
                    where,
                    "published",
                    f"step {step_name!r} runs a workspace package, which only a development "
                    "workflow may (development: true); workflow.release() publishes the code",
                )
            )
        elif has_package is not None and not await has_package(workspace.id or 0, sha):
            problems.append(
                FieldError(
                    where,
                    "uploaded",
                    f"step {step_name!r} runs package {sha}, which workspace "
                    f"{workspace.name!r} does not hold; upload it first "
                    f"(PUT /workspaces/{workspace.name}/packages/{sha})",
                )
            )
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems)
    models = {(step, cid, ver) for step, cid, ver in ir.gallery_models(spec)}
    for step_name, content_id, version in ir.pinned_versions(spec):
        what = "reads model" if (step_name, content_id, version) in models else "runs algorithm"
        try:
            asset = await find_asset(session, content_id, principal)
            await find_version(session, asset, version, principal)
        except NotFound:
            raise InvalidInput.field(
                f"spec.steps.{step_name}",
                "readable",
                f"step {step_name!r} {what} {content_id}@{version}, which you cannot read",
            ) from None
    name = data.name or spec.name
    assert workspace.id is not None
    existing = (
        await session.exec(
            select(RuntimeWorkflow).where(
                RuntimeWorkflow.workspace_id == workspace.id, RuntimeWorkflow.name == name
            )
        )
    ).first()
    spec_json = spec.model_dump(mode="json")
    if existing is not None:
        if existing.source_content_id is not None:
            raise Conflict(
                f"workspace {workspace.name!r} has a workflow {name!r} imported from "
                f"{existing.source_content_id}; release under another name"
            )
        if data.development and not existing.development:
            raise Conflict(
                f"workspace {workspace.name!r} has a released workflow {name!r}; development "
                "runs need a workflow of their own: give another name "
                "(workflow.run(name=...)), or delete that one"
            )
        existing.development = data.development  # a release after development runs promotes it
        existing.spec = spec_json
        config = stored_config(existing)
        known = {p.name: p for p in spec.placeholders}
        storages = {s.name for s in spec.storages}
        kept = WorkflowConfig(
            # Saved values stay while their placeholder does and they still fit its type.
            placeholders={
                k: v
                for k, v in config.placeholders.items()
                if k in known and (v is None or ir.value_matches(known[k], v) is None)
            },
            storages={k: v for k, v in config.storages.items() if k in storages},
            scene=config.scene if config.scene in {s.name for s in spec.scenes} else None,
        )
        existing.config = kept.model_dump()
        existing.updated_at = utcnow()
        session.add(existing)
        await session.flush()
        return existing, False
    row = RuntimeWorkflow(
        workflow_id=str(uuid.uuid4()),
        workspace_id=workspace.id,
        name=name,
        spec=spec_json,
        config=WorkflowConfig().model_dump(),
        development=data.development,
        created_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    return row, True


async def import_workflow(
    session: AsyncSession, *, workspace: Workspace, data: WorkflowImport, principal: Principal
) -> RuntimeWorkflow:
    """Import a workflow version after checking access to it and every dependency."""
    if data.content_id is None:
        raise InvalidInput.field(
            "content_id", "required", "give content_id (to import) or spec (to release)"
        )
    asset = await find_asset(session, data.content_id, principal)
    if asset.kind != "workflow":
        raise InvalidInput.field(
            "content_id", "workflow", f"asset {asset.content_id} is a {asset.kind}, not a workflow"
        )
    if data.version is None:
        versions = [
            v for v in await list_versions(session, asset, principal) if v.status != "yanked"
        ]
        if not versions:
            raise NotFound(f"asset {asset.content_id} has no version you can import")
        version = max(versions, key=lambda v: semver.Version.parse(v.version))
    else:
        version = await find_version(session, asset, data.version, principal)
    check = await import_check(session, asset=asset, version=version, principal=principal)
    if not check.importable:
        reasons = "; ".join(f"{b.content_id}@{b.version}: {b.reason}" for b in check.blockers)
        raise Forbidden(
            f"{asset.content_id}@{version.version} cannot be imported: {reasons}",
            blockers=[b.model_dump() for b in check.blockers],
        )
    spec_json = version.manifest.get("spec") if isinstance(version.manifest, dict) else None
    if not isinstance(spec_json, dict):
        raise Conflict(f"{asset.content_id}@{version.version} holds no workflow spec to import")
    name = data.name or f"workflow_{secrets.token_hex(2)}"
    if not await _name_free(session, workspace, name):
        raise Conflict(f"workspace {workspace.name!r} already has a workflow named {name!r}")
    assert workspace.id is not None
    row = RuntimeWorkflow(
        workflow_id=str(uuid.uuid4()),
        workspace_id=workspace.id,
        name=name,
        source_content_id=asset.content_id,
        source_version=version.version,
        spec=spec_json,
        config=WorkflowConfig().model_dump(),
        created_by=principal.user_id,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            f"workspace {workspace.name!r} already has a workflow named {name!r}"
        ) from None
    return row


async def open_execution(session: AsyncSession, workflow: RuntimeWorkflow) -> Execution | None:
    """The workflow's execution that may still change, if any (one at a time)."""
    return (
        await session.exec(
            select(Execution).where(
                Execution.workflow_pk == workflow.id, col(Execution.status).in_(OPEN_STATUSES)
            )
        )
    ).first()


async def latest_status(session: AsyncSession, workflow: RuntimeWorkflow) -> str | None:
    """The status of the workflow's latest execution (None before the first)."""
    found = await session.exec(
        select(Execution.status)
        .where(Execution.workflow_pk == workflow.id)
        .order_by(col(Execution.number).desc())
        .limit(1)
    )
    return found.first()


def check_tag(tag: str) -> str:
    """A tag filter as tags are stored (lower case); a 422 naming ``tag`` otherwise."""
    word = tag.strip().lower()
    if not TAG_RE.fullmatch(word):
        raise InvalidInput.field("tag", "tag", f"{tag!r} is not a tag: {TAG_RULE}")
    return word


async def list_workflows(
    session: AsyncSession,
    workspace: Workspace,
    *,
    q: str | None = None,
    tag: str | None = None,
    status: str | None = None,
) -> list[WorkflowSummary]:
    """The workspace's workflows, latest change first, each with its latest execution; one
    query that reads neither specs nor configurations. ``status`` filters by the latest
    execution's status (``none``: never run), ``tag`` by one tag, ``q`` by part of the name."""
    if "\x00" in (q or ""):
        return []  # no name holds a NUL (and PostgreSQL refuses one in a parameter)
    numbers = (
        select(Execution.workflow_pk, func.max(Execution.number).label("number"))
        .join(RuntimeWorkflow, col(RuntimeWorkflow.id) == col(Execution.workflow_pk))
        .where(RuntimeWorkflow.workspace_id == workspace.id)
        .group_by(col(Execution.workflow_pk))
        .subquery()
    )
    latest = aliased(Execution)
    query = (
        select(RuntimeWorkflow, latest)
        .outerjoin(numbers, numbers.c.workflow_pk == col(RuntimeWorkflow.id))
        .outerjoin(
            latest,
            (col(latest.workflow_pk) == numbers.c.workflow_pk)
            & (col(latest.number) == numbers.c.number),
        )
        .where(RuntimeWorkflow.workspace_id == workspace.id)
        .options(
            load_only(*(getattr(RuntimeWorkflow, c) for c in SUMMARY_COLUMNS), raiseload=True),
            load_only(*(getattr(latest, c) for c in LATEST_COLUMNS), raiseload=True),
        )
    )
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(col(RuntimeWorkflow.name).like(pattern, escape="\\"))
    if tag:
        query = query.where(has_word(col(RuntimeWorkflow.tags_text), check_tag(tag)))
    if status == "none":
        query = query.where(numbers.c.number.is_(None))
    elif status:
        query = query.where(col(latest.status) == status)
    order = (col(RuntimeWorkflow.updated_at).desc(), col(RuntimeWorkflow.id).desc())
    rows = await session.exec(query.order_by(*order))
    return [
        WorkflowSummary(
            id=row.workflow_id,
            workspace=workspace.name,
            name=row.name,
            source_content_id=row.source_content_id,
            source_version=row.source_version,
            development=row.development,
            status=run.status if run else None,
            latest_execution=run.name if run else None,
            latest_execution_id=run.execution_id if run else None,
            latest_started_at=run.started_at if run else None,
            latest_finished_at=run.finished_at if run else None,
            tags=row.tags_text.split(),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row, run in rows
    ]


SUMMARY_COLUMNS = (
    "id",
    "workflow_id",
    "name",
    "source_content_id",
    "source_version",
    "development",
    "tags_text",
    "created_at",
    "updated_at",
)
"""What a workflow's summary reads of its row (never the spec or the configuration)."""
LATEST_COLUMNS = ("id", "execution_id", "number", "status", "started_at", "finished_at")


def validate_config(spec_json: dict[str, object], config: WorkflowConfig, space: str) -> None:
    """Check values against the spec and the workspace's namespace ``space``; a 422 names
    each placeholder, storage or scene."""
    spec = ir.WorkflowSpec.model_validate(spec_json)
    placeholders = {p.name: p for p in spec.placeholders}
    storages = {s.name for s in spec.storages}
    errors: list[FieldError] = []
    for name, value in config.placeholders.items():
        where = f"placeholders.{name}"
        if name not in placeholders:
            known = ", ".join(sorted(placeholders)) or "none"
            errors.append(FieldError(where, "exists", f"no placeholder {name!r} (has: {known})"))
        elif value is not None:
            problem = ir.value_matches(placeholders[name], value)
            if problem:
                errors.append(FieldError(where, placeholders[name].type, problem))
    for name, root in config.storages.items():
        where = f"storages.{name}"
        if name not in storages:
            errors.append(FieldError(where, "exists", f"no storage {name!r}"))
        elif not ROOT_RE.fullmatch(root):
            errors.append(FieldError(where, "root", f"{root!r} is not {ROOT_RULE}"))
    if not errors:
        errors = check_paths(spec, space, values=config.placeholders, storages=config.storages)
    if config.scene is not None and config.scene not in {s.name for s in spec.scenes}:
        known = ", ".join(s.name for s in spec.scenes) or "none"
        errors.append(FieldError("scene", "exists", f"no scene {config.scene!r} (has: {known})"))
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise InvalidInput(f"invalid configuration: {detail}", errors)


async def save_config(
    session: AsyncSession,
    *,
    workflow: RuntimeWorkflow,
    workspace: Workspace,
    config: WorkflowConfig,
) -> RuntimeWorkflow:
    validate_config(workflow.spec, config, await namespace_of(session, workspace))
    workflow.config = config.model_dump()
    workflow.updated_at = utcnow()
    session.add(workflow)
    await session.flush()
    return workflow


async def update_workflow(
    session: AsyncSession, *, workflow: RuntimeWorkflow, workspace: Workspace, data: WorkflowUpdate
) -> RuntimeWorkflow:
    if data.name is not None and data.name != workflow.name:
        if not await _name_free(session, workspace, data.name):
            raise Conflict(f"workspace {workspace.name!r} already has a workflow {data.name!r}")
        workflow.name = data.name
    if data.tags is not None:
        workflow.tags_text = " ".join(data.tags)
    workflow.updated_at = utcnow()
    session.add(workflow)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            f"workspace {workspace.name!r} already has a workflow {workflow.name!r}"
        ) from None
    return workflow


async def copy_workflow(
    session: AsyncSession,
    *,
    workflow: RuntimeWorkflow,
    workspace: Workspace,
    principal: Principal,
    data: WorkflowCopy | None = None,
) -> RuntimeWorkflow:
    """A twin with the same spec, configuration and tags, named ``data.name`` (409 when
    taken) or ``<name>_copy`` (``_copy2``… when taken)."""
    if data is not None and data.name is not None:
        name = data.name
        if not await _name_free(session, workspace, name):
            raise Conflict(f"workspace {workspace.name!r} already has a workflow named {name!r}")
    else:
        base = f"{workflow.name}_copy"
        name, n = base, 1
        while not await _name_free(session, workspace, name):
            n += 1
            name = f"{base}{n}"
        if not NAME_RE.fullmatch(name):
            raise InvalidInput.field(
                "name", "name", f"{name!r} would break the name rule ({NAME_RULE}); name the copy"
            )
    assert workspace.id is not None
    twin = RuntimeWorkflow(
        workflow_id=str(uuid.uuid4()),
        workspace_id=workspace.id,
        name=name,
        source_content_id=workflow.source_content_id,
        source_version=workflow.source_version,
        spec=workflow.spec,
        config=workflow.config,
        tags_text=workflow.tags_text,
        development=workflow.development,
        created_by=principal.user_id,
    )
    session.add(twin)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            f"workspace {workspace.name!r} already has a workflow named {name!r}"
        ) from None
    return twin


def to_read(
    workflow: RuntimeWorkflow, workspace: Workspace, status: str | None = None
) -> WorkflowRead:
    config = stored_config(workflow)
    return WorkflowRead(
        id=workflow.workflow_id,
        status=status,
        workspace=workspace.name,
        name=workflow.name,
        source_content_id=workflow.source_content_id,
        source_version=workflow.source_version,
        development=workflow.development,
        tags=workflow.tags_text.split(),
        config=config,
        spec=workflow.spec,
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
    )
