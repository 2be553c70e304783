"""Data: storages and their paths, concrete data objects, data placeholders, selectors."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any

from sdk._errors import WorkflowDefinitionError
from sdk._placeholder import Placeholder, PlaceholderType, check_name


def _join(base: str, part: str) -> str:
    part = part.lstrip("/")
    if not base:
        return part
    return base if not part else base.rstrip("/") + "/" + part


class Storage:
    """A root directory configured per workflow; ``join`` lays out paths below it."""

    kind = "storage"

    def __init__(
        self,
        name: str,
        title: str | None = None,
        description: str | None = None,
        create_dir: bool = False,
        with_execution_id: bool = False,
    ) -> None:
        self.name = check_name("storage", name)
        self.title = title or name
        self.description = description or ""
        if with_execution_id and not create_dir:
            raise WorkflowDefinitionError(
                f"storage {name!r}: with_execution_id=True needs create_dir=True (a directory "
                "per execution is created)"
            )
        self.create_dir = create_dir
        self.with_execution_id = with_execution_id

    def join(
        self,
        directory: str,
        with_execution_id: bool | None = None,
        create_dir: bool | None = None,
    ) -> StorageJoin:
        return StorageJoin(self, _join("", directory), with_execution_id, create_dir)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class InputStorage(Storage):
    """A storage read from; nothing is created."""

    kind = "input"

    def __init__(self, name: str, title: str | None = None, description: str | None = None):
        super().__init__(name, title, description, create_dir=False, with_execution_id=False)


class OutputStorage(Storage):
    """A storage written to: each execution gets a fresh ``<execution id>/`` directory."""

    kind = "output"

    def __init__(self, name: str, title: str | None = None, description: str | None = None):
        super().__init__(name, title, description, create_dir=True, with_execution_id=True)


class StorageJoin:
    """A path below a storage's root; joins chain."""

    def __init__(
        self,
        storage: Storage,
        path: str,
        with_execution_id: bool | None = None,
        create_dir: bool | None = None,
    ) -> None:
        self.storage = storage
        self.path = path
        self.with_execution_id = with_execution_id
        self.create_dir = create_dir

    def join(
        self,
        directory: str,
        with_execution_id: bool | None = None,
        create_dir: bool | None = None,
    ) -> StorageJoin:
        return StorageJoin(
            self.storage,
            _join(self.path, directory),
            self.with_execution_id if with_execution_id is None else with_execution_id,
            self.create_dir if create_dir is None else create_dir,
        )

    def __repr__(self) -> str:
        return f"{self.storage.name}:/{self.path}"


PathLike = str | Storage | StorageJoin


class ObjectPath:
    """An existing object-store path (file or directory). Alias: ``OBSPath``."""

    def __init__(self, obs_path: PathLike | Placeholder) -> None:
        if not isinstance(obs_path, str | Storage | StorageJoin | Placeholder):
            raise WorkflowDefinitionError(
                f"ObjectPath: obs_path must be a path string or a storage path, not {obs_path!r}"
            )
        self.obs_path = obs_path


class ObjectPlaceholder(Placeholder):
    """A path chosen at configuration time. Alias: ``OBSPlaceholder``."""

    def __init__(
        self,
        name: str,
        object_type: str,
        delay: bool = False,
        default: ObjectPath | str | None = None,
        description: str | None = None,
    ) -> None:
        if object_type not in ("file", "directory"):
            raise WorkflowDefinitionError(
                f"placeholder {name!r}: object_type must be 'file' or 'directory', "
                f"not {object_type!r}"
            )
        if isinstance(default, ObjectPath):
            if not isinstance(default.obs_path, str):
                raise WorkflowDefinitionError(
                    f"placeholder {name!r}: the default must be a plain path"
                )
            default = default.obs_path
        self.object_type = object_type
        super().__init__(
            name,
            PlaceholderType.STR,
            default=default,
            placeholder_format=f"obs_{object_type}",
            delay=delay,
            description=description,
        )


class OutputConfig:
    """Where a step writes an output directory. Alias: ``OBSOutputConfig``.

    ``metric_file`` (metrics in a file of this directory) is refused: declare the file as a
    metrics output of its own, which is read the same way."""

    def __init__(self, obs_path: PathLike | Placeholder, metric_file: Any = None) -> None:
        if not isinstance(obs_path, str | Storage | StorageJoin | Placeholder):
            raise WorkflowDefinitionError(
                f"OBSOutputConfig: obs_path must be a path, a storage path or a placeholder, "
                f"not {obs_path!r}"
            )
        if metric_file is not None:
            raise WorkflowDefinitionError(
                f"OBSOutputConfig: metric_file={metric_file!r} is not read here; declare the "
                "file as a metrics output instead: JobOutput('metrics', metrics_config="
                "MetricsConfig(storage.join('<this directory>/metrics.json', create_dir=False)))"
                " (the job writes it into this output's directory)"
            )
        self.obs_path = obs_path
        self.metric_file = None


