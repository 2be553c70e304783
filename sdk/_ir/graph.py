"""How steps refer to each other: the values a step reads, what it waits for, and an order.

Ordering and cycles come from :mod:`graphlib`.
"""

from __future__ import annotations

import graphlib
from collections import deque
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from sdk._ir.models import (
    ConditionProperties,
    ConditionSpec,
    JobProperties,
    MetricRef,
    OutputRef,
    OutputVariableRef,
    SelectorRef,
    SpecError,
    StepSpec,
    WorkflowSpec,
)


def _values(value: Any) -> Iterator[Any]:
    """Every value expression inside ``value`` (conditions are walked into)."""
    if isinstance(value, ConditionSpec):
        yield from _values(value.left)
        yield from _values(value.right)
    elif isinstance(value, SelectorRef):
        yield value
        yield from value.candidates
    elif value is not None:
        yield value


def step_values(step: StepSpec) -> Iterator[tuple[str, Any]]:
    """(where, value) for every value expression a step uses."""
    where = f"steps.{step.name}"
    for item in step.inputs:
        for value in _values(item.data):
            yield f"{where}.inputs.{item.name}", value
    for out in step.outputs:
        for value in _values(out.path):
            yield f"{where}.outputs.{out.name}", value
    for index, condition in enumerate(step.policy.skip_conditions):
        for value in _values(condition):
            yield f"{where}.policy.skip_conditions[{index}]", value
    props = step.typed_properties()
    if isinstance(props, JobProperties):
        for parameter in props.algorithm.parameters:
            yield f"{where}.parameters.{parameter.name}", parameter.value
        engine = props.algorithm.engine
        if engine is not None:
            for field in ("id", "name", "version", "image"):
                value = getattr(engine, field)
                if value is not None:
                    yield f"{where}.engine.{field}", value
        yield f"{where}.resource.flavor", props.resource.flavor
        yield f"{where}.resource.node_count", props.resource.node_count
    elif isinstance(props, ConditionProperties):
        for index, condition in enumerate(props.conditions):
            for value in _values(condition):
                yield f"{where}.conditions[{index}]", value


def _variables(data: Any, where: str) -> Iterator[tuple[str, OutputVariableRef | str]]:
    if isinstance(data, dict):
        if data.get("ref") == "variable":
            try:
                yield where, OutputVariableRef.model_validate(data)
            except ValidationError as exc:
                yield (
                    where,
                    "not an output variable: "
                    + "; ".join(
                        f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                        for e in exc.errors()
                    ),
                )
            return
        for key, item in data.items():
            yield from _variables(item, f"{where}.{key}")
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _variables(item, f"{where}[{index}]")


def setting_variables(step: StepSpec) -> Iterator[tuple[str, OutputVariableRef | str]]:
    """(where, reference) for every output variable in a step's settings (its properties and
    its outputs' configs), such as a service address passed in a ``ServiceConfig``'s envs; a
    malformed one comes as (where, problem)."""
    where = f"steps.{step.name}"
    if step.type not in ("job", "condition"):
        yield from _variables(step.properties, f"{where}.properties")
    for out in step.outputs:
        yield from _variables(out.config, f"{where}.outputs.{out.name}.config")


def upstream_steps(step: StepSpec) -> set[str]:
    """Steps whose outputs, metrics or output variables this step reads."""
    found = set()
    for _, value in step_values(step):
        if isinstance(value, OutputRef | MetricRef):
            found.add(value.step)
    for _, variable in setting_variables(step):
        if isinstance(variable, OutputVariableRef):
            found.add(variable.step)
    return found


def edges(spec: WorkflowSpec) -> dict[str, set[str]]:
    """step → the steps it waits for: declared dependencies plus the outputs it reads."""
    return {s.name: set(s.depends_on) | upstream_steps(s) for s in spec.steps}


def _sorter(spec: WorkflowSpec) -> graphlib.TopologicalSorter[str]:
    graph = edges(spec)
    known = set(graph)
    # only the workflow's own steps (an unknown name is validate()'s to report)
    return graphlib.TopologicalSorter({n: deps & known for n, deps in graph.items()})


def find_cycle(spec: WorkflowSpec) -> list[str] | None:
    """The shortest dependency cycle through the first-declared step that is on one, as
    ``[a, b, …, a]`` (each waits for the next); None when there is none."""
    try:
        _sorter(spec).prepare()
    except graphlib.CycleError:
        pass
    else:
        return None
    graph = edges(spec)
    for start in (s.name for s in spec.steps):
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in sorted(graph[node] & graph.keys()):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    queue.append(nxt)
    return None  # unreachable: graphlib found a cycle


def topological_order(spec: WorkflowSpec) -> list[str]:
    """Steps in an order where each comes after what it waits for: in waves of the steps
    that are ready together, each wave in declaration order."""
    sorter = _sorter(spec)
    try:
        sorter.prepare()
    except graphlib.CycleError:
        raise SpecError([("steps", "dependency cycle")]) from None
    position = {s.name: i for i, s in enumerate(spec.steps)}
    order: list[str] = []
    while sorter.is_active():
        wave = sorted(sorter.get_ready(), key=position.__getitem__)
        order += wave
        sorter.done(*wave)
    return order
