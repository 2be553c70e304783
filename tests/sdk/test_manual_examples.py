"""The code examples of the ModelArts manual, written as our own code with the manual's names
and arguments (resource names and paths adapted), each compiled.

``from modelarts import workflow as wf`` is ``import sdk as wf``. Where the manual's own code
breaks one of its rules (a placeholder name used for two different placeholders, two inputs
with one name, a step used but not listed in ``steps=``), the test asserts the clear error and
then compiles the example with that one slip corrected. Examples of features Gallery refuses
assert the error that says so. Each test's docstring names the manual section. Run-time
behaviour of the examples is covered by tests/runner (development mode by the lead's tests).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sdk as wf
from sdk import spec as ir

ERROR = wf.WorkflowDefinitionError


def raises(culprit: str, action: Callable[[], object]) -> str:
    with pytest.raises(ERROR) as caught:
        action()
    message = str(caught.value)
    assert culprit in message, message
    return message


def train_flavor(name: str = "train_flavor") -> wf.Placeholder:
    """The manual's resource flavor: a JSON placeholder (``{"flavor_id": ...}``)."""
    return wf.Placeholder(
        name=name, placeholder_type=wf.PlaceholderType.JSON, description="训练资源规格"
    )


def parameter_placeholder() -> wf.AlgorithmParameters:
    return wf.AlgorithmParameters(
        name="parameter_name",
        value=wf.Placeholder(
            name="parameter_name",
            placeholder_type=wf.PlaceholderType.STR,
            default="fake_value",
            description="description_info",
        ),
    )


def resnet_parameters() -> list[wf.AlgorithmParameters]:
    """The hyper-parameters of the image classification algorithm of §3.2.3 and §5.10."""
    P, T = wf.Placeholder, wf.PlaceholderType
    return [
        wf.AlgorithmParameters(name="task_type", value="image_classification_v2"),
        wf.AlgorithmParameters(name="model_name", value="resnet_v1_50"),
        wf.AlgorithmParameters(name="do_train", value="True"),
        wf.AlgorithmParameters(name="do_eval_along_train", value="True"),
        wf.AlgorithmParameters(name="variable_update", value="horovod"),
        wf.AlgorithmParameters(
            name="learning_rate_strategy",
            value=P(
                name="learning_rate_strategy",
                placeholder_type=T.STR,
                default="0.002",
                description="learning rate per epoch range",
            ),
        ),
        wf.AlgorithmParameters(
            name="batch_size",
            value=P(
                name="batch_size", placeholder_type=T.INT, default=64, description="每步图片数"
            ),
        ),
        wf.AlgorithmParameters(
            name="eval_batch_size",
            value=P(name="eval_batch_size", placeholder_type=T.INT, default=64),
        ),
        wf.AlgorithmParameters(
            name="evaluate_every_n_epochs",
            value=P(name="evaluate_every_n_epochs", placeholder_type=T.FLOAT, default=1.0),
        ),
        wf.AlgorithmParameters(
            name="save_model_secs",
            value=P(name="save_model_secs", placeholder_type=T.INT, default=60),
        ),
        wf.AlgorithmParameters(
            name="save_summary_steps",
            value=P(name="save_summary_steps", placeholder_type=T.INT, default=10),
        ),
        wf.AlgorithmParameters(
            name="log_every_n_steps",
            value=P(name="log_every_n_steps", placeholder_type=T.INT, default=10),
        ),
        wf.AlgorithmParameters(
            name="do_data_cleaning",
            value=P(name="do_data_cleaning", placeholder_type=T.STR, default="True"),
        ),
        wf.AlgorithmParameters(
            name="use_fp16", value=P(name="use_fp16", placeholder_type=T.STR, default="True")
        ),
        wf.AlgorithmParameters(
            name="xla_compile", value=P(name="xla_compile", placeholder_type=T.STR, default="True")
        ),
        wf.AlgorithmParameters(
            name="data_format",
            value=P(
                name="data_format",
                placeholder_type=T.ENUM,
                default="NCHW",
                enum_list=["NCHW", "NHWC"],
            ),
        ),
        wf.AlgorithmParameters(
            name="best_model", value=P(name="best_model", placeholder_type=T.STR, default="True")
        ),
        wf.AlgorithmParameters(
            name="jpeg_preprocess",
            value=P(name="jpeg_preprocess", placeholder_type=T.STR, default="True"),
        ),
    ]


def first_job_step(flavor: wf.Placeholder | None = None) -> tuple[Any, Any, Any]:
    output_storage = wf.data.OutputStorage(name="output_storage", description="输出目录统一配置")
    dataset = wf.data.DatasetPlaceholder(name="input_data")
    job_step = wf.steps.JobStep(
        name="training_job",
        title="图像分类训练",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="image-classification-algorithm",
            item_version_id="10.0.0",
            parameters=resnet_parameters(),
        ),
        inputs=[wf.steps.JobInput(name="data_url", data=dataset)],
        outputs=[
            wf.steps.JobOutput(
                name="train_url",
                obs_config=wf.data.OBSOutputConfig(obs_path=output_storage.join("/train_output/")),
            )
        ],
        spec=wf.steps.JobSpec(
            resource=wf.steps.JobResource(flavor=flavor or train_flavor("training_flavor"))
        ),
    )
    return output_storage, dataset, job_step


# --- 3 getting started ------------------------------------------------------------------------


def test_3_2_3_the_first_workflow() -> None:
    """§3.2.3: one training step, its hyper-parameters as placeholders; the workflow in the
    default workspace, then in a chosen one (``wf.resource.Workspace``), with a session."""
    output_storage, _, job_step = first_job_step()
    workflow = wf.Workflow(
        name="image-classification-ResNeSt",
        desc="this is a image classification workflow",
        steps=[job_step],
        storages=[output_storage],
    )
    spec = workflow.compile()
    assert workflow.workspace == "default"
    assert len(spec.placeholders) == 13 + 1 + 1  # parameters, dataset, flavor
    assert spec.step("training_job").title == "图像分类训练"

    session = wf.Session("http://127.0.0.1:9", "a-token")
    in_team = wf.Workflow(
        name="image-classification-ResNeSt",
        desc="this is a image classification workflow",
        steps=[job_step],
        session=session,
        storages=[output_storage],
        workspace=wf.resource.Workspace(workspace_id="team-a"),
    )
    assert in_team.workspace == "team-a" and in_team.session is session
    assert in_team.compile() == spec
    session.close()


def test_3_2_6_every_placeholder_with_a_default_for_release_and_run() -> None:
    """§3.2.6: the §3.2.3 workflow prepared for ``release_and_run()``: the flavor gets the
    manual's JSON default ``{"flavor_id": ""}`` (an empty id: the default flavor)."""
    flavor = wf.Placeholder(
        name="training_flavor",
        placeholder_type=wf.PlaceholderType.JSON,
        description="训练资源规格",
        default={"flavor_id": ""},
    )
    output_storage, _, job_step = first_job_step(flavor)
    spec = wf.Workflow(
        name="image-classification-ResNeSt",
        desc="this is a image classification workflow",
        steps=[job_step],
        storages=[output_storage],
    ).compile()
    flavor_spec = next(p for p in spec.placeholders if p.name == "training_flavor")
    assert flavor_spec.default == {"flavor_id": ""}
    assert ir.flavor_name(flavor_spec.default) is None


# --- 5.1 and 5.2: data objects and placeholders --------------------------------------------


