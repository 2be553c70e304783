"""Steps: job, condition, and the dataset / labeling / model / service kinds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

from sdk._algorithm import Algorithm, AnyAlgorithm, BaseAlgorithm, GalleryAlgorithm
from sdk._data import MetricsConfig, OutputConfig, OutputConsumption, OutputVariable
from sdk._errors import WorkflowDefinitionError
from sdk._job import JobSpec
from sdk._parts import ModelConfig, ServiceConfig, TripartiteServiceConfig
from sdk._placeholder import check_name
from sdk.spec import SERVICE_VARIABLES


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class ConditionTypeEnum(StrEnum):
    EQ = "=="
    GT = ">"
    GTE = ">="
    IN = "in"
    LT = "<"
    LTE = "<="
    NOT = "!="
    OR = "or"


class MetricInfo:
    """A ``float`` metric (``json_key``) from the metrics output of an upstream job."""

    def __init__(self, input_data: OutputConsumption, json_key: str) -> None:
        if not isinstance(input_data, OutputConsumption):
            raise WorkflowDefinitionError(
                "MetricInfo: input_data must be job.outputs['<metrics output>'].as_input()"
            )
        if not json_key:
            raise WorkflowDefinitionError("MetricInfo: json_key is empty")
        self.input_data = input_data
        self.json_key = json_key


class Condition:
    """``left <op> right``; with ``OR`` both sides are conditions. Lists of conditions AND."""

    def __init__(self, condition_type: ConditionTypeEnum | str, left: Any, right: Any) -> None:
        try:
            self.condition_type = ConditionTypeEnum(
                getattr(condition_type, "value", condition_type)
            )
        except ValueError:
            raise WorkflowDefinitionError(
                f"Condition: unknown condition_type {condition_type!r}"
            ) from None
        if self.condition_type is ConditionTypeEnum.OR and not (
            isinstance(left, Condition) and isinstance(right, Condition)
        ):
            raise WorkflowDefinitionError(
                "Condition(OR, left, right): both sides must be Conditions"
            )
        self.left = left
        self.right = right


class StepPolicy:
    """Scheduling, timeout, skip conditions and automatic retries of one step."""

    def __init__(
        self,
        poll_interval_seconds: float = 1,
        max_execution_minutes: float = 10080,
        skip_conditions: Condition | list[Condition] | None = None,
        max_retries: int = 0,
        retry_interval_seconds: float = 1.0,
        retry_backoff: float = 2.0,
        max_retry_interval_seconds: float = 300.0,
    ) -> None:
        self.poll_interval_seconds = float(poll_interval_seconds)
        self.max_execution_minutes = float(max_execution_minutes)
        self.skip_conditions = _as_list(skip_conditions)
        for condition in self.skip_conditions:
            if not isinstance(condition, Condition):
                raise WorkflowDefinitionError(
                    f"StepPolicy: skip_conditions must be Conditions, not {condition!r}"
                )
        if max_retries < 0:
            raise WorkflowDefinitionError("StepPolicy: max_retries cannot be negative")
        self.max_retries = max_retries
        self.retry_interval_seconds = float(retry_interval_seconds)
        self.retry_backoff = float(retry_backoff)
        self.max_retry_interval_seconds = float(max_retry_interval_seconds)


class _Input:
    def __init__(self, name: str, data: Any) -> None:
        self.name = check_name("input", name)
        self.data = data


class JobInput(_Input):
    pass


class LabelingInput(_Input):
    pass


class CreateDatasetInput(_Input):
    pass


class DatasetImportInput(_Input):
    pass


class ReleaseDatasetInput(_Input):
    pass


class ModelInput(_Input):
    pass


class ServiceInput(_Input):
    pass


class _Output:
    kind = "path"

    def __init__(self, name: str) -> None:
        self.name = check_name("output", name)

    def location(self) -> Any:
        return None

    def config(self) -> dict[str, Any]:
        return {}


class JobOutput(_Output):
    """A job output: a directory (``obs_config``), a model or a metrics file."""

    def __init__(
        self,
        name: str,
        obs_config: OutputConfig | None = None,
        model_config: ModelConfig | None = None,
        metrics_config: MetricsConfig | None = None,
    ) -> None:
        super().__init__(name)
        given = [c for c in (obs_config, model_config, metrics_config) if c is not None]
        if len(given) > 1:
            raise WorkflowDefinitionError(
                f"JobOutput {name!r}: give one of obs_config, model_config or metrics_config"
            )
        if metrics_config is not None and len(metrics_config.metric_files) > 1:
            raise WorkflowDefinitionError(
                f"JobOutput {name!r}: MetricsConfig has {len(metrics_config.metric_files)} "
                "metric_files; an output here is one metrics file, so declare one "
                "JobOutput(metrics_config=MetricsConfig(...)) per file (MetricInfo names the "
                "output it reads)"
            )
        self.obs_config = obs_config
        self.model_config = model_config
        self.metrics_config = metrics_config
        self.kind = "metrics" if metrics_config else "model" if model_config else "path"

    def location(self) -> Any:
        if self.obs_config is not None:
            return self.obs_config.obs_path
        if self.metrics_config is not None:
            return self.metrics_config.metric_files[0]
        return None

    def config(self) -> dict[str, Any]:
        if self.metrics_config is not None:
            return {
                "realtime_visualization": self.metrics_config.realtime_visualization,
                "visualization": self.metrics_config.visualization,
            }
        if self.model_config is not None:
            return dict(self.model_config.settings)
        return {}


class LabelingOutput(_Output):
    kind = "label_task"


class CreateDatasetOutput(_Output):
    kind = "dataset"

    def __init__(self, name: str, config: OutputConfig | None = None) -> None:
        super().__init__(name)
        self.output_config = config

    def location(self) -> Any:
        return self.output_config.obs_path if self.output_config else None


class DatasetImportOutput(_Output):
    kind = "dataset"


class ReleaseDatasetOutput(_Output):
    kind = "dataset"

    def __init__(self, name: str, dataset_version_config: Any = None) -> None:
        super().__init__(name)
        self.dataset_version_config = dataset_version_config

    def config(self) -> dict[str, Any]:
        settings = getattr(self.dataset_version_config, "settings", None)
        return dict(settings or {})


class ModelOutput(_Output):
    kind = "model"

    def __init__(self, name: str, model_config: ModelConfig | None = None) -> None:
        super().__init__(name)
        self.model_config = model_config

    def config(self) -> dict[str, Any]:
        return dict(self.model_config.settings) if self.model_config else {}


class ServiceOutput(_Output):
    """A deployed service; ``get_output_variable("access_address")`` on its handle is the
    service's address, for another step's settings."""

    kind = "service"

    def __init__(
        self, name: str, service_config: ServiceConfig | TripartiteServiceConfig | None = None
    ) -> None:
        super().__init__(name)
        self.service_config = service_config

    def config(self) -> dict[str, Any]:
        return dict(self.service_config.settings) if self.service_config else {}


class _OutputHandle:
    def __init__(self, step: Step, name: str) -> None:
        self.step = step
        self.name = name

    def as_input(self) -> OutputConsumption:
        return OutputConsumption(self.step, self.name)

    def get_output_variable(self, name: str) -> OutputVariable:
        """A value this output publishes once its step has run: a service's
        ``access_address`` (or ``cluster_inner_access_address``), for another step's
        settings such as ``ServiceConfig(envs={...})``."""
        output = next(o for o in self.step.output_list if o.name == self.name)
        where = f"step {self.step.name!r} output {self.name!r}"
        if output.kind != "service":
            raise WorkflowDefinitionError(
                f"{where} is a {output.kind} output; only a service step's output has "
                f"variables ({', '.join(SERVICE_VARIABLES)})"
            )
        if name not in SERVICE_VARIABLES:
            raise WorkflowDefinitionError(
                f"{where} has no variable {name!r} (it has: {', '.join(SERVICE_VARIABLES)})"
            )
        return OutputVariable(self.step, self.name, name)


class _Outputs(Mapping[str, _OutputHandle]):
    def __init__(self, step: Step) -> None:
        self._step = step

    def __getitem__(self, name: str) -> _OutputHandle:
        names = [o.name for o in self._step.output_list]
        if name not in names:
            raise WorkflowDefinitionError(
                f"step {self._step.name!r} declares no output named {name!r} "
                f"(it has: {', '.join(names) or 'none'})"
            )
        return _OutputHandle(self._step, name)

    def __iter__(self) -> Iterator[str]:
        return iter([o.name for o in self._step.output_list])

    def __len__(self) -> int:
        return len(self._step.output_list)


class Step:
    """What every step has: name, inputs, outputs, properties, policy, dependencies."""

    step_type = ""

    def __init__(
        self,
        name: str,
        inputs: Any = None,
        outputs: Any = None,
        properties: Any = None,
        title: str | None = None,
        description: str | None = None,
        policy: StepPolicy | None = None,
        depend_steps: Step | list[Step] | None = None,
    ) -> None:
        self.name = check_name("step", name)
        self.title = title or name
        self.description = description or ""
        self.input_list: list[_Input] = _as_list(inputs)
        self.output_list: list[_Output] = _as_list(outputs)
        self.properties = properties
        if policy is not None and not isinstance(policy, StepPolicy):
            raise WorkflowDefinitionError(f"step {name!r}: policy must be a wf.steps.StepPolicy")
        self.policy = policy or StepPolicy()
        self.depend_steps: list[Step] = _as_list(depend_steps)
        for dep in self.depend_steps:
            if not isinstance(dep, Step):
                raise WorkflowDefinitionError(
                    f"step {name!r}: depend_steps must be steps, not {dep!r}"
                )
        for item in self.input_list:
            if not isinstance(item, _Input):
                raise WorkflowDefinitionError(f"step {name!r}: {item!r} is not a step input")
        for out in self.output_list:
            if not isinstance(out, _Output):
                raise WorkflowDefinitionError(f"step {name!r}: {out!r} is not a step output")
        self.outputs = _Outputs(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class JobStep(Step):
    step_type = "job"

    def __init__(
        self,
        name: str,
        algorithm: AnyAlgorithm,
        spec: JobSpec | None = None,
        inputs: JobInput | list[JobInput] | None = None,
        outputs: JobOutput | list[JobOutput] | None = None,
        title: str | None = None,
        description: str | None = None,
        policy: StepPolicy | None = None,
        depend_steps: Step | list[Step] | None = None,
    ) -> None:
        if not isinstance(algorithm, BaseAlgorithm | Algorithm | GalleryAlgorithm):
            raise WorkflowDefinitionError(
                f"step {name!r}: algorithm must be wf.BaseAlgorithm, wf.Algorithm or "
                f"wf.GalleryAlgorithm, not {algorithm!r}"
            )
        if spec is not None and not isinstance(spec, JobSpec):
            raise WorkflowDefinitionError(
                f"step {name!r}: spec must be a wf.steps.JobSpec, not {spec!r}"
            )
        self.algorithm = algorithm
        self.spec = spec or JobSpec()
        super().__init__(
            name,
            inputs=inputs,
            outputs=outputs,
            title=title,
            description=description,
            policy=policy,
            depend_steps=depend_steps,
        )


class ConditionStep(Step):
    """Runs ``if_then_steps`` when all conditions hold, else ``else_then_steps``."""

    step_type = "condition"

    def __init__(
        self,
        name: str,
        conditions: Condition | list[Condition],
        if_then_steps: str | Step | list[str | Step] | None = None,
        else_then_steps: str | Step | list[str | Step] | None = None,
        title: str | None = None,
        description: str | None = None,
        depend_steps: Step | list[Step] | None = None,
    ) -> None:
        self.conditions = _as_list(conditions)
        if not self.conditions or not all(isinstance(c, Condition) for c in self.conditions):
            raise WorkflowDefinitionError(
                f"step {name!r}: conditions must be one or more wf.steps.Condition"
            )
        self.if_then_steps = [getattr(s, "name", s) for s in _as_list(if_then_steps)]
        self.else_then_steps = [getattr(s, "name", s) for s in _as_list(else_then_steps)]
        super().__init__(name, title=title, description=description, depend_steps=depend_steps)


class LabelingStep(Step):
    step_type = "labeling"


class CreateDatasetStep(Step):
    step_type = "create_dataset"


class DatasetImportStep(Step):
    step_type = "dataset_import"


class ReleaseDatasetStep(Step):
    step_type = "release_dataset"


class _OutputsFirstStep(Step):
    """Model and service steps take ``outputs`` before the optional ``inputs``."""

    def __init__(
        self,
        name: str,
        outputs: _Output | list[_Output],
        inputs: _Input | list[_Input] | None = None,
        title: str | None = None,
        description: str | None = None,
        policy: StepPolicy | None = None,
        depend_steps: Step | list[Step] | None = None,
    ) -> None:
        super().__init__(
            name,
            inputs=inputs,
            outputs=outputs,
            title=title,
            description=description,
            policy=policy,
            depend_steps=depend_steps,
        )


class ModelStep(_OutputsFirstStep):
    step_type = "model"


class ServiceStep(_OutputsFirstStep):
    step_type = "service"
