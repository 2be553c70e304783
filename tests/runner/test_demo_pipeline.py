"""The first-run demo, "Digits classification", on the real stack, end to end: its data
becomes a dataset, people label the rest (through the API, as the labeling page does), a
version is released, a model trained and registered, and the service step deploys the version
picked when it asks; the endpoint answers predictions."""

from __future__ import annotations

import random
import runpy
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_digits

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

    chosen = random.Random(7).sample(range(len(digits.target)), 60)  # as prepare_data picks
    labels = {
        s["path"]: str(digits.target[chosen[int(s["path"].rsplit("/", 1)[1][:4])]])
        for s in left["items"]
    }
    assert len(labels) == 6
    assert client.put(f"/label-tasks/{task_id}/labels", json={"labels": labels}).status_code == 200
    went_on = client.post(f"/executions/{execution_id}/steps/label/continue", json={})
    assert went_on.status_code == 200, went_on.text


def test_the_demo_runs_from_data_to_a_deployed_model_that_answers_predictions(
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

    # The service step asked which model version to deploy: the one just registered.
    went_on = client.post(
        f"/executions/{run.id}/steps/deploy/continue",
        json={
            "inputs": {
                "service_model": [{"model_name": "digits_classifier", "model_version": version}]
            }
        },
    )
    assert went_on.status_code == 200, went_on.text
    assert run.wait(timeout=120) == "succeeded", run.data
    endpoint = run.step("deploy").outputs["service"]
    assert endpoint.startswith("http://127.0.0.1:")
    digits = load_digits()
    images = [[float(v) for v in digits.images[i].flatten()] for i in range(20)]
    answer = httpx.post(f"{endpoint}/predict", json={"inputs": images}, timeout=10)
    assert answer.status_code == 200, answer.text
    predicted = answer.json()["outputs"]
    right = sum(p == str(t) for p, t in zip(predicted, digits.target[:20], strict=True))
    assert right >= 12, (predicted, list(digits.target[:20]))  # a model, not a guess
    assert answer.json()["model"] == model
    # The service is listed, answers through the registry too, and goes when deleted.
    [service] = client.get("/workspaces/default/services").json()
    through = client.post(f"/services/{service['id']}/predict", json={"inputs": images[:2]})
    assert through.status_code == 200 and through.json()["outputs"] == predicted[:2]
    assert client.delete(f"/services/{service['id']}").status_code == 202
