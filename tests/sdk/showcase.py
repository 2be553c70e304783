"""A small workflow touching most of the SDK's surface, for golden tests of ``compile()``."""

from __future__ import annotations

import sdk as wf

T = wf.PlaceholderType
C = wf.steps.ConditionTypeEnum


def build() -> wf.Workflow:
    raw = wf.data.InputStorage("raw", title="Raw data", description="Labelled files")
    out = wf.data.OutputStorage("out")
    scratch = wf.data.Storage("scratch", create_dir=True, with_execution_id=True)

    dataset = wf.data.DatasetPlaceholder(
        "train_data",
        data_type=wf.data.DataTypeEnum.IMAGE,
        default=wf.data.Dataset("digits", "V001"),
        description="Training images",
    )
    extra = wf.data.OBSPlaceholder("extra_files", object_type="directory", default="/bkt/extra/")
    flavor = wf.Placeholder(
        "flavor", T.JSON, default={"flavor_id": "cpu.small"}, placeholder_format="flavor"
    )
    lr = wf.Placeholder("lr", T.FLOAT, default=1)
    epochs = wf.Placeholder("epochs", T.INT, default=3, required=False)
    skip_b = wf.Placeholder("skip_b", T.BOOL, default=False)
    sizes = wf.Placeholder("sizes", T.LIST, default=[8, 16], placeholder_format="int")
    model_name = wf.Placeholder("model_name", T.STR, default="digits")
    approve = wf.Placeholder("approve", T.BOOL, delay=True)

    job_a = wf.steps.JobStep(
        name="job_a",
        title="Train on A",
        description="Gallery algorithm",
        algorithm=wf.AIGalleryAlgorithm(
            subscription_id="algo-cid-a",
            item_version_id="1.2.0",
            parameters=[
                wf.AlgorithmParameters("lr", lr),
                wf.AlgorithmParameters("epochs", epochs),
                wf.AlgorithmParameters("sizes", sizes),
                wf.AlgorithmParameters("seed", 7),
                wf.AlgorithmParameters("scratch", scratch.join("tmp/")),
            ],
        ),
        spec=wf.steps.JobSpec(
            resource=wf.steps.JobResource(
                flavor=flavor, node_count=wf.Placeholder("nodes", T.INT, default=1)
            )
        ),
        inputs=[
            wf.steps.JobInput("images", dataset),
            wf.steps.JobInput("extra", extra),
            wf.steps.JobInput("labels", wf.data.OBSPath(raw.join("labels").join("/train.csv"))),
            wf.steps.JobInput("fixed", wf.data.OBSPath("/bkt/fixed/")),
        ],
        outputs=[
            wf.steps.JobOutput(
                "model",
                obs_config=wf.data.OBSOutputConfig(out.join("a/", with_execution_id=False)),
            ),
            wf.steps.JobOutput(
                "metrics",
                metrics_config=wf.data.MetricsConfig(
                    scratch.join("a/", create_dir=True).join("metrics.json", create_dir=False),
                    realtime_visualization=True,
                ),
            ),
        ],
        policy=wf.steps.StepPolicy(
            max_execution_minutes=60,
            max_retries=2,
            retry_interval_seconds=5,
            retry_backoff=3,
            max_retry_interval_seconds=60,
        ),
    )
    job_b = wf.steps.JobStep(
        name="job_b",
        algorithm=wf.Algorithm("algo-cid-b", version="2.0.0"),
        inputs=wf.steps.JobInput("images", dataset),
        outputs=wf.steps.JobOutput("model", obs_config=wf.data.OBSOutputConfig(out.join("b/"))),
        policy=wf.steps.StepPolicy(skip_conditions=wf.steps.Condition(C.EQ, skip_b, True)),
    )
    register = wf.steps.ModelStep(
        name="register",
        inputs=wf.steps.ModelInput(
            "model",
            wf.data.DataConsumptionSelector(
                [job_a.outputs["model"].as_input(), job_b.outputs["model"].as_input()]
            ),
        ),
        outputs=wf.steps.ModelOutput(
            "model",
            wf.steps.ModelConfig(model_type="Scikit_Learn", model_name=model_name),
        ),
        policy=wf.steps.StepPolicy(
            skip_conditions=[
                wf.steps.Condition(
                    C.OR,
                    wf.steps.Condition(
                        C.LT, wf.steps.MetricInfo(job_a.outputs["metrics"].as_input(), "acc"), 0.5
                    ),
                    wf.steps.Condition(
                        C.OR,
                        wf.steps.Condition(C.IN, model_name, ["x", "y"]),
                        wf.steps.Condition(C.NOT, approve, True),
                    ),
                )
            ]
        ),
        depend_steps=[job_a, job_b],
    )
    serve = wf.steps.ServiceStep(
        name="serve",
        inputs=wf.steps.ServiceInput(
            "deploy", wf.data.ServiceInputPlaceholder("deploy_cfg", model_name=model_name)
        ),
        outputs=wf.steps.ServiceOutput(
            "service",
            wf.steps.ServiceConfig(service_name=model_name, envs={"MODE": "fast", "LR": lr}),
        ),
        depend_steps=register,
    )
    return wf.Workflow(
        name="showcase",
        desc="Golden-test workflow",
        steps=[serve, register, job_b, job_a],
        storages=[raw, out, scratch],
        policy=wf.policy.Policy(
            scenes=[
                wf.policy.Scene("train", [job_a, job_b]),
                wf.policy.Scene("deploy", [register, serve]),
            ]
        ),
    )
