"""Small real pipelines for the runner's tests, defined with the SDK and published for real."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import httpx

import sdk as wf
from tests.sdk.support import token_of

TOOL = '''
"""A test job: copies its input, writes its parameters and a metric, can sleep and fail."""
import argparse, json, os, pathlib, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--data", default=None)
parser.add_argument("--out", default=None)
parser.add_argument("--metrics", default=None)
parser.add_argument("--score", type=float, default=0.5)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--fail", default="false")
parser.add_argument("--label", default="")
parser.add_argument("--pidfile", default="")
args = parser.parse_args()
print(f"tool: label={args.label} score={args.score} pid={os.getpid()}", flush=True)
# --pidfile only marks the process: tests find it by that argument in the host's /proc (a
# sandboxed step cannot write outside its own directory, and its pid is its namespace's).
if args.sleep:
    time.sleep(args.sleep)
if args.fail == "true":
    print("tool: failing as asked", flush=True)
    sys.exit(3)
if args.out:
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seen = ""
    if args.data:
        seen = (pathlib.Path(args.data) / "value.txt").read_text()
    (out / "value.txt").write_text(seen + args.label)
if args.metrics:
    pathlib.Path(args.metrics, "metrics.json").write_text(json.dumps([
        {"key": "score", "title": "Score", "type": "float", "data": {"value": args.score}}
    ]))
print("tool: done", flush=True)
'''


def tool_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tool"
    folder.mkdir(exist_ok=True)
    (folder / "tool.py").write_text(textwrap.dedent(TOOL))
    return folder


def job(
    name: str,
    code: Path,
    *,
    parameters: dict[str, Any] | None = None,
    inputs: list[Any] | None = None,
    out: Any = None,
    metrics: Any = None,
    depends: list[Any] | None = None,
    policy: Any = None,
) -> wf.steps.JobStep:
    outputs = []
    if out is not None:
        outputs.append(wf.steps.JobOutput(name="out", obs_config=wf.data.OBSOutputConfig(out)))
    if metrics is not None:
        outputs.append(
            wf.steps.JobOutput(
                name="metrics", metrics_config=wf.data.MetricsConfig(metric_files=metrics)
            )
        )
    return wf.steps.JobStep(
        name=name,
        algorithm=wf.BaseAlgorithm(
            name="tool",
            code_dir=code,
            boot_file="tool.py",
            parameters=[
                wf.AlgorithmParameters(name=k, value=v) for k, v in (parameters or {}).items()
            ],
        ),
        inputs=[wf.steps.JobInput(name="data", data=i) for i in inputs or []],
        outputs=outputs,
        depend_steps=depends or [],
        policy=policy,
    )


def publish(client: httpx.Client, workflow: wf.Workflow) -> tuple[str, str]:
    session = wf.Session(str(client.base_url).rstrip("/").removesuffix("/api/v1"), token_of(client))
    workflow.session = session
    release = workflow.release_to_gallery()
    return release.content_id, release.version


def imported(client: httpx.Client, workflow: wf.Workflow, name: str | None = None) -> str:
    """Publish the workflow and import it into the caller's default workspace; its id."""
    content_id, version = publish(client, workflow)
    body: dict[str, Any] = {"content_id": content_id, "version": version}
    if name:
        body["name"] = name
    answer = client.post("/workspaces/default/workflows", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def start(client: httpx.Client, workflow_id: str, **body: Any) -> dict[str, Any]:
    answer = client.post(f"/workflows/{workflow_id}/executions", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def shared_import(
    publisher: httpx.Client, user: httpx.Client, workflow: wf.Workflow, **release: Any
) -> tuple[wf.Release, dict[str, Any]]:
    """``publisher`` releases the workflow (``release_to_gallery(**release)``) and ``user``
    imports it into their default workspace; the release and the imported workflow."""
    workflow.session = wf.Session(
        str(publisher.base_url).rstrip("/").removesuffix("/api/v1"), token_of(publisher)
    )
    done = workflow.release_to_gallery(**release)
    answer = user.post(
        "/workspaces/default/workflows",
        json={"content_id": done.content_id, "version": done.version},
    )
    assert answer.status_code == 201, answer.text
    return done, dict(answer.json())