def test_5_1_3_data_objects() -> None:
    """§5.1.3: each data object's example (``**`` values adapted; the DatasetPlaceholder
    example's ``DataTypeEnum.IMAGE_CLASSIFICATION`` is a LabelTaskTypeEnum member, written here
    as the DataTypeEnum member ``IMAGE``)."""
    datasets = wf.data.Dataset(dataset_name="flowers", version_name="V001")
    label_task = wf.data.LabelTask(dataset_name="flowers", task_name="first-pass")
    obs = wf.data.OBSPath(obs_path="/bucket/flowers/")
    service = wf.data.ServiceData(service_id="service-1")
    image = wf.data.SWRImage(swr_path="team/flowers:1.0")
    model = wf.data.GalleryModel(subscription_id="model-asset", version_num="1.0.0")
    placeholders = [
        wf.data.DatasetPlaceholder(name="dataset_ph", data_type=wf.data.DataTypeEnum.IMAGE),
        wf.data.OBSPlaceholder(name="obs_ph", object_type="directory"),
        wf.data.LabelTaskPlaceholder(name="label_task_ph"),
        wf.data.ServiceUpdatePlaceholder(name="service_ph"),
        wf.data.SWRImagePlaceholder(name="image_ph"),
        wf.data.ServiceInputPlaceholder(name="deploy_ph", model_name="model_name"),
        wf.data.DataSelector(name="selector_ph", data_type_list=["obs", "dataset"]),
    ]
    step1 = wf.steps.JobStep(
        name="step1",
        algorithm=wf.Algorithm(algorithm_id="algo"),
        outputs=wf.steps.JobOutput("step1_output_name"),
    )
    step2 = wf.steps.JobStep(
        name="step2",
        algorithm=wf.Algorithm(algorithm_id="algo"),
        outputs=wf.steps.JobOutput("step2_output_name"),
    )
    selector = wf.data.DataConsumptionSelector(
        data_list=[
            step1.outputs["step1_output_name"].as_input(),
            step2.outputs["step2_output_name"].as_input(),
        ]
    )
    inputs = [datasets, label_task, obs, service, image, model, *placeholders, selector]
    consumer = wf.steps.ModelStep(
        name="consumer",
        inputs=[wf.steps.ModelInput(f"in{i}", data) for i, data in enumerate(inputs)],
        outputs=wf.steps.ModelOutput("model", wf.steps.ModelConfig(model_type="Custom")),
        depend_steps=[step1, step2],
    )
    spec = wf.Workflow(name="data-objects", desc="", steps=[step1, step2, consumer]).compile()
    kinds = [i.data.kind for i in spec.step("consumer").inputs[:6]]  # type: ignore[union-attr]
    assert kinds == ["dataset", "label_task", "path", "service", "image", "gallery_model"]
    formats = {p.name: p.format for p in spec.placeholders}
    assert formats["selector_ph"] == "obs_directory" and formats["image_ph"] == "swr"


def test_5_2_3_one_placeholder_of_each_type() -> None:
    """§5.2.3: int, str, bool, float, enum, dict and list placeholders with their defaults."""
    T = wf.PlaceholderType
    made = [
        wf.Placeholder(name="placeholder_int", placeholder_type=T.INT, default=1),
        wf.Placeholder(name="placeholder_str", placeholder_type=T.STR, default="default_value"),
        wf.Placeholder(name="placeholder_bool", placeholder_type=T.BOOL, default=True),
        wf.Placeholder(name="placeholder_float", placeholder_type=T.FLOAT, default=0.1),
        wf.Placeholder(
            name="placeholder_enum", placeholder_type=T.ENUM, default="a", enum_list=["a", "b"]
        ),
        wf.Placeholder(name="placeholder_dict", placeholder_type=T.JSON, default={"key": "value"}),
        wf.Placeholder(
            name="placeholder_list",
            placeholder_type=T.LIST,
            default=[1, 2],
            placeholder_format="int",
        ),
    ]
    assert [p.spec().type for p in made] == ["int", "str", "bool", "float", "enum", "json", "list"]


# --- 5.3 storages ---------------------------------------------------------------------------


def storage_paths(*paths: Any, storages: list[Any]) -> list[Any]:
    """The compiled value of each path, used as the inputs of one job step."""
    job = wf.steps.JobStep(
        name="job",
        algorithm=wf.Algorithm(algorithm_id="algo"),
        inputs=[
            wf.steps.JobInput(f"in{i}", wf.data.OBSPath(obs_path=p)) for i, p in enumerate(paths)
        ],
    )
    spec = wf.Workflow(name="storages", desc="", steps=[job], storages=storages).compile()
    return [i.data for i in spec.step("job").inputs]


def test_5_3_2_input_and_output_storage() -> None:
    """§5.3.2: InputStorage lays out paths to read, OutputStorage a directory per run."""
    storage = wf.data.InputStorage(
        name="storage_name", title="title_info", description="description_info"
    )
    input_data = wf.data.OBSPath(obs_path=storage.join("directory_path"))
    out = wf.data.OutputStorage(
        name="output_storage_name", title="title_info", description="description_info"
    )
    output_path = wf.data.OBSOutputConfig(obs_path=out.join("directory_path"))
    job = wf.steps.JobStep(
        name="job",
        algorithm=wf.Algorithm(algorithm_id="algo"),
        inputs=wf.steps.JobInput("data", input_data),
        outputs=wf.steps.JobOutput("out", obs_config=output_path),
    )
    spec = wf.Workflow(name="storages", desc="", steps=[job], storages=[storage, out]).compile()
    assert [(s.kind, s.with_execution_id, s.create_dir) for s in spec.storages] == [
        ("input", False, False),
        ("output", True, True),
    ]


def test_5_3_3_storage_join_flags_and_chaining() -> None:
    """§5.3.3: a Storage used as either kind, join flags per path, and chained joins."""
    storage = wf.data.Storage(
        name="storage_name",
        title="title_info",
        description="description_info",
        with_execution_id=False,
        create_dir=False,
    )
    input_storage = storage.join("directory_path_1")
    input_storage_next = input_storage.join("directory_path_2")
    values = storage_paths(
        storage,
        storage.join("directory_path"),
        storage.join(directory="directory_path", with_execution_id=False, create_dir=True),
        storage.join(directory="directory_path", with_execution_id=True, create_dir=True),
        input_storage_next,
        storages=[storage],
    )
    assert [(v.path, v.with_execution_id, v.create_dir) for v in values] == [
        ("", None, None),
        ("directory_path", None, None),
        ("directory_path", False, True),
        ("directory_path", True, True),
        ("directory_path_1/directory_path_2", None, None),
    ]
    like_output = wf.data.Storage(
        name="storage_name", title="title_info", with_execution_id=True, create_dir=True
    )
    assert like_output.with_execution_id and like_output.create_dir


def test_5_3_4_storages_in_a_job_step_with_a_log_export_path() -> None:
    """§5.3.4: inputs joined below an InputStorage, the model and the log below an
    OutputStorage; ``wf.steps.job_step.LogExportPath`` as the manual spells it."""
    input_storage = wf.data.InputStorage(
        name="input_storage_name", title="title_info", description="description_info"
    )
    output_storage = wf.data.OutputStorage(
        name="output_storage_name", title="title_info", description="description_info"
    )
    job_step = wf.steps.JobStep(
        name="training_job",
        title="图像分类训练",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="subscription_ID", item_version_id="item_version_ID"
        ),
        inputs=[
            wf.steps.JobInput(
                name="data_url_1",
                data=wf.data.OBSPath(obs_path=input_storage.join("/dataset1/new.manifest")),
            ),
            wf.steps.JobInput(
                name="data_url_2",
                data=wf.data.OBSPath(obs_path=input_storage.join("/dataset2/new.manifest")),
            ),
        ],
        outputs=wf.steps.JobOutput(
            name="train_url",
            obs_config=wf.data.OBSOutputConfig(obs_path=output_storage.join("/model/")),
        ),
        spec=wf.steps.JobSpec(
            resource=wf.steps.JobResource(flavor=train_flavor()),
            log_export_path=wf.steps.job_step.LogExportPath(obs_url=output_storage.join("/logs/")),
        ),
    )
    spec = wf.Workflow(
        name="test-workflow",
        desc="this is a test workflow",
        steps=[job_step],
        storages=[input_storage, output_storage],
    ).compile()
    log = spec.step("training_job").outputs[-1]
    assert (log.name, log.kind) == (ir.LOG_OUTPUT, "log")
    assert log.path == ir.StoragePath(storage="output_storage_name", path="logs/")


# --- 5.4.1 dataset creation ------------------------------------------------------------------


def create_dataset_step(
    output_name: str = "output_name", import_config: wf.steps.ImportConfig | None = None
) -> tuple[wf.steps.CreateDatasetStep, wf.Placeholder, wf.Placeholder]:
    dataset_output_path = wf.Placeholder(
        name="dataset_output_path",
        placeholder_type=wf.PlaceholderType.STR,
        placeholder_format="obs",
    )
    dataset_name = wf.Placeholder(name="dataset_name", placeholder_type=wf.PlaceholderType.STR)
    create_dataset = wf.steps.CreateDatasetStep(
        name="create_dataset",
        title="数据集创建",
        inputs=wf.steps.CreateDatasetInput(
            name="input_name",
            data=wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory"),
        ),
        outputs=wf.steps.CreateDatasetOutput(
            name=output_name, config=wf.data.OBSOutputConfig(obs_path=dataset_output_path)
        ),
        properties=wf.steps.DatasetProperties(
            dataset_name=dataset_name,
            data_type=wf.data.DataTypeEnum.IMAGE,
            import_config=import_config,
        ),
    )
    return create_dataset, dataset_output_path, dataset_name


