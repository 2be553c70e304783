"""What pydantic cannot check: values against their placeholders, names, references, types,
cycles and scenes of a whole workflow."""

from __future__ import annotations

from typing import Any

from sdk._ir.graph import find_cycle, setting_variables, step_values
from sdk._ir.models import (
    LIST_FORMATS,
    LOG_OUTPUT,
    ConditionProperties,
    DataValue,
    JobProperties,
    MetricRef,
    OutputRef,
    OutputVariableRef,
    PlaceholderRef,
    PlaceholderSpec,
    SpecError,
    StepSpec,
    StoragePath,
    WorkflowSpec,
)
from sdk._ir.resources import FLAVOR_FORMATS, flavor_problem

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "str": (str,),
    "bool": (bool,),
    "float": (int, float),
    "json": (dict, list),
    "list": (list,),
}


def value_matches(placeholder: PlaceholderSpec, value: Any) -> str | None:
    """Why ``value`` does not fit the placeholder, or None when it does."""
    kind = placeholder.type
    if kind == "enum":
        if value not in (placeholder.enum_list or []):
            return f"{value!r} is not one of {placeholder.enum_list}"
        return None
    expected = _PY_TYPES[kind]
    if isinstance(value, bool) and bool not in expected:
        return f"{value!r} is a bool, not {kind}"
    if not isinstance(value, expected):
        return f"{value!r} is not of type {kind}"
    if kind == "list" and isinstance(value, list) and placeholder.format in LIST_FORMATS:
        element = PlaceholderSpec(name="element", type=placeholder.format)  # type: ignore[arg-type]
        for index, item in enumerate(value):
            problem = value_matches(element, item)
            if problem:
                return f"element {index}: {problem}"
    if placeholder.format in FLAVOR_FORMATS and kind in ("str", "json"):
        return flavor_problem(value)
    return None


def validate(spec: WorkflowSpec) -> None:
    """Check what pydantic cannot: names, references, types, cycles, scenes. Raises SpecError."""
    problems: list[tuple[str, str]] = []

    def duplicates(kind: str, names: list[str]) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                noun = kind.rsplit(".", 1)[-1][:-1]
                problems.append((f"{kind}.{name}", f"duplicate {noun} name {name!r}"))
            seen.add(name)

    duplicates("placeholders", [p.name for p in spec.placeholders])
    duplicates("storages", [s.name for s in spec.storages])
    duplicates("steps", [s.name for s in spec.steps])
    placeholders = {p.name: p for p in spec.placeholders}
    storages = {s.name for s in spec.storages}
    steps = {s.name: s for s in spec.steps}

    for p in spec.placeholders:
        where = f"placeholders.{p.name}"
        for key, item in (p.constraint or {}).items():
            ref = item.get("name") if isinstance(item, dict) else None
            if (
                isinstance(item, dict)
                and item.get("ref") == "placeholder"
                and ref not in placeholders
            ):
                problems.append((f"{where}.constraint.{key}", f"unknown placeholder {ref!r}"))
        if p.type == "enum" and not p.enum_list:
            problems.append((where, "an enum placeholder needs a non-empty enum_list"))
        if p.type != "enum" and p.enum_list is not None:
            problems.append((where, "enum_list is only for enum placeholders"))
        if p.type == "list" and p.format not in LIST_FORMATS:
            problems.append(
                (where, f"a list placeholder needs placeholder_format, one of {LIST_FORMATS}")
            )
        if p.delay and not p.required:
            problems.append((where, "a delayed placeholder cannot be optional (required=False)"))
        if p.default is not None and (p.type != "enum" or p.enum_list):
            problem = value_matches(p, p.default)
            if problem:
                problems.append((where, f"default {problem}"))

    for step in spec.steps:
        where = f"steps.{step.name}"
        duplicates(f"{where}.inputs", [i.name for i in step.inputs])
        duplicates(f"{where}.outputs", [o.name for o in step.outputs])
        for dep in step.depends_on:
            if dep not in steps:
                problems.append((where, f"depends on unknown step {dep!r}"))
            elif dep == step.name:
                problems.append((where, "depends on itself"))
        logs = [o.name for o in step.outputs if o.kind == "log"]
        if logs and (step.type != "job" or logs != [LOG_OUTPUT]):
            problems.append(
                (
                    f"{where}.outputs",
                    f"only a job step has a log output, one named {LOG_OUTPUT!r} "
                    f"(JobSpec's log_export_path); found {logs}",
                )
            )
        for at, variable in setting_variables(step):
            if not isinstance(variable, OutputVariableRef):
                problems.append((at, variable))
                continue
            producer = steps.get(variable.step)
            if producer is None:
                problems.append((at, f"reads a variable of unknown step {variable.step!r}"))
                continue
            out = next((o for o in producer.outputs if o.name == variable.output), None)
            if out is None:
                problems.append(
                    (at, f"step {variable.step!r} declares no output named {variable.output!r}")
                )
            elif out.kind != "service":
                problems.append(
                    (
                        at,
                        f"output {variable.output!r} of step {variable.step!r} is a "
                        f"{out.kind} output; only a service output has variables",
                    )
                )
            elif variable.step == step.name:
                problems.append((at, "reads its own output's variable"))
        for at, value in step_values(step):
            if isinstance(value, PlaceholderRef) and value.name not in placeholders:
                problems.append((at, f"unknown placeholder {value.name!r}"))
            elif isinstance(value, StoragePath) and value.storage not in storages:
                problems.append((at, f"storage {value.storage!r} is not declared in storages"))
            elif isinstance(value, OutputRef | MetricRef):
                producer = steps.get(value.step)
                if producer is None:
                    problems.append((at, f"reads an output of unknown step {value.step!r}"))
                elif value.output not in {o.name for o in producer.outputs}:
                    problems.append(
                        (at, f"step {value.step!r} declares no output named {value.output!r}")
                    )
                elif value.step == step.name:
                    problems.append((at, "reads its own output"))
                elif isinstance(value, MetricRef) and not any(
                    o.name == value.output and o.kind == "metrics" for o in producer.outputs
                ):
                    problems.append(
                        (
                            at,
                            f"reads metric {value.key!r} from output {value.output!r} of step "
                            f"{value.step!r}, which is not a metrics output",
                        )
                    )
        props = step.typed_properties()
        if isinstance(props, ConditionProperties):
            for branch in ("if_then_steps", "else_then_steps"):
                for target in getattr(props, branch):
                    if target not in steps:
                        problems.append((f"{where}.{branch}", f"unknown step {target!r}"))
                    elif step.name not in steps[target].depends_on:
                        problems.append(
                            (
                                f"{where}.{branch}",
                                f"step {target!r} must depend on condition step {step.name!r}",
                            )
                        )
            both = set(props.if_then_steps) & set(props.else_then_steps)
            for target in sorted(both):
                problems.append((where, f"step {target!r} is in both branches"))

    cycle = find_cycle(spec)
    if cycle:
        problems.append(("steps", "dependency cycle: " + " -> ".join(cycle)))

    duplicates("scenes", [s.name for s in spec.scenes])
    for scene in spec.scenes:
        for name in scene.steps:
            if name not in steps:
                problems.append((f"scenes.{scene.name}", f"unknown step {name!r}"))

    if problems:
        raise SpecError(problems)


