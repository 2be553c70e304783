"""The pipelines the browser suite (and ``make screens``) publish: defined with the SDK and
released for real, with a job script that writes every kind of metric, can fail on demand,
and prints what it is told to (for the log tail).

``journey``: prepare → train (metrics) → export, where ``score`` has no default (so a one-click
Run lands on the configuration form), ``fail`` makes *train* fail, and *export* waits for its
delayed ``release_name`` (a Continue form).
"""

from __future__ import annotations

import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import sdk as wf
from tests.sdk.support import token_of

JOB = '''
"""A job of the browser suite: prepare, train (metrics of every kind) or export."""
import argparse, json, pathlib, sys

parser = argparse.ArgumentParser()
parser.add_argument("--mode", required=True)
parser.add_argument("--data", default=None)
parser.add_argument("--out", default=None)
parser.add_argument("--metrics", default=None)
parser.add_argument("--score", type=float, default=0.5)
parser.add_argument("--fail", default="false")
parser.add_argument("--name", default="")
parser.add_argument("--metric_key", default="accuracy")
parser.add_argument("--metric_title", default="Accuracy")
parser.add_argument("--say", default="")
parser.add_argument("--options", default="{}")
args = parser.parse_args()
print(f"{args.mode}: starting", flush=True)
if args.say:
    print(args.say, flush=True)
if args.fail == "true":
    print(f"{args.mode}: failing as asked (fail=true)", flush=True)
    sys.exit(3)
if args.out:
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.txt").write_text(f"{args.mode} {args.name} {args.score}\\n")
if args.metrics:
    s = args.score
    labels = ["cat", "dog", "bird"]
    losses = [round((1 - s) * 2 / e, 4) for e in range(1, 6)]
    metrics = [
        {"key": args.metric_key, "title": args.metric_title, "type": "float", "data": {"value": s}},
        {"key": "loss", "title": "Loss by epoch", "type": "line chart", "data": {
            "x_axis": [{"title": "epoch", "value": [1, 2, 3, 4, 5]}],
            "y_axis": [{"title": "loss", "value": losses}],
        }},
        {"key": "confidence", "title": "Confidence", "type": "histogram", "data": {
            "x_axis": [{"title": "confidence", "value": [0.2, 0.4, 0.6, 0.8, 1.0]}],
            "y_axis": [{"title": "predictions", "value": [2, 5, 9, 14, 7]}],
        }},
        {"key": "confusion", "title": "Confusion matrix", "type": "table", "data": {
            "cell_value": [[8, 1, 1], [2, 7, 1], [0, 1, 9]],
            "row_labels": {"title": "actual", "value": labels},
            "col_labels": {"title": "predicted", "value": labels},
        }},
        {"key": "per_class", "title": "Recall per class", "type": "one-dimensional-table", "data": {
            "cell_value": [[0.8, 0.7, 0.9]], "labels": labels,
        }},
    ]
    folder = pathlib.Path(args.metrics)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
print(f"{args.mode}: done", flush=True)
'''


def job_dir(root: Path) -> Path:
    """A folder holding the suite's job script (the published algorithms' code)."""
    folder = root / "browser-job"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.py").write_text(textwrap.dedent(JOB))
    return folder


def _job(
    name: str,
    code: Path,
    mode: str,
    *,
    title: str = "",
    parameters: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    metrics: Any = None,
    depends: list[wf.steps.JobStep] | None = None,
) -> wf.steps.JobStep:
    made = [
        wf.steps.JobOutput(name=key, obs_config=wf.data.OBSOutputConfig(path))
        for key, path in (outputs or {}).items()
    ]
    if metrics is not None:
        made.append(
            wf.steps.JobOutput(
                name="metrics", metrics_config=wf.data.MetricsConfig(metric_files=metrics)
            )
        )
    values = {"mode": mode, **(parameters or {})}
    return wf.steps.JobStep(
        name=name,
        title=title or None,
        algorithm=wf.BaseAlgorithm(
            name=f"browser_{mode}",
            code_dir=code,
            boot_file="job.py",
            parameters=[wf.AlgorithmParameters(name=k, value=v) for k, v in values.items()],
        ),
        inputs=[wf.steps.JobInput(name=key, data=value) for key, value in (inputs or {}).items()],
        outputs=made,
        depend_steps=depends or [],
    )


def journey(
    code: Path,
    *,
    name: str | None = None,
    desc: str = "Prepare data, train a model and export it once someone approves the name.",
    train_title: str = "Train the model",
    metric_key: str = "accuracy",
    metric_title: str = "Accuracy",
    say: str = "",
) -> wf.Workflow:
    """prepare → train → export; ``score`` required without default, ``options`` a JSON
    object, ``fail`` a switch, ``release_name`` asked for while running (export waits)."""
    out = wf.data.OutputStorage(name="out", description="Where each run writes its results")
    score = wf.Placeholder(
        name="score",
        placeholder_type=wf.PlaceholderType.FLOAT,
        description="Accuracy the trained model reports",
    )
    options = wf.Placeholder(
        name="options",
        placeholder_type=wf.PlaceholderType.JSON,
        default={"epochs": 5},
        description="Training options (a JSON object)",
    )
    fail = wf.Placeholder(
        name="fail",
        placeholder_type=wf.PlaceholderType.BOOL,
        default=False,
        description="Make the training step fail (to try Retry)",
    )
    release_name = wf.Placeholder(
        name="release_name",
        placeholder_type=wf.PlaceholderType.STR,
        default="model-v1",
        delay=True,
        description="Name of the exported model, asked for before export runs",
    )
    prepare = _job(
        "prepare", code, "prepare", title="Prepare the data", outputs={"out": out.join("data/")}
    )
    train = _job(
        "train",
        code,
        "train",
        title=train_title,
        parameters={
            "score": score,
            "options": options,
            "fail": fail,
            "metric_key": metric_key,
            "metric_title": metric_title,
            "say": say,
        },
        inputs={"data": prepare.outputs["out"].as_input()},
        outputs={"out": out.join("model/")},
        metrics=out.join("metrics/"),
        depends=[prepare],
    )
    export = _job(
        "export",
        code,
        "export",
        title="Export the model",
        parameters={"name": release_name},
        inputs={"data": train.outputs["out"].as_input()},
        outputs={"out": out.join("release/")},
        depends=[train],
    )
    return wf.Workflow(
        name=name or "journey_" + uuid.uuid4().hex[:6],
        desc=desc,
        steps=[prepare, train, export],
        storages=[out],
    )


@dataclass(frozen=True)
class Published:
    content_id: str
    version: str
    title: str


def publish(
    client: httpx.Client,
    workflow: wf.Workflow,
    *,
    title: str,
    visibility: str = "public",
    tags: list[str] | None = None,
    description: str | None = None,
    terms: str | None = None,
) -> Published:
    """Release ``workflow`` to the gallery as ``client``'s user (the SDK's own path), then
    set the asset's tags, description and terms over the API."""
    base = str(client.base_url).rstrip("/").removesuffix("/api/v1")
    workflow.session = wf.Session(base, token_of(client))
    release = workflow.release_to_gallery(title=title, visibility=visibility)
    changes: dict[str, Any] = {}
    if tags is not None:
        changes["tags"] = tags
    if description is not None:
        changes["description"] = description
    if terms is not None:
        changes["terms"] = terms
    if changes:
        answer = client.patch(f"/assets/{release.content_id}", json=changes)
        assert answer.status_code == 200, answer.text
    return Published(release.content_id, release.version, title)