def test_5_4_1_3_create_a_dataset_from_unlabelled_data() -> None:
    """§5.4.1.3: CreateDatasetStep from an object-store directory placeholder."""
    create_dataset, _, _ = create_dataset_step()
    spec = wf.Workflow(
        name="create-dataset-demo", desc="this is a demo workflow", steps=[create_dataset]
    ).compile()
    properties = spec.step("create_dataset").properties
    assert properties["data_type"] == "image"
    assert properties["dataset_name"] == {"ref": "placeholder", "name": "dataset_name"}


def test_5_4_1_3_create_a_dataset_importing_its_labels() -> None:
    """§5.4.1.3: the labelled variant with an ImportConfig. The manual names both of its
    placeholders ``dataset_placeholder_name`` (an obs path and a name): refused, then compiled
    with the manual's other names for them."""
    annotation = wf.steps.ImportConfig(
        annotation_format_config=[
            wf.steps.AnnotationFormatConfig(
                format_name=wf.steps.AnnotationFormatEnum.MA_IMAGE_CLASSIFICATION_V1,
                scene=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
            )
        ]
    )
    dataset_output_path = wf.Placeholder(
        name="dataset_placeholder_name",
        placeholder_type=wf.PlaceholderType.STR,
        placeholder_format="obs",
    )
    dataset_name = wf.Placeholder(
        name="dataset_placeholder_name", placeholder_type=wf.PlaceholderType.STR
    )
    as_written = wf.steps.CreateDatasetStep(
        name="create_dataset",
        title="数据集创建",
        inputs=wf.steps.CreateDatasetInput(
            name="input_name",
            data=wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory"),
        ),
        outputs=wf.steps.CreateDatasetOutput(
            name="output_name", config=wf.data.OBSOutputConfig(obs_path=dataset_output_path)
        ),
        properties=wf.steps.DatasetProperties(
            dataset_name=dataset_name,
            data_type=wf.data.DataTypeEnum.IMAGE,
            import_config=annotation,
        ),
    )
    workflow = wf.Workflow(
        name="create-dataset-demo", desc="this is a demo workflow", steps=[as_written]
    )
    raises("placeholder 'dataset_placeholder_name' is defined twice", workflow.compile)

    create_dataset, _, _ = create_dataset_step(import_config=annotation)
    spec = wf.Workflow(
        name="create-dataset-demo", desc="this is a demo workflow", steps=[create_dataset]
    ).compile()
    assert spec.step("create_dataset").properties["import_config"] == {
        "annotation_format_config": [
            {"format_name": "MA_IMAGE_CLASSIFICATION_V1", "scene": "image_classification"}
        ]
    }


# --- 5.4.2 labeling ----------------------------------------------------------------------------


def labeling_step(data: Any, **kwargs: Any) -> wf.steps.LabelingStep:
    task_name = wf.Placeholder(name="placeholder_name", placeholder_type=wf.PlaceholderType.STR)
    return wf.steps.LabelingStep(
        name="labeling",
        title="数据集标注",
        properties=wf.steps.LabelTaskProperties(
            task_type=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION, task_name=task_name
        ),
        inputs=wf.steps.LabelingInput(name="input_name", data=data),
        outputs=wf.steps.LabelingOutput(name="output_name"),
        **kwargs,
    )


def test_5_4_2_3_label_a_given_dataset() -> None:
    """§5.4.2.3: a labelling task on a dataset chosen at configuration time."""
    dataset = wf.data.DatasetPlaceholder(name="input_dataset")
    spec = wf.Workflow(
        name="labeling-step-demo", desc="this is a demo workflow", steps=[labeling_step(dataset)]
    ).compile()
    assert spec.step("labeling").properties["task_type"] == "image_classification"


def test_5_4_2_3_label_a_given_labelling_task() -> None:
    """§5.4.2.3: labelling an existing task (the manual gives this step no properties)."""
    label_task = wf.data.LabelTaskPlaceholder(name="label_task_placeholder_name")
    labeling = wf.steps.LabelingStep(
        name="labeling",
        title="数据集标注",
        inputs=wf.steps.LabelingInput(name="input_name", data=label_task),
        outputs=wf.steps.LabelingOutput(name="output_name"),
    )
    spec = wf.Workflow(
        name="labeling-step-demo", desc="this is a demo workflow", steps=[labeling]
    ).compile()
    assert spec.placeholders[0].format == "label_task"


def test_5_4_2_3_label_the_dataset_a_step_created() -> None:
    """§5.4.2.3: CreateDatasetStep → LabelingStep through ``as_input()``."""
    create_dataset, _, _ = create_dataset_step(output_name="create_dataset_output")
    labeling = labeling_step(
        create_dataset.outputs["create_dataset_output"].as_input(), depend_steps=create_dataset
    )
    spec = wf.Workflow(
        name="labeling-step-demo", desc="this is a demo workflow", steps=[create_dataset, labeling]
    ).compile()
    assert ir.topological_order(spec) == ["create_dataset", "labeling"]


# --- 5.4.3 dataset import ------------------------------------------------------------------


def import_step(target: Any, annotated: bool, **kwargs: Any) -> wf.steps.DatasetImportStep:
    obs = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")
    properties = (
        wf.steps.ImportDataInfo(
            annotation_format_config=[
                wf.steps.AnnotationFormatConfig(
                    format_name=wf.steps.AnnotationFormatEnum.MA_IMAGE_CLASSIFICATION_V1,
                    scene=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
                )
            ]
        )
        if annotated
        else None
    )
    return wf.steps.DatasetImportStep(
        name="data_import",
        title="数据集导入",
        inputs=[
            wf.steps.DatasetImportInput(name="input_name_1", data=target),
            wf.steps.DatasetImportInput(name="input_name_2", data=obs),
        ],
        outputs=wf.steps.DatasetImportOutput(name="output_name"),
        properties=properties,
        **kwargs,
    )


@pytest.mark.parametrize("annotated", [True, False], ids=["labelled", "unlabelled"])
@pytest.mark.parametrize("into", ["dataset", "label task"])
def test_5_4_3_3_import_data(into: str, annotated: bool) -> None:
    """§5.4.3.3: labelled and unlabelled data imported into a dataset or a labelling task."""
    target = (
        wf.data.DatasetPlaceholder(name="input_dataset")
        if into == "dataset"
        else wf.data.LabelTaskPlaceholder(name="label_task_placeholder_name")
    )
    spec = wf.Workflow(
        name="dataset-import-demo",
        desc="this is a demo workflow",
        steps=[import_step(target, annotated)],
    ).compile()
    assert bool(spec.step("data_import").properties) is annotated


def test_5_4_3_3_import_into_the_dataset_a_step_created() -> None:
    """§5.4.3.3: the manual's workflow lists only the import step, not the creation step it
    reads: refused (a step used must be listed), then compiled with both listed."""
    create_dataset, _, _ = create_dataset_step(output_name="create_dataset_output")
    dataset_import = import_step(
        create_dataset.outputs["create_dataset_output"].as_input(),
        annotated=False,
        depend_steps=create_dataset,
    )
    as_written = wf.Workflow(
        name="dataset-import-demo", desc="this is a demo workflow", steps=[dataset_import]
    )
    raises("'create_dataset', which is not in Workflow(steps=...)", as_written.compile)
    wf.Workflow(
        name="dataset-import-demo",
        desc="this is a demo workflow",
        steps=[create_dataset, dataset_import],
    ).compile()


# --- 5.4.4 dataset release -----------------------------------------------------------------


def train_ratio() -> wf.Placeholder:
    return wf.Placeholder(
        name="placeholder_name", placeholder_type=wf.PlaceholderType.STR, default="0.8"
    )


def release_step(data: Any, config: wf.data.DatasetVersionConfig, **kwargs: Any) -> Any:
    return wf.steps.ReleaseDatasetStep(
        name="release_dataset",
        title="数据集版本发布",
        inputs=wf.steps.ReleaseDatasetInput(name="input_name", data=data),
        outputs=wf.steps.ReleaseDatasetOutput(name="output_name", dataset_version_config=config),
        **kwargs,
    )


def test_5_4_4_2_a_version_config_with_its_defaults() -> None:
    """§5.4.4.2: ``DatasetVersionConfig()`` with every default is valid."""
    assert wf.data.DatasetVersionConfig().settings == {}


