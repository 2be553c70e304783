"""Digits classification, from data to a deployed model: the manual's central pipeline.

prepare (scikit-learn's handwritten digits as PNG images, most of them labelled) → create a
dataset → label the rest (people, in the labeling page) → release a dataset version (train /
eval split) → train → if accurate enough: register the model → deploy it as a service (you
pick the model version when the step asks) → predictions from its endpoint.

Gallery seeds it as a public asset on the first ``gallery up`` (``make up``); publish your own
copy with ``gallery publish sdk/examples/digits_classification/workflow.py``.
"""

from pathlib import Path

import sdk as wf

ALGORITHMS = str(Path(__file__).resolve().parent / "algorithms")

output = wf.data.OutputStorage(name="output", description="Where each run writes its files")

samples = wf.Placeholder(
    name="samples",
    placeholder_type=wf.PlaceholderType.INT,
    default=300,
    description="How many digit images the dataset holds",
)
unlabelled = wf.Placeholder(
    name="unlabelled",
    placeholder_type=wf.PlaceholderType.INT,
    default=6,
    description="How many of them are left for people to label",
)
dataset_name = wf.Placeholder(
    name="dataset_name",
    placeholder_type=wf.PlaceholderType.STR,
    default="digits",
    description="The dataset (in your assets) the images go to",
)
train_ratio = wf.Placeholder(
    name="train_ratio",
    placeholder_type=wf.PlaceholderType.FLOAT,
    default=0.8,
    description="Share of the samples used for training (the rest evaluates)",
)
c = wf.Placeholder(
    name="c",
    placeholder_type=wf.PlaceholderType.FLOAT,
    default=5.0,
    description="SVM regularisation (larger: fits the training set more closely)",
)
min_accuracy = wf.Placeholder(
    name="min_accuracy",
    placeholder_type=wf.PlaceholderType.FLOAT,
    default=0.8,
    description="The model is registered and deployed only when it is at least this accurate",
)
model_name = wf.Placeholder(
    name="model_name",
    placeholder_type=wf.PlaceholderType.STR,
    default="digits_classifier",
    description="The model (in your assets) each good run adds a version to",
)


def _algorithm(name: str, boot_file: str, **parameters: object) -> wf.BaseAlgorithm:
    return wf.BaseAlgorithm(
        name=name,
        code_dir=ALGORITHMS,
        boot_file=boot_file,
        parameters=[wf.AlgorithmParameters(name=k, value=v) for k, v in parameters.items()],
    )


prepare = wf.steps.JobStep(
    name="prepare",
    title="Prepare the images",
    algorithm=_algorithm(
        "digits_images", "prepare_data.py", samples=samples, unlabelled=unlabelled
    ),
    outputs=[
        wf.steps.JobOutput(name="data", obs_config=wf.data.OBSOutputConfig(output.join("raw/")))
    ],
)

create_dataset = wf.steps.CreateDatasetStep(
    name="create_dataset",
    title="Create the dataset",
    inputs=wf.steps.CreateDatasetInput(name="data", data=prepare.outputs["data"].as_input()),
    outputs=wf.steps.CreateDatasetOutput(name="dataset"),
    properties=wf.steps.DatasetProperties(
        dataset_name=dataset_name, data_type=wf.data.DataTypeEnum.IMAGE
    ),
    depend_steps=prepare,
)

label = wf.steps.LabelingStep(
    name="label",
    title="Label the rest",
    inputs=wf.steps.LabelingInput(
        name="dataset", data=create_dataset.outputs["dataset"].as_input()
    ),
    outputs=wf.steps.LabelingOutput(name="labelled"),
    properties=wf.steps.LabelTaskProperties(
        task_type=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
        task_name="digits",
        labels=[wf.steps.Label(name=str(digit)) for digit in range(10)],
    ),
    depend_steps=create_dataset,
)

release = wf.steps.ReleaseDatasetStep(
    name="release",
    title="Release a dataset version",
    inputs=wf.steps.ReleaseDatasetInput(name="dataset", data=label.outputs["labelled"].as_input()),
    outputs=wf.steps.ReleaseDatasetOutput(
        name="version",
        dataset_version_config=wf.data.DatasetVersionConfig(
            train_evaluate_sample_ratio=train_ratio
        ),
    ),
    depend_steps=label,
)

train = wf.steps.JobStep(
    name="train",
    title="Train the classifier",
    algorithm=_algorithm("digits_classifier_train", "train.py", c=c),
    inputs=[wf.steps.JobInput(name="data", data=release.outputs["version"].as_input())],
    outputs=[
        wf.steps.JobOutput(name="model", obs_config=wf.data.OBSOutputConfig(output.join("model/"))),
        wf.steps.JobOutput(
            name="metrics", metrics_config=wf.data.MetricsConfig(output.join("metrics/"))
        ),
    ],
    depend_steps=release,
)

good_enough = wf.steps.ConditionStep(
    name="good_enough",
    title="Accurate enough?",
    conditions=[
        wf.steps.Condition(
            condition_type=wf.steps.ConditionTypeEnum.GTE,
            left=wf.steps.MetricInfo(train.outputs["metrics"].as_input(), "accuracy"),
            right=min_accuracy,
        )
    ],
    if_then_steps=["register"],
    else_then_steps=[],
    depend_steps=train,
)

register = wf.steps.ModelStep(
    name="register",
    title="Register the model",
    inputs=wf.steps.ModelInput(name="model", data=train.outputs["model"].as_input()),
    outputs=wf.steps.ModelOutput(
        name="model_version",
        model_config=wf.steps.ModelConfig(
            model_name=model_name,
            model_type="Scikit_Learn",
            description="A digits classifier (8x8 images, values 0..16)",
        ),
    ),
    depend_steps=good_enough,
)

deploy = wf.steps.ServiceStep(
    name="deploy",
    title="Deploy the model",
    inputs=wf.steps.ServiceInput(
        name="service",
        data=wf.data.ServiceInputPlaceholder(
            name="service_model",
            model_name=model_name,
            description=(
                'The model version to serve, e.g. [{"model_name": "digits_classifier", '
                '"model_version": "1.0.0"}] (the version the register step made)'
            ),
        ),
    ),
    outputs=wf.steps.ServiceOutput(
        name="service",
        service_config=wf.steps.ServiceConfig(service_name="digits"),
    ),
    depend_steps=register,
)

workflow = wf.Workflow(
    name="digits_classification",
    desc=__doc__.split("\n\n")[0] if __doc__ else "",
    steps=[prepare, create_dataset, label, release, train, good_enough, register, deploy],
    storages=[output],
)
