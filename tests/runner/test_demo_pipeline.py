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
    summary = client.get(f"/assets/{content_id}/versions/{version}").json()["manifest"][
        "metadata"
    ]["dataset"]
    assert (summary["samples"], summary["labelled"]) == (60, 54)
    assert summary["labels"] == [str(d) for d in range(10)]
    image = client.get(f"/assets/{content_id}/versions/{version}/package")
    assert image.status_code == 200