def test_5_4_4_3_release_a_dataset_version() -> None:
    """§5.4.4.3: release a version of a dataset chosen at configuration time."""
    dataset = wf.data.DatasetPlaceholder(name="input_dataset")
    release_version = release_step(
        dataset,
        wf.data.DatasetVersionConfig(
            label_task_type=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
            train_evaluate_sample_ratio=train_ratio(),
        ),
    )
    spec = wf.Workflow(
        name="dataset-release-demo", desc="this is a demo workflow", steps=[release_version]
    ).compile()
    assert spec.step("release_dataset").outputs[0].config == {
        "train_evaluate_sample_ratio": {"ref": "placeholder", "name": "placeholder_name"},
        "label_task_type": "image_classification",
    }


def test_5_4_4_3_release_a_labelling_task() -> None:
    """§5.4.4.3: release a version of a labelling task."""
    label_task = wf.data.LabelTaskPlaceholder(name="label_task_placeholder_name")
    release_version = release_step(
        label_task, wf.data.DatasetVersionConfig(train_evaluate_sample_ratio=train_ratio())
    )
    wf.Workflow(
        name="dataset-release-demo", desc="this is a demo workflow", steps=[release_version]
    ).compile()


def test_5_4_4_3_release_what_a_labeling_step_made() -> None:
    """§5.4.4.3: the manual's workflow lists only the release step, not the labeling step it
    reads: refused, then compiled with both listed."""
    labeling = labeling_step(wf.data.DatasetPlaceholder(name="input_dataset"))
    release_version = release_step(
        labeling.outputs["output_name"].as_input(),
        wf.data.DatasetVersionConfig(train_evaluate_sample_ratio=train_ratio()),
        depend_steps=[labeling],
    )
    as_written = wf.Workflow(
        name="dataset-release-demo", desc="this is a demo workflow", steps=[release_version]
    )
    raises("'labeling', which is not in Workflow(steps=...)", as_written.compile)
    raises(
        "placeholder 'placeholder_name' is defined twice",  # the task name and the ratio
        wf.Workflow(
            name="dataset-release-demo",
            desc="this is a demo workflow",
            steps=[labeling, release_version],
        ).compile,
    )


# --- 5.4.5 job steps -----------------------------------------------------------------------


def job_demo(algorithm: Any, data: Any = None, **kwargs: Any) -> ir.WorkflowSpec:
    """The §5.4.5.4 workflow around one training step."""
    storage = wf.data.OutputStorage(
        name="storage_name", title="title_info", description="description_info"
    )
    job_step = wf.steps.JobStep(
        name="training_job",
        title="图像分类训练",
        algorithm=algorithm,
        inputs=wf.steps.JobInput(
            name="data_url", data=data or wf.data.DatasetPlaceholder(name="input_dataset")
        ),
        outputs=wf.steps.JobOutput(
            name="train_url",
            obs_config=wf.data.OBSOutputConfig(obs_path=storage.join("directory_path")),
        ),
        spec=wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=train_flavor())),
        **kwargs,
    )
    return wf.Workflow(
        name="job-step-demo", desc="this is a demo workflow", steps=[job_step], storages=[storage]
    ).compile()


def code_dir(tmp_path: Path, boot: str = "fake_boot_file") -> Path:
    folder = tmp_path / "fake_code_dir"
    folder.mkdir(exist_ok=True)
    (folder / boot).write_text("print('training')\n")
    return folder


def test_5_4_5_4_an_algorithm_subscribed_from_the_gallery() -> None:
    """§5.4.5.4: AIGalleryAlgorithm with a hyper-parameter placeholder, a dataset input."""
    spec = job_demo(
        wf.AIGalleryAlgorithm(
            subscription_id="subscription_id",
            item_version_id="item_version_id",
            parameters=[parameter_placeholder()],
        )
    )
    algorithm = spec.step("training_job").typed_properties().algorithm
    assert (algorithm.source, algorithm.content_id) == ("gallery", "subscription_id")


def test_5_4_5_4_an_algorithm_from_algorithm_management() -> None:
    """§5.4.5.4: ``wf.Algorithm(algorithm_id=...)``; the JobInput may be an OBS path instead."""
    spec = job_demo(
        wf.Algorithm(algorithm_id="algorithm_id", parameters=[parameter_placeholder()]),
        data=wf.data.OBSPath(obs_path="/bucket/fake_obs_path/"),
    )
    assert spec.step("training_job").typed_properties().algorithm.version == "latest"


def test_5_4_5_4_code_boot_file_and_an_official_engine(tmp_path: Path) -> None:
    """§5.4.5.4: code directory + boot file + an engine by name and version. The engine is
    carried into the workflow; a worker fails such a step, naming the engine (it runs jobs
    on its own Python: ``JobEngine(engine_name="python")``)."""
    spec = job_demo(
        wf.BaseAlgorithm(
            code_dir=code_dir(tmp_path),
            boot_file="fake_boot_file",
            engine=wf.steps.JobEngine(
                engine_name="fake_engine_name", engine_version="fake_engine_version"
            ),
            parameters=[parameter_placeholder()],
        )
    )
    engine = spec.step("training_job").typed_properties().algorithm.engine
    assert engine == ir.EngineSpec(
        name=ir.LiteralValue(value="fake_engine_name"),
        version=ir.LiteralValue(value="fake_engine_version"),
    )


def test_5_4_5_4_code_command_and_a_custom_image(tmp_path: Path) -> None:
    """§5.4.5.4: code directory + command + a custom image, fixed or a ``swr`` placeholder
    (also SWRImagePlaceholder). Carried into the workflow; a worker fails such a step naming
    the image, as it has no container runtime."""
    fixed = job_demo(
        wf.BaseAlgorithm(
            code_dir=code_dir(tmp_path),
            command="fake_command",
            engine=wf.steps.JobEngine(image_url="fake_image_url"),
            parameters=[parameter_placeholder()],
        )
    )
    algorithm = fixed.step("training_job").typed_properties().algorithm
    assert algorithm.image == "fake_image_url"
    assert algorithm.engine.image == ir.LiteralValue(value="fake_image_url")

    image_url = wf.Placeholder(
        name="image_url",
        placeholder_type=wf.PlaceholderType.STR,
        placeholder_format="swr",
        description="自定义镜像",
    )
    for image in (image_url, wf.data.SWRImagePlaceholder(name="image_url")):
        chosen = job_demo(
            wf.BaseAlgorithm(
                code_dir=code_dir(tmp_path),
                command="fake_command",
                engine=wf.steps.JobEngine(image_url=image),
            )
        )
        engine = chosen.step("training_job").typed_properties().algorithm.engine
        assert engine.image == ir.PlaceholderRef(name="image_url")
        assert next(p for p in chosen.placeholders if p.name == "image_url").format == "swr"


def test_5_4_5_4_a_job_reading_a_released_dataset_version() -> None:
    """§5.4.5.4: ReleaseDatasetStep → JobStep through ``as_input()``."""
    dataset = wf.data.DatasetPlaceholder(name="input_dataset")
    release_version_step = release_step(
        dataset,
        wf.data.DatasetVersionConfig(
            label_task_type=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
            train_evaluate_sample_ratio=train_ratio(),
        ),
    )
    storage = wf.data.OutputStorage(
        name="storage_name", title="title_info", description="description_info"
    )
    job_step = wf.steps.JobStep(
        name="training_job",
        title="图像分类训练",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="subscription_id",
            item_version_id="item_version_id",
            parameters=[parameter_placeholder()],
        ),
        inputs=wf.steps.JobInput(
            name="data_url", data=release_version_step.outputs["output_name"].as_input()
        ),
        outputs=wf.steps.JobOutput(
            name="train_url",
            obs_config=wf.data.OBSOutputConfig(obs_path=storage.join("directory_path")),
        ),
        spec=wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=train_flavor())),
        depend_steps=release_version_step,
    )
    spec = wf.Workflow(
        name="job-step-demo",
        desc="this is a demo workflow",
        steps=[release_version_step, job_step],
        storages=[storage],
    ).compile()
    assert ir.upstream_steps(spec.step("training_job")) == {"release_dataset"}


