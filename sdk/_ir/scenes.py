"""Scenes: named subsets of a workflow's steps run on their own (partial runs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sdk._ir.graph import step_values, topological_order
from sdk._ir.models import MetricRef, OutputRef, SelectorRef, WorkflowSpec


class SceneError(ValueError):
    """An unknown scene."""


@dataclass(frozen=True)
class ScenePlan:
    steps: list[str]
    entry_outputs: list[tuple[str, str]]
    missing: list[tuple[str, str]]


def plan_scene(spec: WorkflowSpec, scene: str, available: Iterable[tuple[str, str]]) -> ScenePlan:
    """The scene's steps in DAG order and the outputs of outside steps they read.

    ``available`` are (step, output) pairs the workflow's latest successful execution left;
    anything read but not there is ``missing``, and the run is refused before it starts.
    """
    found = {s.name: s for s in spec.scenes}
    if scene not in found:
        known = ", ".join(found) or "none"
        raise SceneError(f"unknown scene {scene!r} (scenes: {known})")
    return plan_steps(spec, found[scene].steps, available)


def plan_steps(
    spec: WorkflowSpec, steps: Iterable[str], available: Iterable[tuple[str, str]]
) -> ScenePlan:
    """A partial run of the given steps (a scene's, or any): as :func:`plan_scene`."""
    members = set(steps)
    unknown = sorted(members - {s.name for s in spec.steps})
    if unknown:
        known = ", ".join(s.name for s in spec.steps)
        raise SceneError(
            f"no step {', '.join(map(repr, unknown))} in this workflow (steps: {known})"
        )
    order = [n for n in topological_order(spec) if n in members]
    have = set(available)
    entry: list[tuple[str, str]] = []
    missing: list[tuple[str, str]] = []

    def need(pairs: list[tuple[str, str]]) -> None:
        """One of ``pairs`` must come from outside the scene (a selector: any one of them)."""
        usable = [p for p in pairs if p in have]
        for pair in usable[:1] or pairs:
            if pair not in entry:
                entry.append(pair)
        if not usable:
            missing.extend(p for p in pairs if p not in missing)

    for name in order:
        for _, value in step_values(spec.step(name)):
            if isinstance(value, SelectorRef):
                if not any(c.step in members for c in value.candidates):
                    need([(c.step, c.output) for c in value.candidates])
            elif isinstance(value, OutputRef | MetricRef) and value.step not in members:
                need([(value.step, value.output)])
    return ScenePlan(order, entry, missing)