class MetricsConfig:
    """Where a job's metrics are: a path whose last part ends in ``.json`` is that file (the
    manual's ``storage.join("out/metrics.json", create_dir=False)``), any other path a
    directory holding ``metrics.json``. A JobOutput takes one file (declare one metrics output
    per file)."""

    def __init__(
        self,
        metric_files: PathLike | Placeholder | list[PathLike | Placeholder],
        realtime_visualization: bool = False,
        visualization: bool = True,
    ) -> None:
        files = metric_files if isinstance(metric_files, list | tuple) else [metric_files]
        if not files:
            raise WorkflowDefinitionError("MetricsConfig: metric_files is empty")
        for item in files:
            if not isinstance(item, str | Storage | StorageJoin | Placeholder):
                raise WorkflowDefinitionError(
                    f"MetricsConfig: {item!r} is not a path, a storage path or a placeholder"
                )
        self.metric_files = list(files)
        self.realtime_visualization = realtime_visualization
        self.visualization = visualization


class DataTypeEnum(StrEnum):
    IMAGE = "image"
    TEXT = "text"
    AUDIO = "audio"
    TABULAR = "tabular"
    VIDEO = "video"
    FREE_FORMAT = "free_format"


class DatasetTypeEnum(StrEnum):
    """A dataset's labelling type (undocumented in the manual beyond its name): the same
    values as ``LabelTaskTypeEnum``."""

    IMAGE_CLASSIFICATION = "image_classification"
    OBJECT_DETECTION = "object_detection"
    IMAGE_SEGMENTATION = "image_segmentation"
    TEXT_CLASSIFICATION = "text_classification"
    NAMED_ENTITY_RECOGNITION = "named_entity_recognition"
    TEXT_TRIPLE = "text_triple"
    AUDIO_CLASSIFICATION = "audio_classification"
    SPEECH_CONTENT = "speech_content"
    SPEECH_SEGMENTATION = "speech_segmentation"
    DATASET_TABULAR = "dataset_tabular"
    VIDEO_ANNOTATION = "video_annotation"
    FREE_FORMAT = "free_format"


class LabelTaskTypeEnum(StrEnum):
    IMAGE_CLASSIFICATION = "image_classification"
    OBJECT_DETECTION = "object_detection"
    IMAGE_SEGMENTATION = "image_segmentation"
    TEXT_CLASSIFICATION = "text_classification"
    NAMED_ENTITY_RECOGNITION = "named_entity_recognition"
    TEXT_TRIPLE = "text_triple"
    AUDIO_CLASSIFICATION = "audio_classification"
    SPEECH_CONTENT = "speech_content"
    SPEECH_SEGMENTATION = "speech_segmentation"
    DATASET_TABULAR = "dataset_tabular"
    VIDEO_ANNOTATION = "video_annotation"
    FREE_FORMAT = "free_format"


class _Concrete:
    """A data object fixed in the definition; ``kind`` names it in the IR."""

    kind = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: v.value if isinstance(v, Enum) else v for k, v in vars(self).items()}


class Dataset(_Concrete):
    kind = "dataset"

    def __init__(self, dataset_name: str, version_name: str | None = None) -> None:
        self.dataset_name = dataset_name
        self.version_name = version_name


class LabelTask(_Concrete):
    kind = "label_task"

    def __init__(self, dataset_name: str, task_name: str) -> None:
        self.dataset_name = dataset_name
        self.task_name = task_name


class ServiceData(_Concrete):
    kind = "service"

    def __init__(self, service_id: str) -> None:
        self.service_id = service_id


class SWRImage(_Concrete):
    kind = "image"

    def __init__(self, swr_path: str) -> None:
        self.swr_path = swr_path


class ModelData(_Concrete):
    """A registered model fixed in the definition, by name and version (undocumented in the
    manual beyond its name): a model or service step's input."""

    kind = "model"

    def __init__(self, model_name: str, model_version: str | None = None) -> None:
        if not model_name:
            raise WorkflowDefinitionError("ModelData: model_name is empty")
        self.model_name = model_name
        self.model_version = model_version