def test_5_4_5_4_a_job_with_a_metrics_output() -> None:
    """§5.4.5.4: a metrics output at ``storage.join("directory_path/metrics.json",
    create_dir=False)``: that file (the job writes it into train_url's directory)."""
    storage = wf.data.Storage(
        name="storage_name",
        title="title_info",
        description="description_info",
        with_execution_id=True,
        create_dir=True,
    )
    job_step = wf.steps.JobStep(
        name="training_job",
        title="图像分类训练",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="subscription_id",
            item_version_id="item_version_id",
            parameters=[parameter_placeholder()],
        ),
        inputs=wf.steps.JobInput(name="data_url", data=wf.data.DatasetPlaceholder("input_dataset")),
        outputs=[
            wf.steps.JobOutput(
                name="train_url",
                obs_config=wf.data.OBSOutputConfig(obs_path=storage.join("directory_path")),
            ),
            wf.steps.JobOutput(
                name="metrics_output",
                metrics_config=wf.data.MetricsConfig(
                    metric_files=storage.join("directory_path/metrics.json", create_dir=False)
                ),
            ),
        ],
        spec=wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=train_flavor())),
    )
    spec = wf.Workflow(
        name="job-step-demo", desc="this is a demo workflow", steps=[job_step], storages=[storage]
    ).compile()
    metrics = spec.step("training_job").outputs[1]
    assert metrics.kind == "metrics"
    assert metrics.path == ir.StoragePath(
        storage="storage_name", path="directory_path/metrics.json", create_dir=False
    )
    assert metrics.config == {"realtime_visualization": False, "visualization": True}


def test_5_4_5_4_a_data_selector_input() -> None:
    """§5.4.5.4: a DataSelector input (``["dataset", "obs"]``): here the user picks an
    object-store directory (there is no dataset service to pick from)."""
    data_selector = wf.data.DataSelector(name="input_data", data_type_list=["dataset", "obs"])
    spec = job_demo(
        wf.AIGalleryAlgorithm(
            subscription_id="subscription_id",
            item_version_id="item_version_id",
            parameters=[parameter_placeholder()],
        ),
        data=data_selector,
    )
    selector = next(p for p in spec.placeholders if p.name == "input_data")
    assert (selector.type, selector.format) == ("str", "obs_directory")


# --- 5.4.6 model registration --------------------------------------------------------------


def model_name() -> wf.Placeholder:
    return wf.Placeholder(name="placeholder_name", placeholder_type=wf.PlaceholderType.STR)


def model_demo(*steps: Any, storages: Any = None) -> ir.WorkflowSpec:
    return wf.Workflow(
        name="model-step-demo", desc="this is a demo workflow", steps=list(steps), storages=storages
    ).compile()


def test_5_4_6_3_register_the_model_a_job_trained() -> None:
    """§5.4.6.3: JobStep → ModelStep (TensorFlow) through ``as_input()``."""
    storage = wf.data.OutputStorage(
        name="storage_name", title="title_info", description="description_info"
    )
    job_step = wf.steps.JobStep(
        name="training_job",
        title="图像分类训练",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="subscription_id",
            item_version_id="item_version_id",
            parameters=[parameter_placeholder()],
        ),
        inputs=wf.steps.JobInput(name="data_url", data=wf.data.DatasetPlaceholder("input_dataset")),
        outputs=wf.steps.JobOutput(
            name="train_url",
            obs_config=wf.data.OBSOutputConfig(obs_path=storage.join("directory_path")),
        ),
        spec=wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=train_flavor())),
    )
    model_registration = wf.steps.ModelStep(
        name="model_registration",
        title="模型注册",
        inputs=wf.steps.ModelInput(
            name="model_input", data=job_step.outputs["train_url"].as_input()
        ),
        outputs=wf.steps.ModelOutput(
            name="model_output",
            model_config=wf.steps.ModelConfig(model_name=model_name(), model_type="TensorFlow"),
        ),
        depend_steps=job_step,
    )
    spec = model_demo(job_step, model_registration, storages=[storage])
    assert spec.step("model_registration").outputs[0].config["model_type"] == "TensorFlow"


def test_5_4_6_3_register_a_model_from_a_path() -> None:
    """§5.4.6.3: a model from an object-store directory chosen at configuration time."""
    obs = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")
    model_registration = wf.steps.ModelStep(
        name="model_registration",
        title="模型注册",
        inputs=wf.steps.ModelInput(name="model_input", data=obs),
        outputs=wf.steps.ModelOutput(
            name="model_output",
            model_config=wf.steps.ModelConfig(model_name=model_name(), model_type="TensorFlow"),
        ),
    )
    model_demo(model_registration)


def test_5_4_6_3_register_a_model_from_a_template() -> None:
    """§5.4.6.3: ``Template`` / ``TemplateInputs`` with ``model_type="Template"``."""
    template = wf.steps.Template(
        template_id="fake_template_id",
        infer_format="fake_infer_format",
        template_inputs=[
            wf.steps.TemplateInputs(input_id="fake_input_id", input="fake_input_file")
        ],
    )
    model_registration = wf.steps.ModelStep(
        name="model_registration",
        title="模型注册",
        outputs=wf.steps.ModelOutput(
            name="model_output",
            model_config=wf.steps.ModelConfig(
                model_name=model_name(), model_type="Template", template=template
            ),
        ),
    )
    spec = model_demo(model_registration)
    assert spec.step("model_registration").outputs[0].config["template"] == {
        "template_id": "fake_template_id",
        "infer_format": "fake_infer_format",
        "template_inputs": [{"input_id": "fake_input_id", "input": "fake_input_file"}],
    }


def test_5_4_6_3_register_a_model_from_a_custom_image() -> None:
    """§5.4.6.3: the manual names the image placeholder and the model name placeholder both
    ``placeholder_name``: refused, then compiled with the image placeholder renamed."""

    def build(image_name: str) -> wf.Workflow:
        swr = wf.data.SWRImagePlaceholder(name=image_name)
        model_registration = wf.steps.ModelStep(
            name="model_registration",
            title="模型注册",
            inputs=wf.steps.ModelInput(name="input", data=swr),
            outputs=wf.steps.ModelOutput(
                name="model_output",
                model_config=wf.steps.ModelConfig(model_name=model_name(), model_type="TensorFlow"),
            ),
        )
        return wf.Workflow(
            name="model-step-demo", desc="this is a demo workflow", steps=[model_registration]
        )

    raises("placeholder 'placeholder_name' is defined twice", build("placeholder_name").compile)
    build("swr_placeholder_name").compile()


@pytest.mark.parametrize("base", ["custom image", "gallery model"])
def test_5_4_6_3_a_custom_model_from_an_image_or_a_gallery_model_and_a_path(base: str) -> None:
    """§5.4.6.3: ``Custom`` + ``dynamic_load_mode="Single"`` from an image (or a subscribed
    model) and weights in a directory. The manual names both inputs ``input``: refused, then
    compiled with the inputs named apart (and the image placeholder renamed, as above)."""

    def build(names: tuple[str, str]) -> wf.Workflow:
        first = (
            wf.data.SWRImagePlaceholder(name="swr_placeholder_name")
            if base == "custom image"
            else wf.data.GalleryModel(subscription_id="fake_subscription_id", version_num="1.0.0")
        )
        model_obs = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")
        model_registration = wf.steps.ModelStep(
            name="model_registration",
            title="模型注册",
            inputs=[
                wf.steps.ModelInput(name=names[0], data=first),
                wf.steps.ModelInput(name=names[1], data=model_obs),
            ],
            outputs=wf.steps.ModelOutput(
                name="model_output",
                model_config=wf.steps.ModelConfig(
                    model_name=model_name(), model_type="Custom", dynamic_load_mode="Single"
                ),
            ),
        )
        return wf.Workflow(
            name="model-step-demo", desc="this is a demo workflow", steps=[model_registration]
        )

    raises("duplicate input name 'input'", build(("input", "input")).compile)
    spec = build(("input", "weights")).compile()
    assert spec.step("model_registration").outputs[0].config["dynamic_load_mode"] == "Single"


def test_5_4_6_3_a_model_type_chosen_at_configuration_time() -> None:
    """§5.4.6.3: the model type as an ENUM placeholder over the ten model types."""
    model_type = wf.Placeholder(
        name="placeholder_name",
        placeholder_type=wf.PlaceholderType.ENUM,
        default="TensorFlow",
        enum_list=[
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
        ],
        description="模型类型",
    )
    model_registration = wf.steps.ModelStep(
        name="model_registration",
        outputs=wf.steps.ModelOutput(
            name="model_output", model_config=wf.steps.ModelConfig(model_type=model_type)
        ),
    )
    spec = model_demo(model_registration)
    assert spec.placeholders[0].enum_list is not None and len(spec.placeholders[0].enum_list) == 10


