"""The workflow IR: what the SDK compiles to, the registry stores and the runner executes.

Everything here is plain data (pydantic) plus pure checks, so the registry can re-validate a
manifest exactly as the SDK did (a hand-made manifest cannot bypass the SDK's rules) and the
runner never runs user Python on its control path.

Shape (``schema_version`` 1)::

    WorkflowSpec
    ├── placeholders: PlaceholderSpec      typed values configured before a run (or delayed)
    ├── storages: StorageSpec              roots configured per workflow (input / output)
    ├── steps: StepSpec                    name, type, inputs, outputs, properties, policy
    │   └── properties                     one model per step type (STEP_PROPERTIES)
    └── scenes: SceneSpec                  named subsets of steps for partial runs

Values inside steps are ``Value`` expressions: a literal, a placeholder, a storage path, an
upstream step's output, a selector over several outputs, or a metric of an upstream step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION: Literal[1] = 1
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
NAME_RE = re.compile(NAME_PATTERN)
NAME_RULE = "1-64 characters: letters, digits, '_' or '-', starting with a letter"

PlaceholderTypeName = Literal["int", "str", "bool", "float", "enum", "json", "list"]
LIST_FORMATS = ("str", "int", "float", "bool")
StepType = Literal[
    "job",
    "condition",
    "labeling",
    "create_dataset",
    "dataset_import",
    "release_dataset",
    "model",
    "service",
]

STEP_TYPES: tuple[str, ...] = get_args(StepType)
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class SpecError(ValueError):
    """A workflow spec breaks a rule; ``problems`` lists (where, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {message}" for where, message in problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- values ---------------------------------------------------------------------------------


class LiteralValue(_Model):
    ref: Literal["literal"] = "literal"
    value: Any


class PlaceholderRef(_Model):
    ref: Literal["placeholder"] = "placeholder"
    name: Name


class StoragePath(_Model):
    """``storage.join(a).join(b)``: resolved against the storage's configured root at run time."""

    ref: Literal["storage"] = "storage"
    storage: Name
    path: str = ""
    with_execution_id: bool | None = None
    create_dir: bool | None = None


class OutputRef(_Model):
    ref: Literal["output"] = "output"
    step: Name
    output: Name


class SelectorRef(_Model):
    """``DataConsumptionSelector``: the one candidate whose step was not skipped."""

    ref: Literal["selector"] = "selector"
    candidates: list[OutputRef] = Field(min_length=1)


class MetricRef(_Model):
    """A ``float`` entry of an upstream job's ``metrics.json``."""

    ref: Literal["metric"] = "metric"
    step: Name
    output: Name
    key: str = Field(min_length=1, max_length=128)


class DataValue(_Model):
    """A concrete data object fixed in the definition (a dataset version, a model, …)."""

    ref: Literal["data"] = "data"
    kind: Literal["dataset", "label_task", "path", "image", "service", "gallery_model"]
    value: dict[str, Any]


Value = Annotated[
    LiteralValue | PlaceholderRef | StoragePath | OutputRef | SelectorRef | MetricRef | DataValue,
    Field(discriminator="ref"),
]

ConditionOp = Literal["==", ">", ">=", "in", "<", "<=", "!=", "or"]


class ConditionSpec(_Model):
    op: ConditionOp
    left: Value | ConditionSpec
    right: Value | ConditionSpec


# --- declarations ---------------------------------------------------------------------------


class PlaceholderSpec(_Model):
    """A typed value: ``format`` refines it (``obs`` path, ``dataset``, ``flavor`` …; for
    ``list`` the element type)."""

    name: Name
    type: PlaceholderTypeName
    default: Any = None
    enum_list: list[Any] | None = None
    format: str | None = Field(default=None, max_length=32)
    delay: bool = False
    required: bool = True
    description: str = Field(default="", max_length=2000)


class StorageSpec(_Model):
    name: Name
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    kind: Literal["input", "output", "storage"] = "storage"
    with_execution_id: bool = False
    create_dir: bool = False


class InputSpec(_Model):
    name: Name
    data: Value


class OutputSpec(_Model):
    """A step output. ``kind``: a directory (``path``), a ``metrics`` file, a ``model``, a
    ``dataset``, a ``label_task`` or a ``service``; ``config`` carries the kind's settings."""

    name: Name
    kind: Literal["path", "metrics", "model", "dataset", "label_task", "service"] = "path"
    path: Value | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class RetrySpec(_Model):
    max_attempts: int = Field(default=1, ge=1, le=100)
    initial_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    backoff_coefficient: float = Field(default=2.0, ge=1, le=10)
    max_interval_seconds: float = Field(default=300.0, gt=0, le=86400)


class StepPolicySpec(_Model):
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    max_execution_minutes: float = Field(default=10080.0, gt=0, le=10080.0 * 4)
    skip_conditions: list[ConditionSpec] = Field(default_factory=list)
    retry: RetrySpec = Field(default_factory=RetrySpec)


# --- step properties, one model per step type -----------------------------------------------


class ParameterSpec(_Model):
    name: Name
    value: Value


class AlgorithmSpec(_Model):
    """Where a job's code comes from.

    ``local``: a directory on the publishing machine (``code_dir``), replaced by a ``gallery``
    reference when the workflow is published; ``gallery``: an algorithm asset version.
    """

    source: Literal["local", "gallery"]
    code_dir: str | None = None
    content_id: str | None = None
    version: str | None = None
    name: str | None = Field(default=None, max_length=64)
    boot_file: str | None = None
    command: str | None = None
    parameters: list[ParameterSpec] = Field(default_factory=list)
    environments: dict[str, str] = Field(default_factory=dict)
    image: str | None = None

    @model_validator(mode="after")
    def _where(self) -> AlgorithmSpec:
        if self.source == "local" and not self.code_dir:
            raise ValueError("a local algorithm needs code_dir")
        if self.source == "gallery" and not (self.content_id and self.version):
            raise ValueError("a gallery algorithm needs content_id and version")
        if self.boot_file and self.command:
            raise ValueError("give boot_file or command, not both")
        return self


class ResourceSpec(_Model):
    flavor: Value | None = None
    node_count: Value = LiteralValue(value=1)


class JobProperties(_Model):
    algorithm: AlgorithmSpec
    resource: ResourceSpec = Field(default_factory=ResourceSpec)


class ConditionProperties(_Model):
    conditions: list[ConditionSpec] = Field(min_length=1)
    if_then_steps: list[Name] = Field(default_factory=list)
    else_then_steps: list[Name] = Field(default_factory=list)


class GenericProperties(_Model):
    """Dataset, labeling, model and service steps: their settings, checked by their executor."""

    model_config = ConfigDict(extra="allow", frozen=True)


STEP_PROPERTIES: dict[str, type[_Model]] = {
    "job": JobProperties,
    "condition": ConditionProperties,
    "labeling": GenericProperties,
    "create_dataset": GenericProperties,
    "dataset_import": GenericProperties,
    "release_dataset": GenericProperties,
    "model": GenericProperties,
    "service": GenericProperties,
}


class StepSpec(_Model):
    name: Name
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    type: StepType
    inputs: list[InputSpec] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)
    policy: StepPolicySpec = Field(default_factory=StepPolicySpec)
    depends_on: list[Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _properties(self) -> StepSpec:
        STEP_PROPERTIES[self.type].model_validate(self.properties)
        return self

    def typed_properties(self) -> Any:
        return STEP_PROPERTIES[self.type].model_validate(self.properties)


class SceneSpec(_Model):
    name: Name
    steps: list[Name] = Field(min_length=1)


class WorkflowSpec(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    name: Name
    description: str = Field(default="", max_length=20_000)
    placeholders: list[PlaceholderSpec] = Field(default_factory=list)
    storages: list[StorageSpec] = Field(default_factory=list)
    steps: list[StepSpec] = Field(min_length=1)
    scenes: list[SceneSpec] = Field(default_factory=list)

    def step(self, name: str) -> StepSpec:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


# --- semantic checks ------------------------------------------------------------------------

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
    return None


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
        yield f"{where}.resource.flavor", props.resource.flavor
        yield f"{where}.resource.node_count", props.resource.node_count
    elif isinstance(props, ConditionProperties):
        for index, condition in enumerate(props.conditions):
            for value in _values(condition):
                yield f"{where}.conditions[{index}]", value


def upstream_steps(step: StepSpec) -> set[str]:
    """Steps whose outputs or metrics this step reads."""
    found = set()
    for _, value in step_values(step):
        if isinstance(value, OutputRef | MetricRef):
            found.add(value.step)
    return found


def validate(spec: WorkflowSpec) -> None:
    """Check what pydantic cannot: names, references, types, cycles, scenes. Raises SpecError."""
    problems: list[tuple[str, str]] = []

    def duplicates(kind: str, names: list[str]) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                problems.append((f"{kind}.{name}", f"duplicate {kind[:-1]} name {name!r}"))
            seen.add(name)

    duplicates("placeholders", [p.name for p in spec.placeholders])
    duplicates("storages", [s.name for s in spec.storages])
    duplicates("steps", [s.name for s in spec.steps])
    placeholders = {p.name: p for p in spec.placeholders}
    storages = {s.name for s in spec.storages}
    steps = {s.name: s for s in spec.steps}

    for p in spec.placeholders:
        where = f"placeholders.{p.name}"
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


def edges(spec: WorkflowSpec) -> dict[str, set[str]]:
    """step → the steps it waits for: declared dependencies plus the outputs it reads."""
    return {s.name: set(s.depends_on) | upstream_steps(s) for s in spec.steps}


def find_cycle(spec: WorkflowSpec) -> list[str] | None:
    graph = edges(spec)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(spec: WorkflowSpec) -> list[str]:
    """Steps in an order where each comes after what it waits for (ties by declaration)."""
    graph = edges(spec)
    order: list[str] = []
    placed: set[str] = set()
    pending = [s.name for s in spec.steps]
    while pending:
        ready = [n for n in pending if graph[n] <= placed]
        if not ready:
            raise SpecError([("steps", "dependency cycle")])
        for name in ready:
            order.append(name)
            placed.add(name)
        pending = [n for n in pending if n not in placed]
    return order


def gallery_algorithms(spec: WorkflowSpec) -> list[tuple[str, str, str]]:
    """(step, content id, version) of every gallery algorithm the workflow runs."""
    found = []
    for step in spec.steps:
        props = step.typed_properties()
        if isinstance(props, JobProperties) and props.algorithm.source == "gallery":
            assert props.algorithm.content_id and props.algorithm.version
            found.append((step.name, props.algorithm.content_id, props.algorithm.version))
    return found


# --- algorithm assets -----------------------------------------------------------------------


class AlgorithmParameterSpec(_Model):
    name: Name
    type: PlaceholderTypeName
    default: Any = None
    description: str = Field(default="", max_length=2000)


class AlgorithmAssetSpec(_Model):
    """The manifest ``spec`` of an algorithm asset: how to start it and what it takes."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: Name
    boot_file: str | None = None
    command: str | None = None
    parameters: list[AlgorithmParameterSpec] = Field(default_factory=list)
    inputs: list[Name] = Field(default_factory=list)
    outputs: list[Name] = Field(default_factory=list)
    environments: dict[str, str] = Field(default_factory=dict)
    image: str | None = None

    @model_validator(mode="after")
    def _entry(self) -> AlgorithmAssetSpec:
        if bool(self.boot_file) == bool(self.command):
            raise ValueError("give exactly one of boot_file or command")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("parameter names must be unique")
        return self


# --- scenes ---------------------------------------------------------------------------------


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
    members = set(found[scene].steps)
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


# --- executions: what the registry sends the runner (through Temporal, by name) -------------

EXECUTION_WORKFLOW = "ExecutionWorkflow"
UPDATE_CONTINUE = "continue_step"
UPDATE_RETRY = "retry_step"
UPDATE_STOP_STEP = "stop_step"
SIGNAL_STOP = "stop"
QUERY_STATE = "state"
DEFAULT_TASK_QUEUE = "gallery"


class ExecutionInput(_Model):
    """Start an execution: the frozen spec, resolved values and what a scene inherits.

    ``steps`` are the steps to run (all, or a scene's); ``entry_outputs`` and ``entry_metrics``
    hold what steps outside a scene produced in the workflow's latest successful runs.
    ``namespace`` is the workspace's object-store directory (``/<owner>/<workspace>/``): default
    storage roots and outputs go under it.
    """

    execution_id: str
    workflow_id: str
    namespace: str = Field(default="/gallery/", pattern=r"^/([A-Za-z0-9._-]+/)+$")
    spec: WorkflowSpec
    parameters: dict[str, Any] = Field(default_factory=dict)
    storages: dict[str, str] = Field(default_factory=dict)
    steps: list[Name]
    entry_outputs: dict[str, dict[str, str]] = Field(default_factory=dict)
    entry_metrics: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)
    flavor_queues: dict[str, str] = Field(default_factory=dict)
    task_queue: str = DEFAULT_TASK_QUEUE
    open_seconds: float = Field(default=7 * 86400.0, gt=0)


class ContinueInput(_Model):
    """Values for a step waiting for its delayed placeholders."""

    step: Name
    values: dict[str, Any] = Field(default_factory=dict)


class RetryInput(_Model):
    """Run a failed or stopped step again; ``parameters`` change placeholder values first."""

    step: Name
    parameters: dict[str, Any] = Field(default_factory=dict)


class StopStepInput(_Model):
    step: Name


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
