"""The manual's job settings at run time (docs/sdk.md, "The manual's names"): the log export
path, the manual's metrics file inside an output, several metrics outputs, the built-in
engine and a refused image, a non-ASCII scene; on a real server, Temporal and worker."""

from __future__ import annotations

import platform
import textwrap
from pathlib import Path

import httpx
import pytest

import sdk as wf
from runner.steps.job import engine_problem, metrics_file
from sdk import spec as ir
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.sdk.support import token_of
from tests.support.runner import step, wait_for

TOOL = """
import argparse, json, pathlib, sys

parser = argparse.ArgumentParser()
parser.add_argument("--train_url")
parser.add_argument("--extra")
parser.add_argument("--fail", default="false")
parser.add_argument("--accuracy", type=float, default=0.9)
args, _ = parser.parse_known_args()
print("manual tool: started", flush=True)
if args.fail == "true":
    print("manual tool: failing as asked", flush=True)
    sys.exit(4)
if args.train_url:
    train = pathlib.Path(args.train_url)
    (train / "model.txt").write_text("weights")
    (train / "metrics.json").write_text(json.dumps(
        [{"key": "accuracy", "title": "accuracy", "type": "float",
          "data": {"value": args.accuracy}}]))
if args.extra:
    pathlib.Path(args.extra, "metrics.json").write_text(json.dumps(
        [{"key": "loss", "title": "loss", "type": "float", "data": {"value": 0.25}}]))
print("manual tool: done", flush=True)
"""


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


def session_of(runtime: Runtime, client: httpx.Client) -> wf.Session:
    return wf.Session(runtime.gallery.base_url, token_of(client))


def code(tmp_path: Path) -> Path:
    folder = tmp_path / "manual_tool"
    folder.mkdir(exist_ok=True)
    (folder / "tool.py").write_text(textwrap.dedent(TOOL))
    return folder


def algorithm(
    folder: Path,
    engine: wf.steps.JobEngine | None = None,
    name: str = "manual_tool",
    **parameters: object,
) -> wf.BaseAlgorithm:
    return wf.BaseAlgorithm(
        name=name,
        code_dir=folder,
        boot_file="tool.py",
        engine=engine,
        parameters=[wf.AlgorithmParameters(k, v) for k, v in parameters.items()],
    )