# --- 5.4.7 services --------------------------------------------------------------------------


def test_5_4_7_2_a_service_config_with_its_defaults() -> None:
    """§5.4.7.2: ``ServiceConfig()`` with every default is valid."""
    assert wf.steps.ServiceConfig().settings == {}


def test_5_4_7_3_deploy_a_new_service() -> None:
    """§5.4.7.3: a ServiceStep deploying the model chosen when the step is reached."""
    service_step = wf.steps.ServiceStep(
        name="service_step",
        title="新增服务",
        inputs=wf.steps.ServiceInput(
            name="si_service_ph",
            data=wf.data.ServiceInputPlaceholder(name="si_placeholder1", model_name=model_name()),
        ),
        outputs=wf.steps.ServiceOutput(name="service_output"),
    )
    spec = wf.Workflow(
        name="service-step-demo", desc="this is a demo workflow", steps=[service_step]
    ).compile()
    deploy = next(p for p in spec.placeholders if p.name == "si_placeholder1")
    assert deploy.delay and deploy.format == "service_input"


def test_5_4_7_3_update_a_service() -> None:
    """§5.4.7.3: the manual names the model name and the service placeholders both
    ``placeholder_name``: refused, then compiled with the service placeholder renamed."""

    def build(service_name: str) -> wf.Workflow:
        service = wf.data.ServiceUpdatePlaceholder(name=service_name)
        service_step = wf.steps.ServiceStep(
            name="service_step",
            title="服务更新",
            inputs=[
                wf.steps.ServiceInput(
                    name="si2",
                    data=wf.data.ServiceInputPlaceholder(
                        name="si_placeholder2", model_name=model_name()
                    ),
                ),
                wf.steps.ServiceInput(name="si_service_data", data=service),
            ],
            outputs=wf.steps.ServiceOutput(name="service_output"),
        )
        return wf.Workflow(
            name="service-step-demo", desc="this is a demo workflow", steps=[service_step]
        )

    raises("placeholder 'placeholder_name' is defined twice", build("placeholder_name").compile)
    spec = build("service_placeholder_name").compile()
    deploy = next(p for p in spec.placeholders if p.name == "si_placeholder2")
    assert deploy.constraint == {"model_name": {"ref": "placeholder", "name": "placeholder_name"}}


def test_5_4_7_3_a_service_address_passed_to_another_service() -> None:
    """§5.4.7.3: ``get_output_variable("access_address")`` of a sub-service in the main
    service's envs: a typed reference to that output, which orders the steps."""
    sub_model_name = wf.Placeholder(name="si_placeholder1", placeholder_type=wf.PlaceholderType.STR)
    sub_service_step = wf.steps.ServiceStep(
        name="sub_service_step",
        title="子服务",
        inputs=wf.steps.ServiceInput(
            name="si_service_ph",
            data=wf.data.ServiceInputPlaceholder(name="si_placeholder1", model_name=sub_model_name),
        ),
        outputs=wf.steps.ServiceOutput(name="service_output"),
    )
    main_model_name = wf.Placeholder(
        name="si_placeholder2", placeholder_type=wf.PlaceholderType.STR
    )
    main_service_config = wf.steps.ServiceConfig(
        infer_type="real-time",
        envs={
            "infer_address": sub_service_step.outputs["service_output"].get_output_variable(
                "access_address"
            )
        },
    )
    main_service_step = wf.steps.ServiceStep(
        name="main_service_step",
        title="主服务",
        inputs=wf.steps.ServiceInput(
            name="si_service_ph",
            data=wf.data.ServiceInputPlaceholder(
                name="si_placeholder2", model_name=main_model_name
            ),
        ),
        outputs=wf.steps.ServiceOutput(name="service_output", service_config=main_service_config),
        depend_steps=sub_service_step,
    )
    workflow = wf.Workflow(
        name="service-step-demo",
        desc="this is a demo workflow",
        steps=[sub_service_step, main_service_step],
    )
    # the manual names the ServiceInputPlaceholders like the model name placeholders
    raises("placeholder 'si_placeholder1' is defined twice", workflow.compile)

    sub_service_step.input_list[0].data.name = "sub_service_input"
    main_service_step.input_list[0].data.name = "main_service_input"
    spec = workflow.compile()
    config = spec.step("main_service_step").outputs[0].config
    assert config["envs"]["infer_address"] == {
        "ref": "variable",
        "step": "sub_service_step",
        "output": "service_output",
        "name": "access_address",
    }
    assert ir.upstream_steps(spec.step("main_service_step")) == {"sub_service_step"}


# --- 5.4.8, 5.5, 5.6 branches ---------------------------------------------------------------


def gallery_job(name: str, **kwargs: Any) -> wf.steps.JobStep:
    """A training step as the condition examples write it (the simple ones leave its
    algorithm out, "fill in the other fields")."""
    return wf.steps.JobStep(
        name=name,
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="subscription_id", item_version_id="item_version_id", parameters=[]
        ),
        **kwargs,
    )


def model_of(name: str, **kwargs: Any) -> wf.steps.ModelStep:
    return wf.steps.ModelStep(
        name=name,
        outputs=wf.steps.ModelOutput(
            name="model_output",
            model_config=wf.steps.ModelConfig(model_name=model_name(), model_type="TensorFlow"),
        ),
        **kwargs,
    )


def test_5_4_8_3_a_condition_on_a_placeholder() -> None:
    """§5.4.8.3: a bool placeholder decides job_step_1 → model_step_1 or job_step_2 →
    model_step_2 (the jobs' and models' other fields filled in)."""
    left_value = wf.Placeholder(
        name="left_value", placeholder_type=wf.PlaceholderType.BOOL, default=True
    )
    condition = wf.steps.Condition(
        condition_type=wf.steps.ConditionTypeEnum.EQ, left=left_value, right=True
    )
    condition_step = wf.steps.ConditionStep(
        name="condition_step_test",
        conditions=condition,
        if_then_steps="job_step_1",
        else_then_steps="job_step_2",
    )
    job_step_1 = gallery_job("job_step_1", depend_steps=condition_step)
    model_step_1 = model_of("model_step_1", depend_steps=job_step_1)
    job_step_2 = gallery_job("job_step_2", depend_steps=condition_step)
    model_step_2 = model_of("model_step_2", depend_steps=job_step_2)
    spec = wf.Workflow(
        name="condition-demo",
        desc="this is a demo workflow",
        steps=[condition_step, job_step_1, job_step_2, model_step_1, model_step_2],
    ).compile()
    properties = spec.step("condition_step_test").typed_properties()
    assert (properties.if_then_steps, properties.else_then_steps) == (
        ["job_step_1"],
        ["job_step_2"],
    )


def metrics_job(
    name: str, directory: str, storage: Any, obs_data: Any, flavor: str, **kw: Any
) -> Any:
    return gallery_job(
        name,
        title="图像分类训练",
        inputs=wf.steps.JobInput(name="data_url", data=obs_data),
        outputs=[
            wf.steps.JobOutput(
                name="train_url",
                obs_config=wf.data.OBSOutputConfig(obs_path=storage.join(directory)),
            ),
            wf.steps.JobOutput(
                name="metrics",
                metrics_config=wf.data.MetricsConfig(
                    metric_files=storage.join(f"{directory}/metrics.json", create_dir=False)
                ),
            ),
        ],
        spec=wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=train_flavor(flavor))),
        **kw,
    )


def test_5_4_8_3_a_condition_on_a_metric() -> None:
    """§5.4.8.3: accuracy below 0.5 (a float of the job's metrics.json) trains again, else the
    model is registered."""
    storage = wf.data.Storage(
        name="storage_name",
        title="title_info",
        with_execution_id=True,
        create_dir=True,
        description="description_info",
    )
    obs_data = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")
    job_step = metrics_job("training_job", "directory_path", storage, obs_data, "train_flavor")
    condition_lt = wf.steps.Condition(
        condition_type=wf.steps.ConditionTypeEnum.LT,
        left=wf.steps.MetricInfo(job_step.outputs["metrics"].as_input(), "accuracy"),
        right=0.5,
    )
    condition_step = wf.steps.ConditionStep(
        name="condition_step_test",
        conditions=condition_lt,
        if_then_steps="training_job_retrain",
        else_then_steps="model_registration",
        depend_steps=job_step,
    )
    job_step_retrain = metrics_job(
        "training_job_retrain",
        "directory_path_retrain",
        storage,
        obs_data,
        "train_flavor_retrain",
        depend_steps=condition_step,
    )
    model_step = model_of(
        "model_registration",
        title="模型注册",
        inputs=wf.steps.ModelInput(
            name="model_input", data=job_step.outputs["train_url"].as_input()
        ),
        depend_steps=condition_step,
    )
    spec = wf.Workflow(
        name="condition-demo",
        desc="this is a demo workflow",
        steps=[job_step, condition_step, job_step_retrain, model_step],
        storages=storage,
    ).compile()
    left = spec.step("condition_step_test").typed_properties().conditions[0].left
    assert left == ir.MetricRef(step="training_job", output="metrics", key="accuracy")