def gallery_algorithms(spec: WorkflowSpec) -> list[tuple[str, str, str]]:
    """(step, content id, version) of every gallery algorithm the workflow runs."""
    found = []
    for step in spec.steps:
        props = step.typed_properties()
        if isinstance(props, JobProperties) and props.algorithm.source == "gallery":
            assert props.algorithm.content_id and props.algorithm.version
            found.append((step.name, props.algorithm.content_id, props.algorithm.version))
    return found


def gallery_models(spec: WorkflowSpec) -> list[tuple[str, str, str]]:
    """(step, content id, version) of every registered model version a step reads
    (``wf.data.GalleryModel(subscription_id, version_num)`` as an input)."""
    found = []
    for step in spec.steps:
        for item in step.inputs:
            value = item.data
            if isinstance(value, DataValue) and value.kind == "gallery_model":
                data = value.value if isinstance(value.value, dict) else {}
                content_id, version = data.get("subscription_id"), data.get("version_num")
                if isinstance(content_id, str) and isinstance(version, str):
                    found.append((step.name, content_id, version))
    return found


def pinned_versions(spec: WorkflowSpec) -> list[tuple[str, str, str]]:
    """(step, content id, version) of every asset version the workflow pins: the algorithms
    it runs and the models it reads."""
    return gallery_algorithms(spec) + gallery_models(spec)


def workspace_packages(spec: WorkflowSpec) -> list[tuple[str, str]]:
    """(step, package sha256) of every algorithm a development workflow runs from a package
    uploaded to its workspace."""
    found = []
    for step in spec.steps:
        props = step.typed_properties()
        if isinstance(props, JobProperties) and props.algorithm.source == "workspace":
            assert props.algorithm.package
            found.append((step.name, props.algorithm.package))
    return found


def step_placeholders(spec: WorkflowSpec, step: StepSpec) -> list[str]:
    """Every placeholder a step reads, in declaration order."""
    used = {v.name for _, v in step_values(step) if isinstance(v, PlaceholderRef)}
    return [p.name for p in spec.placeholders if p.name in used]


def delayed_placeholders(spec: WorkflowSpec, step: StepSpec) -> list[str]:
    """The delayed placeholders a step reads, in declaration order."""
    delayed = {p.name for p in spec.placeholders if p.delay}
    used = {v.name for _, v in step_values(step) if isinstance(v, PlaceholderRef)}
    return [p.name for p in spec.placeholders if p.name in delayed & used]


def check_values(spec: WorkflowSpec, values: dict[str, Any]) -> list[tuple[str, str]]:
    """(placeholder, problem) for each value that is unknown or does not fit its type."""
    placeholders = {p.name: p for p in spec.placeholders}
    problems = []
    for name, value in values.items():
        if name not in placeholders:
            known = ", ".join(sorted(placeholders)) or "none"
            problems.append((name, f"no placeholder {name!r} (has: {known})"))
            continue
        problem = value_matches(placeholders[name], value)
        if problem:
            problems.append((name, problem))
    return problems
