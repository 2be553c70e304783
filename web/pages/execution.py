"""The execution page: a run's header, its DAG following the run live, and one step's panel
(values, outputs, log, metrics, Continue / Retry / Stop).

Every button is a form that goes through ``registry.executions.actions`` (what the API calls
too) and comes back with a redirect, or with the page again showing the registry's field
errors next to the fields.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from markupsafe import Markup
from pydantic import ValidationError

from registry.accounts.service import Principal
from registry.context import Context
from registry.errors import InvalidInput, NotFound, pydantic_errors
from registry.executions import actions, service
from registry.executions.models import OPEN_STATUSES
from registry.executions.outputs import stored_outputs
from registry.executions.schemas import ExecutionRead, ExecutionUpdate, StepRead
from registry.params import STEP, ExecutionId, StepName
from registry.workspaces import service as workspaces
from sdk import spec as ir
from web.charts import metrics_view
from web.dag import dag_svg
from web.forms import StepField, changed, read_values, step_errors, step_fields
from web.render import AnyRequest, ctx_of, form_data, page, see_other, signed_in_user
from web.session import safe_next

LOG_TAIL_BYTES = 64 * 1024
"""How much of a step's log the page shows without JavaScript (the end of it)."""
STOPPABLE_STEPS = ("pending", "running", "waiting_input")
RETRYABLE_STEPS = ("failed", "stopped")


def _here(execution_id: str, step: str | None = None, anchor: str = "") -> str:
    query = f"?{urlencode({'step': step})}" if step else ""
    return f"/executions/{execution_id}{query}{anchor}"


# --- the execution page -----------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """An execution the user may see, with its workflow's spec and storage namespace."""

    read: ExecutionRead
    spec: ir.WorkflowSpec | None
    space: str


async def _load(ctx: Context, user: Principal, execution_id: str) -> Loaded:
    async with ctx.db.read() as session:
        execution, workflow, workspace = await service.find_execution(session, execution_id, user)
        steps = await service.steps_of(session, execution)
        space = await workspaces.namespace_of(session, workspace)
        experiment = await service.experiment_of(session, execution)
    read = service.to_read(execution, workflow, workspace, steps, experiment)
    return Loaded(read, workspaces.readable_spec(workflow), space)


@dataclass
class Problems:
    """A refused form, shown again: which form, errors by field, the others, what was sent."""

    form: str
    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    submitted: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Output:
    name: str
    value: str
    href: str | None


@dataclass(frozen=True)
class LogTail:
    text: str
    offset: int
    """Where the page's log ends (bytes): the live tail reads on from here."""
    attempt: str
    cut: int
    """Bytes before the part shown."""


@dataclass
class Panel:
    step: StepRead
    outputs: list[Output]
    all_outputs: str | None
    log: LogTail | None
    log_url: str
    metrics: Markup
    continue_fields: list[StepField]
    retry_fields: list[StepField]
    can_stop: bool
    problems: Problems | None
    label_task: str | None = None
    """A waiting labeling step's task (its labeling page)."""


def default_step(steps: Sequence[StepRead]) -> StepRead | None:
    """The step a person most likely came for: waiting, else failed, else running, else the
    first."""
    for status in ("waiting_input", "failed", "running"):
        for step in steps:
            if step.status == status:
                return step
    return steps[0] if steps else None


def value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def _log_tail(ctx: Context, user: Principal, execution_id: str, step: str) -> LogTail | None:
    """The end of the step's log (the last ``LOG_TAIL_BYTES``), decoded up to the last whole
    character; None when it has none yet."""
    try:
        size = (await actions.log_chunk(ctx, user, execution_id, step, offset=2**62)).size
        start = max(0, size - LOG_TAIL_BYTES)
        chunk = await actions.log_chunk(
            ctx, user, execution_id, step, offset=start, limit=LOG_TAIL_BYTES
        )
    except NotFound:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(chunk.data, final=False)
    pending = len(decoder.getstate()[0])  # an unfinished character: read again later
    if start > 0:  # begin at a whole line
        text = text.split("\n", 1)[1] if "\n" in text else text
    return LogTail(text, start + len(chunk.data) - pending, chunk.attempt, start)


def _fields(
    placeholders: Sequence[ir.PlaceholderSpec],
    values: dict[str, Any],
    problems: Problems | None,
    form: str,
) -> list[StepField]:
    mine = problems if problems is not None and problems.form == form else None
    if mine is None:
        return step_fields(placeholders, values)
    return step_fields(placeholders, values, submitted=mine.submitted, errors=mine.fields)