def test_5_4_8_3_nested_conditions() -> None:
    """§5.4.8.3: ``left_value == True`` and ``(10 > 9 or 10 < 9)``."""
    left_value = wf.Placeholder(
        name="left_value", placeholder_type=wf.PlaceholderType.BOOL, default=True
    )
    E = wf.steps.ConditionTypeEnum
    condition1 = wf.steps.Condition(condition_type=E.EQ, left=left_value, right=True)
    internal_condition_1 = wf.steps.Condition(condition_type=E.GT, left=10, right=9)
    internal_condition_2 = wf.steps.Condition(condition_type=E.LT, left=10, right=9)
    condition2 = wf.steps.Condition(
        condition_type=E.OR, left=internal_condition_1, right=internal_condition_2
    )
    condition_step = wf.steps.ConditionStep(
        name="condition_step_test",
        conditions=[condition1, condition2],
        if_then_steps=["job_step_1"],
        else_then_steps=["job_step_2"],
    )
    job_step_1 = gallery_job("job_step_1", depend_steps=condition_step)
    job_step_2 = gallery_job("job_step_2", depend_steps=condition_step)
    spec = wf.Workflow(
        name="condition-demo",
        desc="this is a demo workflow",
        steps=[condition_step, job_step_1, job_step_2],
    ).compile()
    assert spec.step("condition_step_test").typed_properties().conditions[1].op == "or"


def branch_job(name: str, directory: str, storage: Any, obs_data: Any, **kwargs: Any) -> Any:
    return gallery_job(
        name,
        title="图像分类训练",
        inputs=wf.steps.JobInput(name="data_url", data=obs_data),
        outputs=wf.steps.JobOutput(
            name="train_url", obs_config=wf.data.OBSOutputConfig(obs_path=storage.join(directory))
        ),
        spec=wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=train_flavor())),
        **kwargs,
    )


def test_5_5_skip_one_step_by_a_placeholder() -> None:
    """§5.5: ``skip_conditions`` on a bool placeholder skip the training step."""
    condition_equal = wf.steps.Condition(
        condition_type=wf.steps.ConditionTypeEnum.EQ,
        left=wf.Placeholder(name="is_skip", placeholder_type=wf.PlaceholderType.BOOL),
        right=True,
    )
    storage = wf.data.OutputStorage(
        name="storage_name", title="title_info", description="description_info"
    )
    obs_data = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")
    job_step = branch_job(
        "training_job",
        "directory_path",
        storage,
        obs_data,
        policy=wf.steps.StepPolicy(skip_conditions=[condition_equal]),
    )
    spec = wf.Workflow(
        name="new-condition-demo",
        desc="this is a demo workflow",
        steps=[job_step],
        storages=storage,
    ).compile()
    assert len(spec.step("training_job").policy.skip_conditions) == 1


def test_5_5_skip_a_model_by_an_upstream_metric() -> None:
    """§5.5: the model step is skipped when the job's accuracy is below 0.5."""
    storage = wf.data.Storage(
        name="storage_name",
        title="title_info",
        with_execution_id=True,
        create_dir=True,
        description="description_info",
    )
    obs_data = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")
    job_step = metrics_job("training_job", "directory_path", storage, obs_data, "train_flavor")
    condition_lt = wf.steps.Condition(
        condition_type=wf.steps.ConditionTypeEnum.LT,
        left=wf.steps.MetricInfo(job_step.outputs["metrics"].as_input(), "accuracy"),
        right=0.5,
    )
    model_step = model_of(
        "model_registration",
        title="模型注册",
        inputs=wf.steps.ModelInput(
            name="model_input", data=job_step.outputs["train_url"].as_input()
        ),
        depend_steps=[job_step],
        policy=wf.steps.StepPolicy(skip_conditions=condition_lt),
    )
    spec = wf.Workflow(
        name="new-condition-demo",
        desc="this is a demo workflow",
        steps=[job_step, model_step],
        storages=storage,
    ).compile()
    assert spec.step("model_registration").policy.skip_conditions[0].op == "<"


def test_5_5_two_branches_skipped_by_their_own_placeholders() -> None:
    """§5.5: two jobs with independent skip flags and a model step taking the one that ran
    (DataConsumptionSelector); the two flavor placeholders are one (identical definitions)."""
    storage = wf.data.Storage(
        name="storage_name",
        title="title_info",
        with_execution_id=True,
        create_dir=True,
        description="description_info",
    )
    obs_data = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")

    def skip_flag(name: str) -> wf.steps.StepPolicy:
        flag = wf.Placeholder(name=name, placeholder_type=wf.PlaceholderType.BOOL)
        condition = wf.steps.Condition(
            condition_type=wf.steps.ConditionTypeEnum.EQ, left=flag, right=True
        )
        return wf.steps.StepPolicy(skip_conditions=condition)

    job_step_a = branch_job(
        "training_job_a",
        "directory_path_a",
        storage,
        obs_data,
        policy=skip_flag("job_step_a_is_skip"),
    )
    job_step_b = branch_job(
        "training_job_b",
        "directory_path_b",
        storage,
        obs_data,
        policy=skip_flag("job_step_b_is_skip"),
    )
    model_step = model_of(
        "model_registration",
        title="模型注册",
        inputs=wf.steps.ModelInput(
            name="model_input",
            data=wf.data.DataConsumptionSelector(
                data_list=[
                    job_step_a.outputs["train_url"].as_input(),
                    job_step_b.outputs["train_url"].as_input(),
                ]
            ),
        ),
        depend_steps=[job_step_a, job_step_b],
    )
    spec = wf.Workflow(
        name="new-condition-demo",
        desc="this is a demo workflow",
        steps=[job_step_a, job_step_b, model_step],
        storages=storage,
    ).compile()
    assert [p.name for p in spec.placeholders].count("train_flavor") == 1


def test_5_6_select_the_output_of_the_branch_that_ran() -> None:
    """§5.6: a condition picks one of two parallel jobs; the model step takes the output of
    the one that ran."""
    condition_equal = wf.steps.Condition(
        condition_type=wf.steps.ConditionTypeEnum.EQ,
        left=wf.Placeholder(name="is_true", placeholder_type=wf.PlaceholderType.BOOL),
        right=True,
    )
    condition_step = wf.steps.ConditionStep(
        name="condition_step",
        conditions=[condition_equal],
        if_then_steps=["training_job_1"],
        else_then_steps=["training_job_2"],
    )
    storage = wf.data.OutputStorage(
        name="storage_name", title="title_info", description="description_info"
    )
    obs_data = wf.data.OBSPlaceholder(name="obs_placeholder_name", object_type="directory")
    job_step_1 = branch_job(
        "training_job_1", "directory_path", storage, obs_data, depend_steps=[condition_step]
    )
    job_step_2 = branch_job(
        "training_job_2", "directory_path", storage, obs_data, depend_steps=[condition_step]
    )
    model_step = model_of(
        "model_registration",
        title="模型注册",
        inputs=wf.steps.ModelInput(
            name="model_input",
            data=wf.data.DataConsumptionSelector(
                data_list=[
                    job_step_1.outputs["train_url"].as_input(),
                    job_step_2.outputs["train_url"].as_input(),
                ]
            ),
        ),
        depend_steps=[job_step_1, job_step_2],
    )
    spec = wf.Workflow(
        name="data-select-demo",
        desc="this is a test workflow",
        steps=[condition_step, job_step_1, job_step_2, model_step],
        storages=storage,
    ).compile()
    selector = spec.step("model_registration").inputs[0].data
    assert isinstance(selector, ir.SelectorRef) and len(selector.candidates) == 2


# --- 5.10, 5.11 end to end, partial runs, big data ---------------------------------------


