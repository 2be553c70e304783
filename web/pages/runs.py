"""All my runs, their comparison and the to-do list (the execution page and its actions are
in ``web.pages.execution``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from litestar import get
from litestar.params import QueryParameter
from litestar.response import Template

from registry.executions import service
from registry.executions.models import EXECUTION_STATUSES, OPEN_STATUSES
from registry.executions.schemas import CompareRow
from registry.params import EXECUTION
from web.charts import fmt
from web.pages import execution
from web.pages.execution import value_text
from web.render import AnyRequest, ctx_of, here, page, signed_in_user

RUNS_SHOWN = 500
LOWER_IS_BETTER = ("loss", "error", "err", "mse", "mae", "rmse")
"""A metric whose name holds one of these words is best when lowest (the others: highest)."""
BEST_RULE = (
    "The best value of each metric is marked ★ best: the lowest for metrics whose name "
    f"contains a word {', '.join(repr(w) for w in LOWER_IS_BETTER)} or ends in 'loss' or "
    "'error', the highest for every other metric."
)


# --- runs --------------------------------------------------------------------------------------


@get("/runs", include_in_schema=False)
async def runs_page(
    request: AnyRequest,
    status: Annotated[str | None, QueryParameter(max_length=16)] = None,
    label: Annotated[str | None, QueryParameter(max_length=32)] = None,
    workflow: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Template:
    """Every run in my workspaces, newest first, filtered by status, label and workflow."""
    user = await signed_in_user(request)
    label = (label or "").strip().lower() or None  # labels are stored in lower case
    status, workflow = status or None, workflow or None
    errors: dict[str, str] = {}
    if status is not None and status not in EXECUTION_STATUSES:
        errors["status"] = f"status must be one of {', '.join(EXECUTION_STATUSES)}"
    runs = []
    if not errors:
        async with ctx_of(request).db.read() as session:
            rows = await service.find_executions(
                session, user, workflow=workflow, status=status, label=label, limit=RUNS_SHOWN
            )
            runs = await service.summaries(session, rows)
    return await page(
        request,
        "runs.html",
        status_code=422 if errors else 200,
        title="Runs",
        runs=runs,
        statuses=EXECUTION_STATUSES,
        filters={"status": status or "", "label": label or "", "workflow": workflow or ""},
        errors=errors,
        open_statuses=OPEN_STATUSES,
        here=here(request),
    )


def lower_is_better(name: str) -> bool:
    """Whether a metric is best when lowest (losses and errors): see ``BEST_RULE``."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.rsplit(".", 1)[-1].lower()) if w]
    return any(w in LOWER_IS_BETTER or w.endswith(("loss", "error")) for w in words)


@dataclass(frozen=True)
class Cell:
    text: str
    best: bool = False


@dataclass(frozen=True)
class CompareLine:
    name: str
    cells: list[Cell]
    differs: bool
    rule: str = ""


def compare_lines(rows: Sequence[CompareRow]) -> tuple[list[CompareLine], list[CompareLine]]:
    """Parameters and float metrics side by side (a line per name, a cell per run); the best
    value of each metric marked when at least two runs have it."""
    parameter_names = sorted({name for row in rows for name in row.parameters})
    parameters = []
    for name in parameter_names:
        texts = [
            value_text(row.parameters[name]) if name in row.parameters else "—" for row in rows
        ]
        parameters.append(CompareLine(name, [Cell(t) for t in texts], differs=len(set(texts)) > 1))
    metric_names = sorted({name for row in rows for name in row.metrics})
    metrics = []
    for name in metric_names:
        values = [row.metrics.get(name) for row in rows]
        present = [v for v in values if v is not None]
        lowest = lower_is_better(name)
        best = (min if lowest else max)(present) if len(present) > 1 else None
        metrics.append(
            CompareLine(
                name,
                [Cell(fmt(v), best=v is not None and v == best) for v in values],
                differs=len(set(present)) > 1,
                rule="lowest" if lowest else "highest",
            )
        )
    return parameters, metrics


@get("/runs/compare", include_in_schema=False)
async def compare_page(
    request: AnyRequest,
    ids: Annotated[list[str] | None, QueryParameter(max_length=2000)] = None,
) -> Template:
    """Selected runs side by side: ``?ids=a,b`` (or ``ids`` once per run, as the runs page's
    checkboxes send it)."""
    user = await signed_in_user(request)
    wanted = [i.strip() for value in ids or [] for i in value.split(",") if i.strip()]
    for execution_id in wanted:  # held to the rule of the path's execution ids
        EXECUTION.checked(execution_id)
    if len(wanted) < 2:
        return await page(
            request,
            "compare.html",
            status_code=422 if wanted else 200,
            title="Compare runs",
            runs=[],
            problem="Select at least two runs to compare.",
        )
    async with ctx_of(request).db.read() as session:
        rows = await service.compare(session, wanted, user)
    parameters, metrics = compare_lines(rows)
    return await page(
        request,
        "compare.html",
        title="Compare runs",
        runs=rows,
        parameters=parameters,
        metrics=metrics,
        rule=BEST_RULE,
        problem=None,
    )


# --- to-do -------------------------------------------------------------------------------------


@get("/todo", include_in_schema=False)
async def todo_page(request: AnyRequest) -> Template:
    """Every step waiting for my input, across my workspaces."""
    user = await signed_in_user(request)
    async with ctx_of(request).db.read() as session:
        items = await service.todo(session, user)
    return await page(request, "todo.html", title="To-do", items=items)


PAGES = [
    *execution.PAGES,
    runs_page,
    compare_page,
    todo_page,
]