async def _panel(
    ctx: Context, user: Principal, loaded: Loaded, step: StepRead, problems: Problems | None
) -> Panel:
    read, spec = loaded.read, loaded.spec
    base = f"/api/v1/executions/{read.id}/steps/{quote(step.name)}"
    downloadable = stored_outputs(step.outputs, loaded.space)
    outputs = [
        Output(
            name,
            value_text(value),
            f"{base}/outputs/{quote(name)}" if name in downloadable else None,
        )
        for name, value in step.outputs.items()
    ]
    placeholders = {p.name: p for p in spec.placeholders} if spec is not None else {}
    waiting = [placeholders[w.name] for w in step.waiting_for if w.name in placeholders]
    continue_fields: list[StepField] = []
    if step.status == "waiting_input":
        continue_fields = _fields(waiting, {}, problems, "continue")
    retry_fields: list[StepField] = []
    if step.status in RETRYABLE_STEPS and spec is not None:
        retry_fields = _fields(spec.placeholders, read.parameters, problems, "retry")
    log = await _log_tail(ctx, user, read.id, step.name) if step.has_log else None
    label_task = None
    if step.status == "waiting_input" and step.type == "labeling":
        async with ctx.db.read() as session:
            tasks = await service.label_tasks(session, [read.id])
        label_task = tasks.get((read.id, step.name))
    return Panel(
        label_task=label_task,
        step=step,
        outputs=outputs,
        all_outputs=f"{base}/outputs" if downloadable else None,
        log=log,
        log_url=f"{base}/logs",
        metrics=metrics_view(step.metrics, prefix=f"metric-{step.name}"),
        continue_fields=continue_fields,
        retry_fields=retry_fields,
        can_stop=step.status in STOPPABLE_STEPS and read.status in OPEN_STATUSES,
        problems=problems,
    )


async def _execution_page(
    request: AnyRequest,
    user: Principal,
    execution_id: str,
    step: str | None,
    *,
    problems: Problems | None = None,
    status_code: int = 200,
) -> Template:
    ctx = ctx_of(request)
    loaded = await _load(ctx, user, execution_id)
    read, spec = loaded.read, loaded.spec
    in_run = {s.name: s for s in read.steps}
    in_spec = [s.name for s in spec.steps] if spec is not None else []
    if step is not None and step not in in_run and step not in in_spec:
        raise NotFound(f"{read.name} has no step {step!r}")
    selected = in_run.get(step) if step is not None else default_step(read.steps)
    dag = None
    if spec is not None:
        statuses = {name: "not_in_run" for name in in_spec} | {s.name: s.status for s in read.steps}
        dag = dag_svg(
            spec,
            statuses,
            href=lambda name: _here(read.id, name),
            label_id="dag-title",
        )
    panel = await _panel(ctx, user, loaded, selected, problems) if selected else None
    labels_problems = problems if problems is not None and problems.form == "labels" else None
    return await page(
        request,
        "execution.html",
        status_code=status_code,
        title=f"{read.workflow_name} {read.name}",
        execution=read,
        dag=dag,
        panel=panel,
        chosen=step,
        outside=step if step is not None and selected is None else None,
        is_open=read.status in OPEN_STATUSES,
        labels_problems=labels_problems,
        next_ready=next_ready(spec, read) if read.debug and spec is not None else None,
    )


def next_ready(spec: ir.WorkflowSpec, read: ExecutionRead) -> str | None:
    """A paused debug run: the step *Start next step* starts (the first pending one, in DAG
    order, whose steps in the run are all done)."""
    statuses = {s.name: s.status for s in read.steps}
    waits = ir.edges(spec)
    for name in ir.topological_order(spec):
        if statuses.get(name) != "pending":
            continue
        if all(statuses.get(d, "succeeded") in ("succeeded", "skipped") for d in waits[name]):
            return name
    return None


@get("/executions/{execution_id:str}", include_in_schema=False)
async def execution_page(
    request: AnyRequest,
    execution_id: ExecutionId,
    step: Annotated[str | None, QueryParameter()] = None,
) -> Template:
    user = await signed_in_user(request)
    if step is not None:
        STEP.checked(step, execution_id=execution_id)
    return await _execution_page(request, user, execution_id, step)


async def _next(request: AnyRequest, default: str) -> tuple[dict[str, str], str]:
    form = await form_data(request)
    return form, safe_next(form.get("next"), default)


@post("/executions/{execution_id:str}/stop", include_in_schema=False)
async def stop_run(request: AnyRequest, execution_id: ExecutionId) -> Redirect:
    user = await signed_in_user(request)
    _, target = await _next(request, _here(execution_id))
    await actions.stop(ctx_of(request), user, execution_id)
    return see_other(target)


@post("/executions/{execution_id:str}/next", include_in_schema=False)
async def next_step(request: AnyRequest, execution_id: ExecutionId) -> Redirect:
    """A debug run: start its next ready step (values come from the SDK or the API)."""
    user = await signed_in_user(request)
    _, target = await _next(request, _here(execution_id))
    await actions.next_step(ctx_of(request), user, execution_id, None, {})
    return see_other(target)


@post("/executions/{execution_id:str}/rerun", include_in_schema=False)
async def rerun(request: AnyRequest, execution_id: ExecutionId) -> Redirect:
    """A new run with this one's values; the new run's page."""
    user = await signed_in_user(request)
    started = await actions.rerun(ctx_of(request), user, execution_id)
    return see_other(_here(started.id))