def end_to_end(service_update: bool = False) -> dict[str, Any]:
    """The five steps of §5.10.1 (§5.10.2 adds a service to update)."""
    output_storage = wf.data.OutputStorage(name="output_storage", description="输出目录统一配置")
    data = wf.data.DatasetPlaceholder(name="input_data")
    label_step = wf.steps.LabelingStep(
        name="labeling",
        title="数据标注",
        properties=wf.steps.LabelTaskProperties(
            task_type=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
            task_name=wf.Placeholder(
                name="task_name",
                placeholder_type=wf.PlaceholderType.STR,
                description="an existing labelling task, or the name of a new one",
            ),
        ),
        inputs=wf.steps.LabelingInput(name="labeling_input", data=data),
        outputs=wf.steps.LabelingOutput(name="labeling_output"),
    )
    release_step = wf.steps.ReleaseDatasetStep(
        name="release",
        title="数据集版本发布",
        inputs=wf.steps.ReleaseDatasetInput(
            name="input_data", data=label_step.outputs["labeling_output"].as_input()
        ),
        outputs=wf.steps.ReleaseDatasetOutput(
            name="labeling_output",
            dataset_version_config=wf.data.DatasetVersionConfig(train_evaluate_sample_ratio="0.8"),
        ),
        depend_steps=[label_step],
    )
    job_step = wf.steps.JobStep(
        name="training_job",
        title="图像分类训练",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="image-classification-algorithm",
            item_version_id="10.0.0",
            parameters=resnet_parameters(),
        ),
        inputs=[
            wf.steps.JobInput(
                name="data_url", data=release_step.outputs["labeling_output"].as_input()
            )
        ],
        outputs=[
            wf.steps.JobOutput(
                name="train_url",
                obs_config=wf.data.OBSOutputConfig(obs_path=output_storage.join("/train_output/")),
            )
        ],
        spec=wf.steps.JobSpec(
            resource=wf.steps.JobResource(flavor=train_flavor("training_flavor"))
        ),
        depend_steps=[release_step],
    )
    model_name = wf.Placeholder(
        name="model_name",
        placeholder_type=wf.PlaceholderType.STR,
        description="a new model name the first time; later runs add versions",
    )
    model_step = wf.steps.ModelStep(
        name="model_step",
        title="模型注册",
        inputs=[
            wf.steps.ModelInput(name="model_input", data=job_step.outputs["train_url"].as_input())
        ],
        outputs=[
            wf.steps.ModelOutput(
                name="model_output",
                model_config=wf.steps.ModelConfig(model_name=model_name, model_type="TensorFlow"),
            )
        ],
        depend_steps=[job_step],
    )
    service_inputs: list[Any] = [
        wf.steps.ServiceInput(
            name="service_input",
            data=wf.data.ServiceInputPlaceholder(name="service_model", model_name=model_name),
        )
    ]
    if service_update:
        service = wf.data.ServiceUpdatePlaceholder(name="service_update_placeholder", delay=True)
        service_inputs.append(wf.steps.ServiceInput(name="input_service", data=service))
    service_step = wf.steps.ServiceStep(
        name="service_step",
        title="服务部署",
        inputs=service_inputs,
        outputs=[wf.steps.ServiceOutput(name="service_output")],
        depend_steps=[model_step],
    )
    return {
        "output_storage": output_storage,
        "steps": [label_step, release_step, job_step, model_step, service_step],
    }


@pytest.mark.parametrize("service_update", [False, True], ids=["5.10.1", "5.10.2"])
def test_5_10_label_release_train_register_deploy(service_update: bool) -> None:
    """§5.10.1: labeling → dataset release → training → model → service; §5.10.2 adds a
    delayed service placeholder so one workflow deploys or updates."""
    parts = end_to_end(service_update)
    spec = wf.Workflow(
        name="image-classification-ResNeSt",
        desc="this is a image classification workflow",
        steps=parts["steps"],
        storages=[parts["output_storage"]],
    ).compile()
    assert ir.topological_order(spec) == [
        "labeling",
        "release",
        "training_job",
        "model_step",
        "service_step",
    ]
    delayed = [p.name for p in spec.placeholders if p.delay]
    expected = (
        ["service_model", "service_update_placeholder"] if service_update else ["service_model"]
    )
    assert delayed == expected


def test_5_11_1_scenes_named_in_chinese() -> None:
    """§5.11.1: two scenes, ``模型训练`` and ``服务部署`` (the steps, whose definitions the
    manual leaves out, are §5.10.1's with the training output as a ``obs`` path placeholder,
    as the manual's workflow lists no storage)."""
    label_step, release_data_step, _, model_step, service_step = end_to_end()["steps"]
    training_step = wf.steps.JobStep(
        name="training_job",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="image-classification-algorithm", item_version_id="10.0.0"
        ),
        inputs=wf.steps.JobInput(
            "data_url", release_data_step.outputs["labeling_output"].as_input()
        ),
        outputs=wf.steps.JobOutput(
            "train_url",
            obs_config=wf.data.OBSOutputConfig(
                obs_path=wf.Placeholder(
                    name="train_output",
                    placeholder_type=wf.PlaceholderType.STR,
                    placeholder_format="obs",
                )
            ),
        ),
        spec=wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=train_flavor())),
    )
    model_step.input_list[0].data = training_step.outputs["train_url"].as_input()
    model_step.depend_steps = [training_step]
    workflow = wf.Workflow(
        name="image_cls",
        desc="this is a demo workflow",
        steps=[label_step, release_data_step, training_step, model_step, service_step],
        policy=wf.policy.Policy(
            scenes=[
                wf.policy.Scene(
                    scene_name="模型训练",
                    scene_steps=[label_step, release_data_step, training_step],
                ),
                wf.policy.Scene(scene_name="服务部署", scene_steps=[model_step, service_step]),
            ]
        ),
    )
    spec = workflow.compile()
    assert [(s.name, s.steps) for s in spec.scenes] == [
        ("模型训练", ["labeling", "release", "training_job"]),
        ("服务部署", ["model_step", "service_step"]),
    ]
    plan = ir.plan_scene(spec, "服务部署", available=[("training_job", "train_url")])
    assert plan.missing == []


def test_5_11_2_mrs_steps_are_refused() -> None:
    """§5.11.2: both MRS examples (fixed script and cluster, and everything a placeholder)
    stop at MrsJobStep with the reason and what to write instead."""
    algorithm = wf.steps.MrsJobAlgorithm(
        boot_file="obs://spark-sql/wordcount.py",
        parameters=[wf.AlgorithmParameters(name="run_args", value="--master,yarn-cluster")],
    )
    inputs = wf.steps.MrsJobInput(
        name="mrs_input", data=wf.data.OBSPath(obs_path="/spark-sql/mrs_input/")
    )
    outputs = wf.steps.MrsJobOutput(
        name="mrs_output", obs_config=wf.data.OBSOutputConfig(obs_path="/spark-sql/mrs_output")
    )
    message = raises(
        "step 'mrs_test': MrsJobStep",
        lambda: wf.steps.MrsJobStep(
            name="mrs_test",
            mrs_algorithm=algorithm,
            inputs=inputs,
            outputs=outputs,
            cluster_id="cluster_id_xxx",
        ),
    )
    assert "no big-data cluster" in message and "wf.steps.JobStep" in message

    P, T = wf.Placeholder, wf.PlaceholderType
    chosen = wf.steps.MrsJobAlgorithm(
        boot_file=P(
            name="boot_file",
            description="script",
            placeholder_type=T.STR,
            placeholder_format="obs",
        ),
        parameters=[
            wf.AlgorithmParameters(
                name="run_args",
                value=P(name="run_args", default="--master,yarn-cluster", placeholder_type=T.STR),
            ),
            wf.AlgorithmParameters(
                name="app_args", value=P(name="app_args", default="", placeholder_type=T.STR)
            ),
        ],
    )
    raises(
        "step 'mrs_job_test': MrsJobStep",
        lambda: wf.steps.MrsJobStep(
            name="mrs_job_test",
            mrs_algorithm=chosen,
            inputs=wf.steps.MrsJobInput(
                name="data_url",
                data=wf.data.OBSPlaceholder(name="data_url", object_type="directory"),
            ),
            outputs=wf.steps.MrsJobOutput(
                name="train_url",
                obs_config=wf.data.OBSOutputConfig(
                    obs_path=P(name="train_url", placeholder_type=T.STR, placeholder_format="obs")
                ),
            ),
            cluster_id=P(name="cluster_id", placeholder_type=T.STR, placeholder_format="cluster"),
        ),
    )
