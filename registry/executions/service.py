"""Executions: start (one open run per workflow), read, label, delete, compare, the to-do list.

Progress itself is the runner's: these functions create records and read what the runner wrote;
continue, retry and stop go to the execution workflow through :mod:`runner_client`.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.models import User
from registry.accounts.service import Principal, principal_for
from registry.assets.import_checks import use_check
from registry.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from registry.executions.models import OPEN_STATUSES, Execution, Experiment, StepRun
from registry.executions.schemas import (
    CompareRow,
    ExecutionRead,
    ExecutionStart,
    ExecutionSummary,
    ExperimentRead,
    StepRead,
    TodoItem,
    WaitingInput,
)
from registry.labeling.models import WAITING_FOR as LABELS
from registry.labeling.models import LabelTask
from registry.models_base import has_word, utcnow
from registry.settings import Settings
from registry.workspaces.models import RuntimeWorkflow, Workspace, WorkspaceMember
from registry.workspaces.schemas import WorkflowConfig
from registry.workspaces.service import (
    namespace_of,
    open_execution,
    readable_spec,
    stored_config,
    stored_spec,
)
from registry.workspaces.storage import check_paths
from sdk import spec as ir

MAX_COMPARE = 20


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return round(((end or utcnow()) - start).total_seconds(), 3)


def _problems(prefix: str, problems: list[tuple[str, str]]) -> InvalidInput:
    errors = [FieldError(f"{prefix}.{name}", "placeholder", why) for name, why in problems]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return InvalidInput(f"invalid placeholder values: {detail}", errors)


async def latest_outputs(
    session: AsyncSession,
    workflow: RuntimeWorkflow,
    steps: set[str],
    experiment: Experiment | None = None,
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict[str, float]]]]:
    """Outputs and float metrics of each step's latest successful run in this workflow (of
    those recorded under ``experiment``, when given)."""
    if not steps:
        return {}, {}
    query = (
        select(StepRun.name, StepRun.outputs, StepRun.metrics)
        .join(Execution, col(Execution.id) == col(StepRun.execution_pk))
        .where(
            Execution.workflow_pk == workflow.id,
            StepRun.status == "succeeded",
            col(StepRun.name).in_(steps),
        )
        .order_by(col(Execution.number).desc())
    )
    if experiment is not None:
        query = query.where(Execution.experiment_pk == experiment.id)
    rows = await session.exec(query)
    outputs: dict[str, dict[str, str]] = {}
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for name, step_outputs, step_metrics in rows:
        if name in outputs:
            continue
        outputs[name] = {k: v for k, v in (step_outputs or {}).items() if isinstance(v, str)}
        metrics[name] = {
            output: {e["key"]: value for e in entries if (value := _float_metric(e)) is not None}
            for output, entries in (step_metrics or {}).items()
            if isinstance(entries, list)
        }
    return outputs, metrics


def _float_metric(entry: Any) -> float | None:
    """A stored ``float`` metric's value, or None for anything else (never an error)."""
    if not isinstance(entry, dict) or entry.get("type") != "float":
        return None
    if not isinstance(entry.get("key"), str) or not isinstance(entry.get("data"), dict):
        return None
    value = entry["data"].get("value")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def resolve_parameters(
    spec: ir.WorkflowSpec,
    config: WorkflowConfig,
    given: dict[str, Any],
    *,
    complete: bool = True,
) -> dict[str, Any]:
    """Defaults, then saved values, then the request's; every required one must have a value
    (delayed ones are asked for when their step is reached; with ``complete`` False — a debug
    run — before each step starts)."""
    problems = ir.check_values(spec, given)
    if problems:
        raise _problems("parameters", problems)
    values: dict[str, Any] = {}
    for placeholder in spec.placeholders:
        if placeholder.default is not None:
            values[placeholder.name] = placeholder.default
    saved = {k: v for k, v in config.placeholders.items() if v is not None}
    stale = ir.check_values(spec, saved)
    if stale:
        errors = [FieldError(f"config.placeholders.{n}", "placeholder", w) for n, w in stale]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise InvalidInput(
            f"the saved configuration no longer fits the workflow: {detail}; save it again",
            errors,
        )
    values.update(saved)
    values.update(given)
    missing = [
        p.name
        for p in spec.placeholders
        if p.required and not p.delay and values.get(p.name) is None
    ]
    if missing and complete:
        raise _problems("parameters", [(name, "needs a value") for name in missing])
    return values


