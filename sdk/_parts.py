"""Settings of the dataset, labeling, model and service steps, with the manual's arguments.

These steps compile (their settings become the step's ``properties`` or an output's
``config``, placeholders and storage paths inside them as value expressions) but this runner
does not execute them yet. A setting given as None is left out of the compiled settings, so
they hold what the definition said; the defaults the manual states apply where the step runs.
Enumerations accept a member or its value.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any, TypeVar

from sdk._data import DataTypeEnum, LabelTaskTypeEnum
from sdk._errors import WorkflowDefinitionError

E = TypeVar("E", bound=Enum)


def member(enum: type[E], value: Any, where: str) -> E | Any:
    """``value`` as a member of ``enum`` (a member, or a member's value); placeholders and
    None pass as they are."""
    if value is None or isinstance(value, enum):
        return value
    if isinstance(value, Enum) or (isinstance(value, str | int) and not isinstance(value, bool)):
        raw = value.value if isinstance(value, Enum) else value
        for found in enum:
            if raw in (found.value, found.name):
                return found
        choices = ", ".join(m.name for m in enum)
        raise WorkflowDefinitionError(
            f"{where}: {value!r} is not a {enum.__name__} (one of {choices})"
        )
    return value  # a placeholder: checked where its value is used


class _Settings:
    """Keyword settings of a step kind, carried into the compiled workflow as given."""

    def __init__(self, **settings: Any) -> None:
        self.settings = {k: v for k, v in settings.items() if v is not None}


class LabelTypeEnum(StrEnum):
    """A label's type (undocumented in the manual): the labelling task type it belongs to."""

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


class AnnotationFormatEnum(StrEnum):
    MA_IMAGE_CLASSIFICATION_V1 = "MA_IMAGE_CLASSIFICATION_V1"
    MA_IMAGENET_V1 = "MA_IMAGENET_V1"
    MA_PASCAL_VOC_V1 = "MA_PASCAL_VOC_V1"
    YOLO = "YOLO"
    MA_IMAGE_SEGMENTATION_V1 = "MA_IMAGE_SEGMENTATION_V1"
    MA_TEXT_CLASSIFICATION_COMBINE_V1 = "MA_TEXT_CLASSIFICATION_COMBINE_V1"
    MA_TEXT_CLASSIFICATION_V1 = "MA_TEXT_CLASSIFICATION_V1"
    MA_AUDIO_CLASSIFICATION_DIR_V1 = "MA_AUDIO_CLASSIFICATION_DIR_V1"


class ImportTypeEnum(StrEnum):
    DIR = "dir"
    MANIFEST = "manifest"


class DataOriginTypeEnum(StrEnum):
    """Where imported data comes from (undocumented in the manual). Only object-store paths
    (``OBS``) exist here."""

    OBS = "obs"
    DWS = "dws"
    DLI = "dli"
    RDS = "rds"
    MRS = "mrs"
    AI_GALLERY = "ai_gallery"
    INFERENCE = "inference"


class Label(_Settings):
    """A label: its name, properties (such as a colour) and type."""

    def __init__(self, name: Any = None, property: Any = None, type: Any = None) -> None:
        super().__init__(name=name, property=property, type=member(LabelTypeEnum, type, "Label"))


class LabelFormat(_Settings):
    """How labels are written in a text dataset (undocumented in the manual beyond its name):
    the label type and the separators between labels and between text and labels."""

    def __init__(
        self,
        label_type: Any = None,
        text_label_separator: Any = None,
        text_sample_separator: Any = None,
    ) -> None:
        super().__init__(
            label_type=label_type,
            text_label_separator=text_label_separator,
            text_sample_separator=text_sample_separator,
        )


def _separator(name: str, value: Any) -> Any:
    if isinstance(value, str) and len(value) != 1:
        raise WorkflowDefinitionError(
            f"AnnotationFormatParameters: {name} must be one character, not {value!r}"
        )
    return value


class AnnotationFormatParameters(_Settings):
    def __init__(
        self,
        difficult_only: Any = None,
        included_labels: list[Label] | None = None,
        label_separator: Any = None,
        sample_label_separator: Any = None,
    ) -> None:
        super().__init__(
            difficult_only=difficult_only,
            included_labels=included_labels,
            label_separator=_separator("label_separator", label_separator),
            sample_label_separator=_separator("sample_label_separator", sample_label_separator),
        )


class AnnotationFormatConfig(_Settings):
    """The annotation format of labelled data being imported."""

    def __init__(
        self,
        format_name: Any = None,
        parameters: AnnotationFormatParameters | None = None,
        scene: Any = None,
    ) -> None:
        where = "AnnotationFormatConfig"
        super().__init__(
            format_name=member(AnnotationFormatEnum, format_name, where),
            parameters=parameters,
            scene=member(LabelTaskTypeEnum, scene, where),
        )


class SchemaField(_Settings):
    """A column of a table dataset (undocumented in the manual beyond its name):
    ``DatasetProperties(schema=[SchemaField(...)])``."""

    def __init__(
        self, name: str, type: str, description: str | None = None, schema_id: int | None = None
    ) -> None:
        super().__init__(name=name, type=type, description=description, schema_id=schema_id)


class ImportConfig(_Settings):
    """Importing the labels of already labelled data when a dataset is created."""

    def __init__(
        self,
        import_annotations: Any = None,
        import_type: Any = None,
        annotation_format_config: list[AnnotationFormatConfig] | None = None,
    ) -> None:
        super().__init__(
            import_annotations=import_annotations,
            import_type=member(ImportTypeEnum, import_type, "ImportConfig"),
            annotation_format_config=annotation_format_config,
        )


class DatasetProperties(_Settings):
    """A dataset to create (or reuse, by name). ``schema`` lists a table dataset's columns."""

    def __init__(
        self,
        dataset_name: Any,
        dataset_format: Any = None,
        data_type: Any = None,
        description: str | None = None,
        import_data: Any = None,
        work_path_type: Any = None,
        import_config: ImportConfig | None = None,
        schema: list[SchemaField] | None = None,
    ) -> None:
        super().__init__(
            dataset_name=dataset_name,
            dataset_format=dataset_format,
            data_type=member(DataTypeEnum, data_type, "DatasetProperties"),
            description=description,
            import_data=import_data,
            work_path_type=work_path_type,
            import_config=import_config,
            schema=schema,
        )


class ImportDataInfo(_Settings):
    """What a dataset import step takes from the source path."""

    def __init__(
        self,
        annotation_format_config: list[AnnotationFormatConfig] | None = None,
        excluded_labels: list[Label] | None = None,
        import_annotated: Any = None,
        import_annotations: Any = None,
        import_samples: Any = None,
        import_type: Any = None,
        included_labels: list[Label] | None = None,
        label_format: LabelFormat | None = None,
    ) -> None:
        super().__init__(
            annotation_format_config=annotation_format_config,
            excluded_labels=excluded_labels,
            import_annotated=import_annotated,
            import_annotations=import_annotations,
            import_samples=import_samples,
            import_type=member(ImportTypeEnum, import_type, "ImportDataInfo"),
            included_labels=included_labels,
            label_format=label_format,
        )


class LabelTaskProperties(_Settings):
    """The labelling task a labeling step creates (or reuses, by name) and waits on."""

    def __init__(
        self,
        task_type: Any = None,
        task_name: Any = None,
        labels: list[Label] | None = None,
        properties: dict[str, Any] | None = None,
        auto_sync_dataset: Any = None,
        content_labeling: Any = None,
        description: str | None = None,
    ) -> None:
        super().__init__(
            task_type=member(LabelTaskTypeEnum, task_type, "LabelTaskProperties"),
            task_name=task_name,
            labels=labels,
            properties=properties,
            auto_sync_dataset=auto_sync_dataset,
            content_labeling=content_labeling,
            description=description,
        )


class DatasetVersionConfig(_Settings):
    """A dataset version to release (all optional: ``DatasetVersionConfig()`` is valid)."""

    def __init__(
        self,
        version_name: Any = None,
        version_format: Any = None,
        train_evaluate_sample_ratio: Any = None,
        clear_hard_property: Any = None,
        remove_sample_usage: Any = None,
        label_task_type: Any = None,
        description: str | None = None,
    ) -> None:
        if version_format is not None and version_format not in ("Default", "CarbonData"):
            raise WorkflowDefinitionError(
                f"DatasetVersionConfig: version_format {version_format!r} is not Default or "
                "CarbonData"
            )
        super().__init__(
            version_name=version_name,
            version_format=version_format,
            train_evaluate_sample_ratio=train_evaluate_sample_ratio,
            clear_hard_property=clear_hard_property,
            remove_sample_usage=remove_sample_usage,
            label_task_type=member(LabelTaskTypeEnum, label_task_type, "DatasetVersionConfig"),
            description=description,
        )


class LabelTaskConfig(_Settings):
    """Settings of a labelling task (undocumented in the manual beyond its name): keyword
    settings, carried as given."""


class TemplateInputs(_Settings):
    """One input of a model template: its id and the path it reads."""

    def __init__(self, input_id: Any, input: Any) -> None:
        super().__init__(input_id=input_id, input=input)


class Template(_Settings):
    """A model template (``ModelConfig(model_type="Template", template=...)``)."""

    def __init__(
        self,
        template_id: Any,
        template_inputs: list[TemplateInputs],
        infer_format: Any = None,
    ) -> None:
        inputs = template_inputs if isinstance(template_inputs, list) else [template_inputs]
        if not inputs or not all(isinstance(i, TemplateInputs) for i in inputs):
            raise WorkflowDefinitionError(
                "Template: template_inputs must be one or more wf.steps.TemplateInputs"
            )
        super().__init__(template_id=template_id, infer_format=infer_format, template_inputs=inputs)


MODEL_TYPES = (
    "TensorFlow",
    "MXNet",
    "Caffe",
    "Spark_MLlib",
    "Scikit_Learn",
    "XGBoost",
    "Image",
    "PyTorch",
    "Template",
    "Custom",
)


class ModelConfig(_Settings):
    """A model to register (``model_type`` defaults to TensorFlow where the step runs)."""

    def __init__(
        self,
        model_type: Any = None,
        model_name: Any = None,
        model_version: Any = None,
        runtime: Any = None,
        description: str | None = None,
        execution_code: str | None = None,
        dependencies: Any = None,
        model_metrics: Any = None,
        apis: Any = None,
        initial_config: dict[str, Any] | None = None,
        template: Template | None = None,
        dynamic_load_mode: Any = None,
        prebuild: Any = None,
        install_type: list[str] | None = None,
    ) -> None:
        if isinstance(model_type, str) and model_type not in MODEL_TYPES:
            raise WorkflowDefinitionError(
                f"ModelConfig: model_type {model_type!r} is not one of {', '.join(MODEL_TYPES)}"
            )
        if model_type == "Template" and template is None:
            raise WorkflowDefinitionError(
                "ModelConfig: model_type='Template' needs template=wf.steps.Template(...)"
            )
        super().__init__(
            model_type=model_type,
            model_name=model_name,
            model_version=model_version,
            runtime=runtime,
            description=description,
            execution_code=execution_code,
            dependencies=dependencies,
            model_metrics=model_metrics,
            apis=apis,
            initial_config=initial_config,
            template=template,
            dynamic_load_mode=dynamic_load_mode,
            prebuild=prebuild,
            install_type=install_type,
        )


class ServiceConfig(_Settings):
    """A service to deploy (``infer_type`` defaults to real-time where the step runs).
    ``envs`` values may be another service's ``get_output_variable("access_address")``."""

    def __init__(
        self,
        infer_type: Any = None,
        service_name: Any = None,
        description: str | None = None,
        vpc_id: str | None = None,
        subnet_network_id: str | None = None,
        security_group_id: str | None = None,
        cluster_id: str | None = None,
        additional_properties: dict[str, Any] | None = None,
        apps: Any = None,
        envs: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(infer_type, str) and infer_type not in ("real-time", "batch", "edge"):
            raise WorkflowDefinitionError(
                f"ServiceConfig: infer_type {infer_type!r} is not real-time, batch or edge"
            )
        super().__init__(
            infer_type=infer_type,
            service_name=service_name,
            description=description,
            vpc_id=vpc_id,
            subnet_network_id=subnet_network_id,
            security_group_id=security_group_id,
            cluster_id=cluster_id,
            additional_properties=additional_properties,
            apps=apps,
            envs=envs,
        )


class TripartiteServiceConfig(_Settings):
    """A service deployed to a third-party platform (undocumented in the manual beyond its
    name): keyword settings, carried as given (a ``ServiceOutput`` takes it as its config)."""
