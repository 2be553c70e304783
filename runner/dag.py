"""Pure DAG logic of an execution: what is ready, what is skipped, conditions, selectors, scenes.

No Temporal, no I/O: the execution workflow calls these with the spec and the step statuses it
holds, so the rules are deterministic and unit-tested on their own (DESIGN.md §4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from sdk import spec as ir

DONE: frozenset[str] = frozenset({"succeeded", "skipped"})
Decision = Literal["run", "skip"]


class DagError(ValueError):
    """A rule cannot be applied (a missing metric, an ambiguous selector …); names the step."""


def waits_for(spec: ir.WorkflowSpec) -> dict[str, set[str]]:
    """step → the steps it waits for (declared dependencies and the outputs it reads)."""
    return ir.edges(spec)


Graph = Mapping[str, set[str]]


def ready_steps(
    spec: ir.WorkflowSpec,
    statuses: Mapping[str, str],
    selected: Iterable[str] | None = None,
    *,
    graph: Graph | None = None,
) -> list[str]:
    """Pending steps (of ``selected``, default all) whose dependencies are all done, in
    declaration order. Dependencies outside ``selected`` count as done (a scene's inputs).
    ``graph`` is ``waits_for(spec)`` when the caller keeps it."""
    chosen = set(selected) if selected is not None else {s.name for s in spec.steps}
    graph = graph if graph is not None else waits_for(spec)
    ready = []
    for step in spec.steps:
        if step.name not in chosen or statuses.get(step.name, "pending") != "pending":
            continue
        inside = [d for d in graph[step.name] if d in chosen]
        if all(statuses.get(d) in DONE for d in inside):
            ready.append(step.name)
    return ready


Resolver = Callable[[Any], Any]


def evaluate(condition: ir.ConditionSpec, resolve: Resolver) -> bool:
    """``left op right`` with values from ``resolve`` (placeholders, metrics, literals)."""
    if condition.op == "or":
        return _side_bool(condition.left, resolve) or _side_bool(condition.right, resolve)
    left, right = resolve(condition.left), resolve(condition.right)
    try:
        if condition.op == "==":
            return bool(left == right)
        if condition.op == "!=":
            return bool(left != right)
        if condition.op == "in":
            return left in right
        if condition.op == ">":
            return bool(left > right)
        if condition.op == ">=":
            return bool(left >= right)
        if condition.op == "<":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        raise DagError(f"cannot compare {left!r} {condition.op} {right!r}") from None


def _side_bool(side: Any, resolve: Resolver) -> bool:
    if isinstance(side, ir.ConditionSpec):
        return evaluate(side, resolve)
    return bool(resolve(side))


def all_hold(conditions: Iterable[ir.ConditionSpec], resolve: Resolver) -> bool:
    """A list of conditions is their AND."""
    return all(evaluate(c, resolve) for c in conditions)


def decide(
    spec: ir.WorkflowSpec,
    name: str,
    statuses: Mapping[str, str],
    resolve: Resolver,
    skipped_by_branch: frozenset[str] = frozenset(),
    *,
    graph: Graph | None = None,
    selected: Iterable[str] | None = None,
) -> Decision:
    """Run or skip a ready step.

    A branch not taken skips its steps. A step's own ``skip_conditions`` decide when it has
    them; otherwise a step whose dependencies were all skipped is skipped too. Only the
    dependencies among ``selected`` (default all) count: a step outside a scene was not
    skipped by this run, it is simply not part of it.
    """
    if name in skipped_by_branch:
        return "skip"
    step = spec.step(name)
    if step.policy.skip_conditions:
        try:
            return "skip" if all_hold(step.policy.skip_conditions, resolve) else "run"
        except DagError as exc:
            raise DagError(f"step {name!r}: skip condition: {exc}") from None
    chosen = set(selected) if selected is not None else set(statuses)
    deps = [
        d
        for d in (graph if graph is not None else waits_for(spec))[name]
        if d in statuses and d in chosen
    ]
    if deps and all(statuses[d] == "skipped" for d in deps):
        return "skip"
    return "run"


def branch_skips(step: ir.StepSpec, result: bool) -> set[str]:
    """The steps a condition step's result turns off (the branch not taken)."""
    props = step.typed_properties()
    assert isinstance(props, ir.ConditionProperties)
    return set(props.else_then_steps if result else props.if_then_steps)


def select(selector: ir.SelectorRef, statuses: Mapping[str, str], consumer: str) -> ir.OutputRef:
    """The single candidate whose step ran; none or several is the consumer's failure."""
    alive = [c for c in selector.candidates if statuses.get(c.step) == "succeeded"]
    if len(alive) == 1:
        return alive[0]
    names = ", ".join(f"{c.step}.{c.output}" for c in selector.candidates)
    if not alive:
        raise DagError(f"step {consumer!r}: none of {names} produced output (all were skipped)")
    ran = ", ".join(f"{c.step}.{c.output}" for c in alive)
    raise DagError(f"step {consumer!r}: the selector needs exactly one output, but {ran} all ran")


ScenePlan = ir.ScenePlan


def plan_scene(
    spec: ir.WorkflowSpec, scene: str, available: Iterable[tuple[str, str]]
) -> ScenePlan:
    """:func:`sdk.spec.plan_scene` (shared with the registry, which refuses a run up front)."""
    try:
        return ir.plan_scene(spec, scene, available)
    except ir.SceneError as exc:
        raise DagError(str(exc)) from None