@post("/executions/{execution_id:str}/delete", include_in_schema=False)
async def delete_run(request: AnyRequest, execution_id: ExecutionId) -> Redirect:
    user = await signed_in_user(request)
    _, target = await _next(request, "/runs")
    if target.startswith(f"/executions/{execution_id}"):
        target = "/runs"  # the page is gone
    await actions.delete(ctx_of(request), user, execution_id)
    return see_other(target)


def split_labels(text: str) -> list[str]:
    return [label for label in re.split(r"[\s,]+", text) if label]


@post("/executions/{execution_id:str}/labels", include_in_schema=False)
async def set_labels(request: AnyRequest, execution_id: ExecutionId) -> Redirect | Template:
    user = await signed_in_user(request)
    form, target = await _next(request, _here(execution_id))
    text = form.get("labels", "")
    try:
        labels = ExecutionUpdate(labels=split_labels(text)).labels
    except ValidationError as exc:
        errors = pydantic_errors(exc)
        problems = Problems(
            "labels",
            fields={"labels": "; ".join(e.message for e in errors)},
            submitted={"labels": text},
        )
        return await _execution_page(
            request, user, execution_id, None, problems=problems, status_code=422
        )
    await actions.set_labels(ctx_of(request), user, execution_id, labels)
    return see_other(target)


@dataclass(frozen=True)
class StepForm:
    """A step's typed form: the placeholders it has fields of, the names the server's errors
    may give its fields, and what its values are for."""

    placeholders: Sequence[ir.PlaceholderSpec]
    known: Sequence[str]
    act: Callable[[dict[str, Any]], Awaitable[object]]


async def _typed_step_form(
    request: AnyRequest,
    execution_id: str,
    step: str,
    *,
    name: str,
    prefix: str,
    plan: Callable[[Context, Principal, Loaded], StepForm],
) -> Redirect | Template:
    """Read a step's typed form (its fields ``prefix.NAME`` in the server's errors) and act on
    its values → back to the step; a refusal → the page again, the errors beside the fields of
    form ``name``, what was sent still in them."""
    user = await signed_in_user(request)
    form = await form_data(request)
    ctx = ctx_of(request)
    planned = plan(ctx, user, await _load(ctx, user, execution_id))
    values, errors = read_values(planned.placeholders, form, prefix)
    try:
        if errors:
            raise InvalidInput.of(prefix, errors)
        await planned.act(values)
    except InvalidInput as exc:
        fields, general = step_errors(exc.errors or [], prefix, planned.known)
        if not exc.errors:
            general.append(exc.detail)
        problems = Problems(name, fields, general, form)
        return await _execution_page(
            request, user, execution_id, step, problems=problems, status_code=422
        )
    return see_other(_here(execution_id, step))


@post("/executions/{execution_id:str}/steps/{step:str}/continue", include_in_schema=False)
async def continue_step(
    request: AnyRequest, execution_id: ExecutionId, step: StepName
) -> Redirect | Template:
    """Give a waiting step its values (typed fields of its delayed placeholders)."""

    def plan(ctx: Context, user: Principal, loaded: Loaded) -> StepForm:
        found = next((s for s in loaded.read.steps if s.name == step), None)
        if found is None:
            raise NotFound(f"{loaded.read.name} has no step {step!r}")
        names = [w.name for w in found.waiting_for]
        spec = loaded.spec
        placeholders = [p for p in spec.placeholders if p.name in names] if spec is not None else []

        async def give(values: dict[str, Any]) -> object:
            return await actions.continue_step(ctx, user, execution_id, step, values)

        return StepForm(placeholders, names, give)

    return await _typed_step_form(
        request, execution_id, step, name="continue", prefix="inputs", plan=plan
    )


@post("/executions/{execution_id:str}/steps/{step:str}/retry", include_in_schema=False)
async def retry_step(
    request: AnyRequest, execution_id: ExecutionId, step: StepName
) -> Redirect | Template:
    """Run a failed or stopped step again; the fields that differ from the run's values are
    sent as changes."""

    def plan(ctx: Context, user: Principal, loaded: Loaded) -> StepForm:
        placeholders = list(loaded.spec.placeholders) if loaded.spec is not None else []
        before = {p.name: p.default for p in placeholders} | dict(loaded.read.parameters)

        async def retry(values: dict[str, Any]) -> object:
            changes = changed(values, before)
            return await actions.retry_step(ctx, user, execution_id, step, changes)

        return StepForm(placeholders, [p.name for p in placeholders], retry)

    return await _typed_step_form(
        request, execution_id, step, name="retry", prefix="parameters", plan=plan
    )


@post("/executions/{execution_id:str}/steps/{step:str}/stop", include_in_schema=False)
async def stop_step(request: AnyRequest, execution_id: ExecutionId, step: StepName) -> Redirect:
    user = await signed_in_user(request)
    await actions.stop_step(ctx_of(request), user, execution_id, step)
    return see_other(_here(execution_id, step))


PAGES = [
    execution_page,
    stop_run,
    next_step,
    rerun,
    delete_run,
    set_labels,
    continue_step,
    retry_step,
    stop_step,
]