class GalleryModel(_Concrete):
    kind = "gallery_model"

    def __init__(self, subscription_id: str, version_num: str) -> None:
        self.subscription_id = subscription_id
        self.version_num = version_num


class _DataPlaceholder(Placeholder):
    """A JSON placeholder whose value describes a data object (``format`` says which)."""

    format = ""

    def __init__(
        self,
        name: str,
        delay: bool = False,
        default: _Concrete | None = None,
        description: str | None = None,
        **properties: Any,
    ) -> None:
        self.properties = {k: v for k, v in properties.items() if v is not None}
        super().__init__(
            name,
            PlaceholderType.JSON,
            default=default.as_dict() if isinstance(default, _Concrete) else default,
            placeholder_format=self.format,
            delay=delay,
            description=description,
        )

    def constraint_values(self) -> dict[str, Any]:
        return {**super().constraint_values(), **self.properties}


class DatasetPlaceholder(_DataPlaceholder):
    format = "dataset"

    def __init__(
        self,
        name: str,
        data_type: DataTypeEnum | None = None,
        delay: bool = False,
        default: Dataset | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(name, delay, default, description, data_type=data_type)


class LabelTaskPlaceholder(_DataPlaceholder):
    format = "label_task"

    def __init__(
        self,
        name: str,
        task_type: LabelTaskTypeEnum | None = None,
        delay: bool = False,
        description: str | None = None,
    ) -> None:
        super().__init__(name, delay, None, description, task_type=task_type)


class ServiceUpdatePlaceholder(_DataPlaceholder):
    format = "service"

    def __init__(self, name: str, delay: bool = False, description: str | None = None) -> None:
        super().__init__(name, delay, None, description)


class SWRImagePlaceholder(Placeholder):
    def __init__(self, name: str, delay: bool = False, description: str | None = None) -> None:
        super().__init__(
            name,
            PlaceholderType.STR,
            placeholder_format="swr",
            delay=delay,
            description=description,
        )


class ServiceInputPlaceholder(_DataPlaceholder):
    """Deployment settings chosen when the service step is reached (delayed by default)."""

    format = "service_input"

    def __init__(
        self,
        name: str,
        model_name: str | Placeholder,
        model_version: str | None = None,
        envs: dict[str, str] | None = None,
        delay: bool = True,
        description: str | None = None,
    ) -> None:
        super().__init__(
            name,
            delay,
            None,
            description,
            model_name=model_name,
            model_version=model_version,
            envs=envs,
        )


class OutputConsumption:
    """``step.outputs["name"].as_input()``: an upstream output used as an input."""

    def __init__(self, step: Any, output: str) -> None:
        self.step = step
        self.output = output

    def __repr__(self) -> str:
        return f"{self.step.name}.outputs[{self.output!r}]"


class OutputVariable:
    """``step.outputs["x"].get_output_variable("access_address")``: a value a service step's
    output publishes once it has run, for another step's settings (``ServiceConfig(envs=...)``)."""

    def __init__(self, step: Any, output: str, name: str) -> None:
        self.step = step
        self.output = output
        self.name = name

    def __repr__(self) -> str:
        return f"{self.step.name}.outputs[{self.output!r}].get_output_variable({self.name!r})"


class DataSelector(ObjectPlaceholder):
    """An input the user picks at configuration time among ``data_type_list`` (``"obs"``,
    ``"dataset"``). Gallery has no dataset service, so only the object-store path can be
    picked: a DataSelector is a directory placeholder (``obs`` must be in the list)."""

    def __init__(
        self,
        name: str,
        data_type_list: list[str],
        delay: bool = False,
        description: str | None = None,
    ) -> None:
        kinds = list(data_type_list or [])
        unknown = [k for k in kinds if k not in ("obs", "dataset")]
        if unknown or "obs" not in kinds:
            raise WorkflowDefinitionError(
                f"DataSelector {name!r}: data_type_list {kinds!r} must include 'obs' (and may "
                "include 'dataset'): only an object-store path can be picked here; for a "
                "dataset alone use wf.data.DatasetPlaceholder"
            )
        self.data_type_list = kinds
        super().__init__(name, "directory", delay=delay, description=description)


class DataConsumptionSelector:
    """Takes the one upstream output whose step was not skipped."""

    def __init__(self, data_list: list[OutputConsumption]) -> None:
        if not data_list or not all(isinstance(d, OutputConsumption) for d in data_list):
            raise WorkflowDefinitionError(
                "DataConsumptionSelector: data_list must be a non-empty list of "
                "step.outputs[...].as_input() values"
            )
        self.data_list = list(data_list)