def output_text(client: httpx.Client, execution: str, step_name: str, path: str) -> str:
    answer = client.get(f"/executions/{execution}/steps/{step_name}/outputs/{path}")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_log_export_metrics_file_and_builtin_engine(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    """§5.3.4's log_export_path, §5.4.8's metrics.json written into train_url and read as the
    metrics output (MetricInfo sees it), a second metrics output, the built-in engine."""
    folder = code(tmp_path)
    storage = wf.data.OutputStorage(name="output_storage")
    python = ".".join(platform.python_version_tuple()[:2])
    train = wf.steps.JobStep(
        name="train",
        title="训练",
        algorithm=algorithm(
            folder,
            wf.steps.JobEngine(engine_name="python", engine_version=python),
            name="manual_tool_py",
        ),
        outputs=[
            wf.steps.JobOutput(
                "train_url", obs_config=wf.data.OBSOutputConfig(storage.join("train/"))
            ),
            wf.steps.JobOutput(
                "metrics",
                metrics_config=wf.data.MetricsConfig(
                    metric_files=storage.join("train/metrics.json", create_dir=False)
                ),
            ),
            wf.steps.JobOutput(
                "extra", metrics_config=wf.data.MetricsConfig(storage.join("extra/"))
            ),
        ],
        spec=wf.steps.JobSpec(
            log_export_path=wf.steps.LogExportPath(obs_url=storage.join("logs/"))
        ),
        policy=wf.steps.StepPolicy(poll_interval_seconds=0.5),
    )
    low = wf.steps.Condition(
        wf.steps.ConditionTypeEnum.LT,
        wf.steps.MetricInfo(train.outputs["metrics"].as_input(), "accuracy"),
        0.5,
    )
    register = wf.steps.JobStep(
        name="register",
        algorithm=algorithm(folder),
        policy=wf.steps.StepPolicy(skip_conditions=low),
        depend_steps=train,
    )
    workflow = wf.Workflow(
        name="manual_settings",
        desc="",
        steps=[train, register],
        storages=[storage],
        session=session_of(runtime, client),
    )

    execution = workflow.release_and_run()
    done = wait_for(client, execution.id)
    assert done["status"] == "succeeded", done
    trained = step(done, "train")
    assert trained["metrics"]["metrics"][0]["data"]["value"] == 0.9
    assert trained["metrics"]["extra"][0]["data"]["value"] == 0.25
    assert trained["outputs"]["metrics"].endswith("/train/metrics.json")  # a file
    assert trained["outputs"]["train_url"].endswith("/train/")
    assert step(done, "register")["status"] == "succeeded"  # accuracy 0.9 is not < 0.5

    # the metrics output is the file the job wrote into train_url, stored with it
    metrics = output_text(client, execution.id, "train", "train_url/metrics.json")
    assert '"accuracy"' in metrics
    assert output_text(client, execution.id, "train", "metrics") == metrics  # the output itself
    assert "weights" in output_text(client, execution.id, "train", "train_url/model.txt")
    log = output_text(client, execution.id, "train", "log_export_path/train-1.log")
    assert "manual tool: started" in log and "manual tool: done" in log


def test_a_refused_image_and_a_failed_step_s_exported_log(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    """An image the runner cannot provide fails its step at once (no retry) naming it; a step
    that fails still exports its log."""
    folder = code(tmp_path)
    storage = wf.data.OutputStorage(name="output_storage")
    retries = wf.steps.StepPolicy(max_retries=2, retry_interval_seconds=0.1)
    imaged = wf.steps.JobStep(
        name="imaged",
        algorithm=algorithm(
            folder, wf.steps.JobEngine(image_url="team/trainer:1.0"), name="manual_tool_image"
        ),
        policy=retries,
    )
    broken = wf.steps.JobStep(
        name="broken",
        algorithm=algorithm(folder, fail="true"),
        spec=wf.steps.JobSpec(
            log_export_path=wf.steps.LogExportPath(obs_url=storage.join("logs/"))
        ),
    )
    workflow = wf.Workflow(
        name="manual_refusals",
        desc="",
        steps=[imaged, broken],
        storages=[storage],
        session=session_of(runtime, client),
    )

    execution = workflow.release_and_run()
    done = wait_for(client, execution.id)
    assert done["status"] == "failed", done
    refused = step(done, "imaged")
    assert refused["status"] == "failed"
    assert "container image 'team/trainer:1.0'" in refused["error"]
    assert "no container runtime" in refused["error"]
    assert refused["attempt"] == 1  # not retried: another attempt could not change it
    failed = step(done, "broken")
    assert failed["status"] == "failed" and "exited with code 4" in failed["error"]
    log = output_text(client, execution.id, "broken", "log_export_path/broken-1.log")
    assert "manual tool: failing as asked" in log


def test_a_non_ascii_scene_round_trips(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    """§5.11.1 names scenes in Chinese: the scene is released, started by name through the
    API and the SDK, and recorded with the execution."""
    folder = code(tmp_path)
    first = wf.steps.JobStep(name="first", algorithm=algorithm(folder))
    second = wf.steps.JobStep(name="second", algorithm=algorithm(folder), depend_steps=first)
    workflow = wf.Workflow(
        name="manual_scenes",
        desc="",
        steps=[first, second],
        policy=wf.policy.Policy(
            scenes=[wf.policy.Scene(scene_name="模型训练", scene_steps=[first])]
        ),
        session=session_of(runtime, client),
    )
    by_sdk = workflow.release_and_run(scene="模型训练")
    done = wait_for(client, by_sdk.id)
    assert done["status"] == "succeeded", done
    assert done["scene"] == "模型训练"
    assert [s["name"] for s in done["steps"] if s["status"] == "succeeded"] == ["first"]

    assert workflow.workflow_id is not None
    answer = client.post(
        f"/workflows/{workflow.workflow_id}/executions", json={"scene": "模型训练"}
    )
    assert answer.status_code == 201, answer.text
    again = wait_for(client, answer.json()["id"])
    assert again["status"] == "succeeded" and again["scene"] == "模型训练"

    refused = client.post(
        f"/workflows/{workflow.workflow_id}/executions", json={"scene": "服务/部署"}
    )
    assert refused.status_code == 422, refused.text
    assert "'/' is not allowed" in refused.text


def test_the_workflow_s_workspace_is_where_it_is_released(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    """§3.2.3: ``Workflow(workspace=wf.resource.Workspace(workspace_id=...))`` puts the
    workflow in that workspace (its name) when ``release()`` is not told one."""
    made = client.post("/workspaces", json={"name": "manual-lab"})
    assert made.status_code in (201, 409), made.text
    only = wf.steps.JobStep(name="only", algorithm=algorithm(code(tmp_path)))
    workflow = wf.Workflow(
        name="manual_workspace",
        desc="",
        steps=[only],
        workspace=wf.resource.Workspace(workspace_id="manual-lab"),
        session=session_of(runtime, client),
    )
    released = workflow.release()
    assert released.workspace == "manual-lab"
    listed = client.get("/workspaces/manual-lab/workflows").json()
    assert [w["id"] for w in listed] == [released.id]
    elsewhere = workflow.release(workspace="default")
    assert elsewhere.workspace == "default" and elsewhere.id != released.id


# --- the rules, without a server ---------------------------------------------------------


def test_a_metrics_location_ending_in_json_is_the_file() -> None:
    assert metrics_file("/b/ws/run/train/metrics.json/") == "/b/ws/run/train/metrics.json"
    assert metrics_file("/b/ws/run/scores.JSON/") == "/b/ws/run/scores.JSON/metrics.json"
    assert metrics_file("/b/ws/run/metrics/") == "/b/ws/run/metrics/metrics.json"


def _engine(**fields: object) -> ir.AlgorithmSpec:
    values = {
        k: ir.PlaceholderRef(name=v[1:])
        if isinstance(v, str) and v.startswith("$")
        else ir.LiteralValue(value=v)
        for k, v in fields.items()
    }
    return ir.AlgorithmSpec(
        source="gallery", content_id="c", version="1.0.0", engine=ir.EngineSpec(**values)
    )


def test_the_builtin_engine_and_what_is_refused() -> None:
    python = platform.python_version()
    assert engine_problem("s", _engine(name="python")) is None
    assert (
        engine_problem("s", _engine(name="Python", version=".".join(python.split(".")[:2]))) is None
    )
    assert (
        engine_problem("s", ir.AlgorithmSpec(source="gallery", content_id="c", version="1")) is None
    )
    older = engine_problem("s", _engine(name="python", version="2.7"))
    assert older is not None and "'2.7'" in older and python in older
    other = engine_problem("s", _engine(name="TensorFlow", version="2.1"))
    assert other is not None and "'TensorFlow' '2.1'" in other
    chosen = engine_problem("s", _engine(image="$image_url"))
    assert chosen is not None and "placeholder 'image_url'" in chosen
    by_id = engine_problem("s", _engine(id="engine-7"))
    assert by_id is not None and "id 'engine-7'" in by_id


def test_a_node_count_placeholder_above_one_fails_its_step(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    """A node count given by a placeholder is checked when the step is reached (a fixed one
    above 1 is refused at compile time): one node only, said plainly."""
    nodes = wf.Placeholder(name="nodes", placeholder_type=wf.PlaceholderType.INT, default=1)
    only = job("only", tool_dir(tmp_path))
    only.spec = wf.steps.JobSpec(resource=wf.steps.JobResource(node_count=nodes))
    workflow_id = imported(client, wf.Workflow(name="nodes", desc="", steps=[only]))
    fine = wait_for(client, start(client, workflow_id)["id"])
    assert fine["status"] == "succeeded", fine
    refused = wait_for(client, start(client, workflow_id, parameters={"nodes": 2})["id"])
    assert refused["status"] == "failed"
    assert "node_count 2: a step runs on one node here" in step(refused, "only")["error"]
