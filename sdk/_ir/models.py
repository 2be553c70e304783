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

import unicodedata
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sdk.vocabulary import NAME_PATTERN as NAME_PATTERN
from sdk.vocabulary import NAME_RE as NAME_RE
from sdk.vocabulary import NAME_RULE as NAME_RULE

SCHEMA_VERSION: Literal[1] = 1

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

SCENE_NAME_RULE = (
    "1-64 characters: letters (of any script), digits, marks, '_', '-' or inner spaces, "
    "starting with a letter"
)


def scene_name_problem(name: object) -> str | None:
    """Why ``name`` is not a scene name, or None. Scenes are display names the manual writes
    in any language (``模型训练``), so the rule is the identifier rule widened to Unicode
    letters, digits and marks, plus inner spaces; nothing a shell or URL must escape beyond a
    space (no '/', '?', '#', quotes or control characters)."""
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        return f"{name!r} is not a scene name ({SCENE_NAME_RULE})"
    if unicodedata.category(name[0])[0] != "L" or name != name.strip():
        return f"{name!r} is not a scene name ({SCENE_NAME_RULE})"
    for char in name:
        if unicodedata.category(char)[0] not in "LMN" and char not in "_- ":
            return f"{name!r} is not a scene name ({SCENE_NAME_RULE}): {char!r} is not allowed"
    return None


def _scene_name(value: str) -> str:
    problem = scene_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


SceneName = Annotated[str, AfterValidator(_scene_name)]
"""A scene's name: a display name in any script (see :func:`scene_name_problem`)."""


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
    kind: Literal["dataset", "label_task", "path", "image", "service", "gallery_model", "model"]
    value: dict[str, Any]


Value = Annotated[
    LiteralValue | PlaceholderRef | StoragePath | OutputRef | SelectorRef | MetricRef | DataValue,
    Field(discriminator="ref"),
]

SERVICE_VARIABLES = ("access_address", "cluster_inner_access_address")
"""What a service step's output offers through ``get_output_variable``."""


class OutputVariableRef(_Model):
    """``step.outputs["x"].get_output_variable("access_address")``: a value a step's output
    publishes when the step has run (a service's address). Only settings carry it (a
    ``ServiceConfig``'s ``envs``, inside ``properties`` or an output's ``config``), never an
    input, parameter or condition: no step kind this runner executes produces one."""

    ref: Literal["variable"] = "variable"
    step: Name
    output: Name
    name: Literal["access_address", "cluster_inner_access_address"]


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
    constraint: dict[str, Any] | None = None
    """What narrows the value: the manual's ``constraint``, a data placeholder's kind of data
    (``data_type``, ``task_type``), a service input's model (``model_name``: text, or a
    reference to the placeholder that names it)."""


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
    """A step output. ``kind``: a directory (``path``), a ``metrics`` file (a path whose last
    part ends in ``.json``) or a directory holding ``metrics.json``, a ``model``, a
    ``dataset``, a ``label_task``, a ``service``, or a job's ``log`` (``JobSpec``'s
    ``log_export_path``: the directory the step's log is copied to when it ends; the job
    itself is not given it); ``config`` carries the kind's settings."""

    name: Name
    kind: Literal["path", "metrics", "model", "dataset", "label_task", "service", "log"] = "path"
    path: Value | None = None
    config: dict[str, Any] = Field(default_factory=dict)


LOG_OUTPUT = "log_export_path"
"""The name of the ``log`` output a job step's ``JobSpec(log_export_path=...)`` compiles to."""


class RetrySpec(_Model):
    max_attempts: int = Field(default=1, ge=1, le=100)
    initial_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    backoff_coefficient: float = Field(default=2.0, ge=1, le=10)
    max_interval_seconds: float = Field(default=300.0, gt=0, le=86400)


class StepPolicySpec(_Model):
    """``poll_interval_seconds``: how often a running job step reports its progress (its log
    is shipped, for ``gallery logs --follow``, the console and live progress), at most twice
    a second; ``max_execution_minutes``: the step's timeout."""

    poll_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    max_execution_minutes: float = Field(default=10080.0, gt=0, le=10080.0 * 4)
    skip_conditions: list[ConditionSpec] = Field(default_factory=list)
    retry: RetrySpec = Field(default_factory=RetrySpec)


# --- step properties, one model per step type -----------------------------------------------


class ParameterSpec(_Model):
    name: Name
    value: Value


class EngineSpec(_Model):
    """``JobEngine``: the environment a job asks for, by engine name and version (or id), or
    as a container image. The runner runs jobs on its own Python (the built-in engine,
    ``name`` ``python``); a step asking for anything else fails without running, naming it."""

    id: Value | None = None
    name: Value | None = None
    version: Value | None = None
    image: Value | None = None


BUILTIN_ENGINE = "python"
"""The engine every job runs on here: the worker's own Python."""


class AlgorithmSpec(_Model):
    """Where a job's code comes from.

    ``local``: a directory on the publishing machine (``code_dir``), replaced by a ``gallery``
    reference when the workflow is published; ``gallery``: an algorithm asset version;
    ``workspace``: a package uploaded to the workspace for development runs (``package``, its
    sha256), which publishes no asset.
    """

    source: Literal["local", "gallery", "workspace"]
    code_dir: str | None = None
    content_id: str | None = None
    version: str | None = None
    package: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    name: str | None = Field(default=None, max_length=64)
    boot_file: str | None = None
    command: str | None = None
    parameters: list[ParameterSpec] = Field(default_factory=list)
    environments: dict[str, str] = Field(default_factory=dict)
    image: str | None = None
    """A fixed container image (also recorded in the algorithm asset); ``engine`` holds it too."""
    engine: EngineSpec | None = None

    @model_validator(mode="after")
    def _where(self) -> AlgorithmSpec:
        if self.source == "local" and not self.code_dir:
            raise ValueError("a local algorithm needs code_dir")
        if self.source == "gallery" and not (self.content_id and self.version):
            raise ValueError("a gallery algorithm needs content_id and version")
        if self.source == "workspace" and not self.package:
            raise ValueError("a workspace algorithm needs package (its sha256)")
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
    name: SceneName
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