async def pinned_blockers(
    session: AsyncSession, workflow: RuntimeWorkflow, spec: ir.WorkflowSpec, owner: Principal
) -> None:
    """Refuse (403, listing them) when the workspace's owner may no longer use a version the
    workflow pins: its source version and every algorithm its steps run."""
    pins = [(content_id, version) for _, content_id, version in ir.pinned_versions(spec)]
    if workflow.source_content_id and workflow.source_version:
        pins.insert(0, (workflow.source_content_id, workflow.source_version))
    blockers = await use_check(session, pins=pins, principal=owner)
    if blockers:
        reasons = "; ".join(f"{b.content_id}@{b.version}: {b.reason}" for b in blockers)
        raise Forbidden(
            f"workflow {workflow.name!r} cannot run: {reasons}",
            blockers=[b.model_dump() for b in blockers],
        )


async def start_execution(
    session: AsyncSession,
    *,
    workflow: RuntimeWorkflow,
    workspace: Workspace,
    data: ExecutionStart,
    principal: Principal,
    settings: Settings,
) -> tuple[Execution, ir.ExecutionInput]:
    """Create the records of a new run; the caller starts it in Temporal after the commit."""
    # Serialise starts of one workflow (PostgreSQL row lock; SQLite writers are serial).
    await session.exec(
        select(RuntimeWorkflow.id).where(RuntimeWorkflow.id == workflow.id).with_for_update()
    )
    running = await open_execution(session, workflow)
    if running is not None:
        raise Conflict(
            f"workflow {workflow.name!r} already has an open execution ({running.name}, "
            f"{running.status}); stop it or let it finish first",
            execution_id=running.execution_id,
        )
    spec = stored_spec(workflow)
    config = stored_config(workflow)
    parameters = resolve_parameters(spec, config, data.parameters, complete=not data.debug)
    space = await namespace_of(session, workspace)
    strays = check_paths(
        spec,
        space,
        values=parameters,
        storages=config.storages,
        values_field="parameters",
        storages_field="config.storages",
    )
    if strays:
        detail = "; ".join(f"{e.field}: {e.message}" for e in strays)
        raise InvalidInput(f"invalid paths: {detail}", strays)
    if not workflow.development and ir.workspace_packages(spec):
        # Only a development workflow runs workspace packages (releases and publishing refuse
        # them elsewhere); a record that says otherwise is not trusted.
        raise Conflict(
            f"workflow {workflow.name!r} runs workspace packages but is not a development workflow"
        )
    owner = await _owner(session, workspace)
    await pinned_blockers(session, workflow, spec, owner)
    if data.scene is not None and data.steps is not None:
        raise InvalidInput.field("steps", "exclusive", "give scene or steps, not both")
    scene = data.scene if data.scene is not None or data.steps is not None else config.scene
    experiment = (
        await experiment_for(session, workspace, data.experiment, principal)
        if data.experiment is not None
        else None
    )
    steps = [s.name for s in spec.steps]
    entry_outputs: dict[str, dict[str, str]] = {}
    entry_metrics: dict[str, dict[str, dict[str, float]]] = {}
    if scene is not None or data.steps is not None:
        outside = {s.name for s in spec.steps}
        field = "scene" if scene is not None else "steps"
        if scene is not None:
            found = {s.name: s for s in spec.scenes}
            if scene not in found:
                known = ", ".join(found) or "none"
                raise InvalidInput.field("scene", "exists", f"no scene {scene!r} (has: {known})")
            members = set(found[scene].steps)
            what_runs = f"scene {scene!r}"
        else:
            assert data.steps is not None
            members = set(data.steps)
            unknown = sorted(members - outside)
            if unknown:
                known = ", ".join(s.name for s in spec.steps)
                raise InvalidInput.field(
                    "steps", "exists", f"no step {', '.join(unknown)} (steps: {known})"
                )
            what_runs = f"steps {', '.join(n for n in ir.topological_order(spec) if n in members)}"
        outputs, metrics = await latest_outputs(session, workflow, outside - members, experiment)
        available = [(step, out) for step, outs in outputs.items() for out in outs]
        available += [(step, out) for step, outs in metrics.items() for out in outs]
        plan = ir.plan_steps(spec, members, available)
        if plan.missing:
            what = ", ".join(f"{step}.{out}" for step, out in plan.missing)
            where = (
                f"no successful run of experiment {experiment.name!r}"
                if experiment is not None
                else "no successful execution of this workflow"
            )
            raise InvalidInput.field(
                field,
                "inputs",
                f"{what_runs} read {what}, which {where} has produced; run the whole workflow "
                "(or the steps that make it) first",
            )
        steps = plan.steps
        needed = {step for step, _ in plan.entry_outputs}
        entry_outputs = {k: v for k, v in outputs.items() if k in needed}
        entry_metrics = {k: v for k, v in metrics.items() if k in needed}
    number = (
        await session.exec(
            select(func.coalesce(func.max(Execution.number), 0)).where(
                Execution.workflow_pk == workflow.id
            )
        )
    ).one() + 1
    assert workflow.id is not None
    execution = Execution(
        execution_id=str(uuid.uuid4()),
        workflow_pk=workflow.id,
        number=number,
        scene=scene,
        steps_text=" ".join(steps) if data.steps is not None else None,
        experiment_pk=experiment.id if experiment is not None else None,
        debug=data.debug,
        parameters=parameters,
        storages=dict(config.storages),
        labels_text=" ".join(data.labels),
        started_by=principal.user_id,
    )
    session.add(execution)
    await session.flush()
    assert execution.id is not None
    order = ir.topological_order(spec)
    chosen = set(steps)
    for position, name in enumerate(order):
        if name in chosen:
            session.add(
                StepRun(
                    execution_pk=execution.id,
                    name=name,
                    position=position,
                    type=spec.step(name).type,
                )
            )
    await session.flush()
    message = ir.ExecutionInput(
        execution_id=execution.execution_id,
        workflow_id=workflow.workflow_id,
        namespace=space,
        spec=spec,
        parameters=parameters,
        storages=dict(config.storages),
        steps=[n for n in order if n in chosen],
        entry_outputs=entry_outputs,
        entry_metrics=entry_metrics,
        flavor_queues=settings.flavor_queues,
        task_queue=settings.task_queue,
        open_seconds=settings.execution_open_seconds,
        gated=data.debug,
    )
    return execution, message


