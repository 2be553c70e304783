"""The digits pipeline: prepare → train → (accuracy ≥ bar ? export : report), two scenes.

Export waits for a person: its ``release_name`` is a delayed placeholder, given on *continue*.

Publish it with ``gallery publish sdk/examples/digits/workflow.py`` (variable ``workflow``).
"""

from pathlib import Path

import sdk as wf

CODE = Path(__file__).parent / "algorithms"

output = wf.data.OutputStorage(name="output", description="Where each run writes its results")

model_type = wf.Placeholder(
    name="model_type",
    placeholder_type=wf.PlaceholderType.ENUM,
    default="svm",
    enum_list=["svm", "logreg"],
    description="Classifier to train",
)
c = wf.Placeholder(
    name="c",
    placeholder_type=wf.PlaceholderType.FLOAT,
    default=1.0,
    description="Inverse regularisation strength",
)
test_size = wf.Placeholder(
    name="test_size",
    placeholder_type=wf.PlaceholderType.FLOAT,
    default=0.25,
    description="Share of samples held out for testing",
)
min_accuracy = wf.Placeholder(
    name="min_accuracy",
    placeholder_type=wf.PlaceholderType.FLOAT,
    default=0.9,
    description="Accuracy a model needs to be exported",
)
release_name = wf.Placeholder(
    name="release_name",
    placeholder_type=wf.PlaceholderType.STR,
    default="digits-classifier",
    delay=True,
    description="Name of the exported model; asked for (and so approved) before export runs",
)

prepare = wf.steps.JobStep(
    name="prepare",
    title="Split the data",
    algorithm=wf.BaseAlgorithm(
        name="digits_prepare",
        code_dir=CODE,
        boot_file="prepare.py",
        parameters=[wf.AlgorithmParameters(name="test_size", value=test_size)],
    ),
    outputs=[
        wf.steps.JobOutput(name="data", obs_config=wf.data.OBSOutputConfig(output.join("data/")))
    ],
)

train = wf.steps.JobStep(
    name="train",
    title="Train the classifier",
    algorithm=wf.BaseAlgorithm(
        name="digits_train",
        code_dir=CODE,
        boot_file="train.py",
        parameters=[
            wf.AlgorithmParameters(name="model_type", value=model_type),
            wf.AlgorithmParameters(name="c", value=c),
        ],
    ),
    inputs=[wf.steps.JobInput(name="data", data=prepare.outputs["data"].as_input())],
    outputs=[
        wf.steps.JobOutput(name="model", obs_config=wf.data.OBSOutputConfig(output.join("model/"))),
        wf.steps.JobOutput(
            name="metrics",
            metrics_config=wf.data.MetricsConfig(metric_files=output.join("metrics/")),
        ),
    ],
    policy=wf.steps.StepPolicy(max_execution_minutes=30, max_retries=1),
    depend_steps=[prepare],
)

good_enough = wf.steps.ConditionStep(
    name="good_enough",
    conditions=[
        wf.steps.Condition(
            condition_type=wf.steps.ConditionTypeEnum.GTE,
            left=wf.steps.MetricInfo(train.outputs["metrics"].as_input(), "accuracy"),
            right=min_accuracy,
        )
    ],
    if_then_steps=["export"],
    else_then_steps=["report"],
    depend_steps=[train],
)

export = wf.steps.JobStep(
    name="export",
    title="Export the model",
    algorithm=wf.BaseAlgorithm(
        name="digits_export",
        code_dir=CODE,
        boot_file="export.py",
        parameters=[wf.AlgorithmParameters(name="name", value=release_name)],
    ),
    inputs=[wf.steps.JobInput(name="model", data=train.outputs["model"].as_input())],
    outputs=[
        wf.steps.JobOutput(
            name="release", obs_config=wf.data.OBSOutputConfig(output.join("release/"))
        )
    ],
    depend_steps=[good_enough],
)

report = wf.steps.JobStep(
    name="report",
    title="Explain the miss",
    algorithm=wf.BaseAlgorithm(
        name="digits_report",
        code_dir=CODE,
        boot_file="report.py",
        parameters=[wf.AlgorithmParameters(name="min_accuracy", value=min_accuracy)],
    ),
    outputs=[
        wf.steps.JobOutput(
            name="report", obs_config=wf.data.OBSOutputConfig(output.join("report/"))
        )
    ],
    depend_steps=[good_enough],
)

workflow = wf.Workflow(
    name="digits_pipeline",
    desc="Train and export a handwritten-digits classifier (scikit-learn digits data set).",
    steps=[prepare, train, good_enough, export, report],
    storages=[output],
    policy=wf.policy.Policy(
        scenes=[
            wf.policy.Scene(scene_name="prepare_data", scene_steps=[prepare]),
            wf.policy.Scene(
                scene_name="train_and_export", scene_steps=[train, good_enough, export, report]
            ),
        ]
    ),
)
