"""The first-run demo, "Digits classification", on the real stack: its data becomes a dataset
(this file grows with the pipeline's steps: labeling, release, train, register, deploy)."""

from __future__ import annotations

import runpy
from pathlib import Path

import httpx
import pytest

import sdk as wf
from tests.runner.conftest import Runtime
from tests.sdk.support import token_of

EXAMPLE = Path(__file__).resolve().parents[2] / "sdk" / "examples" / "digits_classification"


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


def demo(runtime: Runtime, client: httpx.Client) -> wf.Workflow:
    workflow = runpy.run_path(str(EXAMPLE / "workflow.py"))["workflow"]
    assert isinstance(workflow, wf.Workflow)
    workflow.session = wf.Session(runtime.gallery.base_url, token_of(client))
    return workflow


def test_the_demo_data_becomes_a_dataset_with_a_few_images_left_to_label(
    runtime: Runtime, client: httpx.Client
) -> None:
    workflow = demo(runtime, client)
    workflow.set_placeholder("samples", 60)
    run = workflow.run(steps=["prepare", "create_dataset"], emit=lambda _: None)
    assert run.status == "succeeded", run.data
    pin = run.step("create_dataset").outputs["dataset"]
    content_id, version = pin.split("@")
    summary = client.get(f"/assets/{content_id}/versions/{version}").json()["manifest"]["metadata"][
        "dataset"
    ]
    assert (summary["samples"], summary["labelled"]) == (60, 54)
    assert summary["labels"] == [str(d) for d in range(10)]
    image = client.get(f"/assets/{content_id}/versions/{version}/package")
    assert image.status_code == 200


def label_the_rest(client: httpx.Client, execution_id: str) -> None:
    """What a person does on the labeling page, through the API: label every sample the
    task has left, with the digit each image shows (the truth, from scikit-learn)."""
    from sklearn.datasets import load_digits

    todo = [i for i in client.get("/todo").json() if i["execution_id"] == execution_id]
    [item] = todo
    task_id = (
        item["label_task"]["id"] if isinstance(item["label_task"], dict) else item["label_task"]
    )
    task = client.get(f"/label-tasks/{task_id}").json()
    assert not task["complete"] and task["labels"] == [str(d) for d in range(10)]
    refused = client.post(f"/executions/{execution_id}/steps/label/continue", json={})
    assert refused.status_code == 409 and "remain" in refused.json()["detail"]
    left = client.get(f"/label-tasks/{task_id}/samples", params={"state": "unlabelled"}).json()
    digits = load_digits()
    import random

    chosen = random.Random(7).sample(range(len(digits.target)), 60)  # as prepare_data picks
    labels = {
        s["path"]: str(digits.target[chosen[int(s["path"].rsplit("/", 1)[1][:4])]])
        for s in left["items"]
    }
    assert len(labels) == 6
    assert client.put(f"/label-tasks/{task_id}/labels", json={"labels": labels}).status_code == 200
    went_on = client.post(f"/executions/{execution_id}/steps/label/continue", json={})
    assert went_on.status_code == 200, went_on.text


def test_the_demo_runs_from_data_to_a_registered_model_and_asks_for_the_service_s_version(
    runtime: Runtime, client: httpx.Client
) -> None:
    workflow = demo(runtime, client)
    run = workflow.release_and_run(parameters={"samples": 60, "min_accuracy": 0.5})
    run.wait(timeout=120, until=("waiting_input",))
    assert run.step("label").status == "waiting_input", run.data
    label_the_rest(client, run.id)
    run.wait(timeout=180, until=("waiting_input",))
    assert run.status == "waiting_input", run.data
    assert run.step("deploy").status == "waiting_input"
    assert run.step("deploy").waiting_for == ("service_model",)
    model = run.step("register").outputs["model_version"]
    content_id, version = model.split("@")
    lineage = client.get(f"/assets/{content_id}/versions/{version}").json()["manifest"]["metadata"]
    assert lineage["metrics"]["train.accuracy"] >= 0.5
    released = run.step("release").outputs["version"]
    summary = client.get(
        f"/assets/{released.split('@')[0]}/versions/{released.split('@')[1]}"
    ).json()["manifest"]["metadata"]["dataset"]
    assert summary["labelled"] == 60 and set(summary["splits"]) == {"train", "eval"}