async def experiment_for(
    session: AsyncSession, workspace: Workspace, name: str, principal: Principal
) -> Experiment:
    """The workspace's experiment of that name (or id), made on first use."""
    assert workspace.id is not None
    found = (
        await session.exec(
            select(Experiment).where(
                Experiment.workspace_id == workspace.id,
                (col(Experiment.name) == name) | (col(Experiment.experiment_id) == name),
            )
        )
    ).first()
    if found is not None:
        return found
    experiment = Experiment(
        experiment_id=str(uuid.uuid4()),
        workspace_id=workspace.id,
        name=name,
        created_by=principal.user_id,
    )
    try:
        async with session.begin_nested():  # another start may make it at the same moment
            session.add(experiment)
    except IntegrityError:
        return await experiment_for(session, workspace, name, principal)
    return experiment


async def mark_unstarted(session: AsyncSession, execution_id: str, error: str) -> None:
    """The runner refused or could not be reached: the record says so (nothing is lost)."""
    row = (
        await session.exec(select(Execution).where(Execution.execution_id == execution_id))
    ).first()
    if row is not None:
        row.status = "failed"
        row.error = error
        row.finished_at = utcnow()
        session.add(row)


async def find_execution(
    session: AsyncSession, execution_id: str, principal: Principal
) -> tuple[Execution, RuntimeWorkflow, Workspace]:
    """An execution in one of the principal's workspaces; 404 for everyone else."""
    row = (
        await session.exec(
            select(Execution, RuntimeWorkflow, Workspace)
            .join(RuntimeWorkflow, col(RuntimeWorkflow.id) == col(Execution.workflow_pk))
            .join(Workspace, col(Workspace.id) == col(RuntimeWorkflow.workspace_id))
            .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
            .where(
                Execution.execution_id == execution_id,
                WorkspaceMember.user_id == principal.user_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no execution {execution_id!r}")
    return row[0], row[1], row[2]


async def steps_of(session: AsyncSession, execution: Execution) -> list[StepRun]:
    rows = await session.exec(
        select(StepRun).where(StepRun.execution_pk == execution.id).order_by(col(StepRun.position))
    )
    return list(rows.all())


async def find_step(session: AsyncSession, execution: Execution, name: str) -> StepRun:
    row = (
        await session.exec(
            select(StepRun).where(StepRun.execution_pk == execution.id, StepRun.name == name)
        )
    ).first()
    if row is None:
        raise NotFound(f"{execution.name} has no step {name!r}")
    return row


def waiting_inputs(spec: ir.WorkflowSpec | None, names: list[str]) -> list[WaitingInput]:
    """What a waiting step asks for (nothing, should the workflow's spec be unreadable)."""
    placeholders = {p.name: p for p in spec.placeholders} if spec is not None else {}
    return [
        WaitingInput(
            name=n,
            type=placeholders[n].type,
            default=placeholders[n].default,
            enum_list=placeholders[n].enum_list,
            description=placeholders[n].description,
        )
        for n in names
        if n in placeholders
    ]


def step_read(step: StepRun, spec: ir.WorkflowSpec | None) -> StepRead:
    return StepRead(
        name=step.name,
        type=step.type,
        status=step.status,
        attempt=step.attempt,
        started_at=step.started_at,
        finished_at=step.finished_at,
        duration_seconds=_duration(step.started_at, step.finished_at),
        inputs=step.inputs,
        outputs=step.outputs,
        parameters=step.parameters,
        metrics=step.metrics,
        waiting_for=waiting_inputs(spec, step.waiting_for),
        error=step.error,
        has_log=step.log_key is not None,
    )


def to_read(
    execution: Execution,
    workflow: RuntimeWorkflow,
    workspace: Workspace,
    steps: list[StepRun],
    experiment: Experiment | None = None,
) -> ExecutionRead:
    spec = readable_spec(workflow)
    return ExecutionRead(
        id=execution.execution_id,
        name=execution.name,
        workflow_id=workflow.workflow_id,
        workflow_name=workflow.name,
        workspace=workspace.name,
        status=execution.status,
        scene=execution.scene,
        chosen_steps=execution.steps_text.split() if execution.steps_text else None,
        experiment=experiment.name if experiment is not None else None,
        experiment_id=experiment.experiment_id if experiment is not None else None,
        debug=execution.debug,
        development=workflow.development,
        parameters=execution.parameters,
        storages=execution.storages,
        labels=execution.labels_text.split(),
        error=execution.error,
        created_at=execution.created_at,
        started_at=execution.started_at,
        finished_at=execution.finished_at,
        duration_seconds=_duration(execution.started_at, execution.finished_at),
        steps=[step_read(s, spec) for s in steps],
    )


EXECUTION_NAME_RE = re.compile(r"^execution-(\d{1,9})$")
MAX_FOUND = 500
CURRENT = ("running", "waiting_input")
ENDED_AT = ("failed", "stopped")


def execution_number(name: str) -> int:
    """The number of ``execution-002`` (422 for anything else)."""
    found = EXECUTION_NAME_RE.fullmatch(name)
    if found is None:
        raise InvalidInput.field(
            "name", "format", f"{name!r} is not an execution name (like execution-002)"
        )
    return int(found.group(1))


def to_summary(
    execution: Execution,
    workflow: RuntimeWorkflow,
    workspace: Workspace,
    current_step: str | None = None,
) -> ExecutionSummary:
    return ExecutionSummary(
        id=execution.execution_id,
        name=execution.name,
        workflow_id=workflow.workflow_id,
        workflow_name=workflow.name,
        workspace=workspace.name,
        status=execution.status,
        current_step=current_step,
        scene=execution.scene,
        labels=execution.labels_text.split(),
        created_at=execution.created_at,
        started_at=execution.started_at,
        finished_at=execution.finished_at,
        duration_seconds=_duration(execution.started_at, execution.finished_at),
    )


async def current_steps(session: AsyncSession, executions: list[Execution]) -> dict[int, str]:
    """Execution pk → its running or waiting steps, else the steps it failed or stopped at
    (comma-separated, in DAG order); absent when none is."""
    pks = [e.id for e in executions if e.id is not None]
    found: dict[int, dict[str, list[str]]] = {}
    for start in range(0, len(pks), MAX_FOUND):
        rows = await session.exec(
            select(StepRun.execution_pk, StepRun.name, StepRun.status)
            .where(
                col(StepRun.execution_pk).in_(pks[start : start + MAX_FOUND]),
                col(StepRun.status).in_(CURRENT + ENDED_AT),
            )
            .order_by(col(StepRun.execution_pk), col(StepRun.position))
        )
        for pk, name, status in rows:
            kind = "current" if status in CURRENT else "ended"
            found.setdefault(pk, {}).setdefault(kind, []).append(name)
    return {pk: ", ".join(kinds.get("current") or kinds["ended"]) for pk, kinds in found.items()}


async def summaries(
    session: AsyncSession, rows: list[tuple[Execution, RuntimeWorkflow, Workspace]]
) -> list[ExecutionSummary]:
    current = await current_steps(session, [execution for execution, _, _ in rows])
    return [
        to_summary(execution, workflow, workspace, current.get(execution.id or 0))
        for execution, workflow, workspace in rows
    ]


async def list_executions(
    session: AsyncSession,
    workflow: RuntimeWorkflow,
    *,
    status: str | None,
    label: str | None,
    number: int | None = None,
) -> list[Execution]:
    if "\x00" in (label or ""):
        return []  # no label holds a NUL (and PostgreSQL refuses one in a parameter)
    query = select(Execution).where(Execution.workflow_pk == workflow.id)
    if status:
        query = query.where(Execution.status == status)
    if label:
        query = query.where(has_word(col(Execution.labels_text), label))
    if number is not None:
        query = query.where(Execution.number == number)
    rows = await session.exec(query.order_by(col(Execution.number).desc()))
    return list(rows.all())


async def find_executions(
    session: AsyncSession,
    principal: Principal,
    *,
    number: int | None = None,
    workflow: str | None = None,
    workspace: str | None = None,
    status: str | None = None,
    label: str | None = None,
    limit: int = MAX_FOUND,
) -> list[tuple[Execution, RuntimeWorkflow, Workspace]]:
    """Executions in the principal's workspaces, newest first: by number, workflow (name or
    id), workspace name, status and label (one of its labels, as ``list_executions``). How
    ``WORKFLOW/execution-002`` is looked up."""
    if "\x00" in (workflow or "") + (workspace or "") + (label or ""):
        return []  # no name or label holds a NUL (and PostgreSQL refuses one in a parameter)
    query = (
        select(Execution, RuntimeWorkflow, Workspace)
        .join(RuntimeWorkflow, col(RuntimeWorkflow.id) == col(Execution.workflow_pk))
        .join(Workspace, col(Workspace.id) == col(RuntimeWorkflow.workspace_id))
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .where(WorkspaceMember.user_id == principal.user_id)
    )
    if number is not None:
        query = query.where(Execution.number == number)
    if workflow:
        query = query.where(
            or_(col(RuntimeWorkflow.name) == workflow, col(RuntimeWorkflow.workflow_id) == workflow)
        )
    if workspace:
        query = query.where(Workspace.name == workspace)
    if status:
        query = query.where(Execution.status == status)
    if label:
        query = query.where(has_word(col(Execution.labels_text), label))
    query = query.order_by(col(Execution.created_at).desc(), col(Execution.id).desc())
    rows = await session.exec(query.limit(limit))
    return [(e, w, s) for e, w, s in rows]


def _waiting_for(principal: Principal, *columns: Any) -> Any:
    """Steps waiting for input in executions of the principal's workspaces (``columns``)."""
    return (
        select(*columns)
        .select_from(StepRun)
        .join(Execution, col(Execution.id) == col(StepRun.execution_pk))
        .join(RuntimeWorkflow, col(RuntimeWorkflow.id) == col(Execution.workflow_pk))
        .join(Workspace, col(Workspace.id) == col(RuntimeWorkflow.workspace_id))
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .where(StepRun.status == "waiting_input", WorkspaceMember.user_id == principal.user_id)
    )


async def todo_count(session: AsyncSession, principal: Principal) -> int:
    """How many steps wait for the principal's input (the console's header badge)."""
    count = (await session.exec(_waiting_for(principal, func.count()))).one()
    return int(count)


async def todo(session: AsyncSession, principal: Principal) -> list[TodoItem]:
    """Steps waiting for input in executions of the principal's workspaces."""
    rows = await session.exec(
        _waiting_for(principal, StepRun, Execution, RuntimeWorkflow, Workspace).order_by(
            col(Execution.created_at)
        )
    )
    items = []
    found = rows.all()
    tasks = await label_tasks(session, [e.execution_id for _, e, _, _ in found])
    for step, execution, workflow, workspace in found:
        spec = readable_spec(workflow)
        items.append(
            TodoItem(
                execution_id=execution.execution_id,
                execution_name=execution.name,
                workflow_id=workflow.workflow_id,
                workflow_name=workflow.name,
                workspace=workspace.name,
                step=step.name,
                waiting_for=waiting_inputs(spec, step.waiting_for),
                label_task=tasks.get((execution.execution_id, step.name))
                if LABELS in step.waiting_for
                else None,
            )
        )
    return items


async def label_tasks(
    session: AsyncSession, execution_ids: list[str]
) -> dict[tuple[str, str], str]:
    """(execution id, step) → the id of the label task the step waits on."""
    if not execution_ids:
        return {}
    rows = await session.exec(
        select(LabelTask.execution_id, LabelTask.step, LabelTask.task_id).where(
            col(LabelTask.execution_id).in_(execution_ids)
        )
    )
    return {(e, s): t for e, s, t in rows if e is not None and s is not None}


async def list_experiments(session: AsyncSession, workspace: Workspace) -> list[ExperimentRead]:
    """The workspace's experiments, newest first, with their run counts and latest status."""
    experiments = (
        await session.exec(
            select(Experiment)
            .where(Experiment.workspace_id == workspace.id)
            .order_by(col(Experiment.created_at).desc(), col(Experiment.id).desc())
        )
    ).all()
    return [await experiment_read(session, e, workspace) for e in experiments]


async def experiment_read(
    session: AsyncSession, experiment: Experiment, workspace: Workspace
) -> ExperimentRead:
    runs = (
        await session.exec(
            select(Execution.status)
            .where(Execution.experiment_pk == experiment.id)
            .order_by(col(Execution.created_at).desc(), col(Execution.id).desc())
        )
    ).all()
    return ExperimentRead(
        id=experiment.experiment_id,
        name=experiment.name,
        workspace=workspace.name,
        created_at=experiment.created_at,
        runs=len(runs),
        latest_status=runs[0] if runs else None,
    )


async def find_experiment(
    session: AsyncSession, experiment_id: str, principal: Principal
) -> tuple[Experiment, Workspace]:
    """An experiment in one of the principal's workspaces; 404 for everyone else."""
    row = (
        await session.exec(
            select(Experiment, Workspace)
            .join(Workspace, col(Workspace.id) == col(Experiment.workspace_id))
            .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
            .where(
                Experiment.experiment_id == experiment_id,
                WorkspaceMember.user_id == principal.user_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no experiment {experiment_id!r}")
    return row[0], row[1]


async def experiment_runs(session: AsyncSession, experiment: Experiment) -> list[ExecutionSummary]:
    """The runs recorded under an experiment, newest first."""
    rows = await session.exec(
        select(Execution, RuntimeWorkflow, Workspace)
        .join(RuntimeWorkflow, col(RuntimeWorkflow.id) == col(Execution.workflow_pk))
        .join(Workspace, col(Workspace.id) == col(RuntimeWorkflow.workspace_id))
        .where(Execution.experiment_pk == experiment.id)
        .order_by(col(Execution.created_at).desc(), col(Execution.id).desc())
    )
    return await summaries(session, [(e, w, s) for e, w, s in rows])


async def experiment_of(session: AsyncSession, execution: Execution) -> Experiment | None:
    if execution.experiment_pk is None:
        return None
    return await session.get(Experiment, execution.experiment_pk)


def check_next(
    spec: ir.WorkflowSpec, execution: Execution, values: dict[str, Any], space: str
) -> None:
    """A *next* of a debug run: it must be one, and the values must fit (the runner checks
    what is ready and what the step still needs)."""
    if not execution.debug:
        raise Conflict(
            f"{execution.name} is not a debug run: its steps start by themselves (continue a "
            "waiting step instead)"
        )
    if execution.status not in OPEN_STATUSES:
        raise Conflict(f"{execution.name} has {execution.status}; nothing is next")
    problems = ir.check_values(spec, values)
    if problems:
        raise _problems("values", problems)
    _inside(spec, space, values, "values")


async def compare(session: AsyncSession, ids: list[str], principal: Principal) -> list[CompareRow]:
    if not ids:
        raise InvalidInput.field("ids", "required", "give execution ids to compare")
    if len(ids) > MAX_COMPARE:
        raise InvalidInput.field("ids", "max", f"compare at most {MAX_COMPARE} executions")
    rows = []
    for execution_id in dict.fromkeys(ids):
        execution, workflow, _ = await find_execution(session, execution_id, principal)
        metrics: dict[str, float] = {}
        for step in await steps_of(session, execution):
            for entries in (step.metrics or {}).values():
                for entry in entries if isinstance(entries, list) else []:
                    value = _float_metric(entry)
                    if value is not None:
                        metrics[f"{step.name}.{entry['key']}"] = value
        rows.append(
            CompareRow(
                id=execution.execution_id,
                name=execution.name,
                workflow_id=workflow.workflow_id,
                workflow_name=workflow.name,
                status=execution.status,
                started_at=execution.started_at,
                duration_seconds=_duration(execution.started_at, execution.finished_at),
                parameters=execution.parameters,
                metrics=metrics,
            )
        )
    return rows


async def _owner(session: AsyncSession, workspace: Workspace) -> Principal:
    user = await session.get(User, workspace.owner_id)
    assert user is not None
    return await principal_for(session, user)


def check_continue(
    spec: ir.WorkflowSpec, execution: Execution, step: StepRun, values: dict[str, Any], space: str
) -> None:
    """The registry's own check before the workflow's validator: clear 409s and 422s."""
    if step.status != "waiting_input":
        raise Conflict(f"step {step.name!r} of {execution.name} is {step.status}, not waiting")
    needed = ir.delayed_placeholders(spec, spec.step(step.name))
    errors = [
        (name, f"step {step.name!r} does not take {name!r} (it waits for {', '.join(needed)})")
        for name in values
        if name not in needed
    ]
    people = waits_for_people(spec, step)  # a labeling step: labels, not placeholder values
    errors += [
        (name, "needs a value")
        for name in step.waiting_for
        if name not in values and not (people and name == LABELS)
    ]
    errors += ir.check_values(spec, {k: v for k, v in values.items() if k in needed})
    if errors:
        raise _problems("inputs", errors)
    _inside(spec, space, values, "inputs")


def waits_for_people(spec: ir.WorkflowSpec, step: StepRun) -> bool:
    """A labeling step waiting for its labels (``registry.labeling`` checks its rule)."""
    return LABELS in step.waiting_for and spec.step(step.name).type == "labeling"


def _inside(spec: ir.WorkflowSpec, space: str, values: dict[str, Any], field: str) -> None:
    outside = check_paths(spec, space, values=values, values_field=field)
    if outside:
        detail = "; ".join(f"{e.field}: {e.message}" for e in outside)
        raise InvalidInput(f"invalid paths: {detail}", outside)


def check_retry(
    spec: ir.WorkflowSpec,
    execution: Execution,
    step: StepRun,
    parameters: dict[str, Any],
    space: str,
) -> None:
    if step.status not in ("failed", "stopped"):
        raise Conflict(
            f"step {step.name!r} of {execution.name} is {step.status}; only a failed or "
            "stopped step can be retried"
        )
    problems = ir.check_values(spec, parameters)
    if problems:
        raise _problems("parameters", problems)
    _inside(spec, space, parameters, "parameters")
