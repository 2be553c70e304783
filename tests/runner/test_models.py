"""``ModelStep``: a job's output registered as a version of a model asset, with its lineage,
and model versions as inputs of later jobs (``GalleryModel``, or the model step's output) —
on a real server, Temporal dev server and worker, SQLite and PostgreSQL."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.sdk.support import token_of
from tests.support.runner import step, wait_for
from tests.support.web import web_user


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


def registering(code: Path, *, label: str = "weights") -> wf.Workflow:
    """train (writes value.txt and a score) → register (model ``model_name``, version
    ``model_version`` when set) → use (a job reading the registered model's files)."""
    out = wf.data.OutputStorage(name="out")
    name = wf.Placeholder(
        name="model_name", placeholder_type=wf.PlaceholderType.STR, default="digits_model"
    )
    version = wf.Placeholder(
        name="model_version", placeholder_type=wf.PlaceholderType.STR, default="", required=False
    )
    train = job(
        "train",
        code,
        parameters={"label": label, "score": 0.93},
        out=out.join("model/"),
        metrics=out.join("metrics/"),
    )
    register = wf.steps.ModelStep(
        name="register",
        inputs=wf.steps.ModelInput(name="model_input", data=train.outputs["out"].as_input()),
        outputs=wf.steps.ModelOutput(
            name="model_output",
            model_config=wf.steps.ModelConfig(
                model_name=name, model_version=version, model_type="PyTorch", description="digits"
            ),
        ),
        depend_steps=train,
    )
    use = job(
        "use",
        code,
        parameters={"label": "+used"},
        inputs=[register.outputs["model_output"].as_input()],
        out=out.join("use/"),
        depends=[register],
    )
    return wf.Workflow(name="registering", desc="", steps=[train, register, use], storages=[out])


def package_files(client: httpx.Client, content_id: str, version: str) -> dict[str, bytes]:
    answer = client.get(f"/assets/{content_id}/versions/{version}/package")
    assert answer.status_code == 200, answer.text
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as archive:
        return {
            m.name.removeprefix("./"): archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive
            if m.isfile()
        }


def output_text(client: httpx.Client, execution: dict[str, Any], step_name: str, path: str) -> str:
    answer = client.get(f"/executions/{execution['id']}/steps/{step_name}/outputs/{path}")
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_job_output_becomes_a_model_version_with_its_lineage(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow_id = imported(client, registering(tool_dir(tmp_path)))
    first = wait_for(client, start(client, workflow_id)["id"])
    assert first["status"] == "succeeded", first
    pin = step(first, "register")["outputs"]["model_output"]
    content_id, version = pin.split("@")
    assert version == "1.0.0"

    model = client.get(f"/assets/{content_id}").json()
    assert (model["kind"], model["name"], model["visibility"]) == (
        "model",
        "digits_model",
        "private",
    )
    read = client.get(f"/assets/{content_id}/versions/1.0.0").json()
    metadata = read["manifest"]["metadata"]
    assert metadata["model"]["model_type"] == "PyTorch"
    lineage = metadata["lineage"]
    assert lineage["execution_id"] == first["id"] and lineage["workflow_id"] == workflow_id
    assert lineage["step"] == "register"
    [source] = lineage["inputs"]
    assert (source["step"], source["output"]) == ("train", "out")
    trained_with = step(first, "train")
    assert source["algorithm"] and source["algorithm"].endswith("@1.0.0")
    assert metadata["metrics"] == {"train.score": 0.93}
    assert package_files(client, content_id, "1.0.0") == {"value.txt": b"weights"}
    assert trained_with["status"] == "succeeded"

    # The model step's output is an input of the next step: the model's files.
    assert output_text(client, first, "use", "out/value.txt") == "weights+used"

    # The next run registers the next version; an explicit one is taken as given.
    second = wait_for(client, start(client, workflow_id)["id"])
    assert step(second, "register")["outputs"]["model_output"] == f"{content_id}@1.0.1"
    third = wait_for(
        client, start(client, workflow_id, parameters={"model_version": "2.0.0"})["id"]
    )
    assert step(third, "register")["outputs"]["model_output"] == f"{content_id}@2.0.0"
    again = wait_for(
        client, start(client, workflow_id, parameters={"model_version": "2.0.0"})["id"]
    )
    assert again["status"] == "failed"
    assert "version 2.0.0 of asset" in step(again, "register")["error"]
    bad = wait_for(client, start(client, workflow_id, parameters={"model_version": "two"})["id"])
    assert "model_version 'two' is not a version like 1.2.0" in step(bad, "register")["error"]

    # A private model is nobody else's.
    other = runtime.gallery.user()
    assert other.get(f"/assets/{content_id}").status_code == 404
    assert other.get(f"/assets/{content_id}/versions/1.0.0/package").status_code == 404


def reading(code: Path, content_id: str, version: str) -> wf.Workflow:
    """One job whose input is a registered model (``GalleryModel``)."""
    out = wf.data.OutputStorage(name="out")
    reader = job(
        "reader",
        code,
        parameters={"label": "+read"},
        inputs=[wf.data.GalleryModel(subscription_id=content_id, version_num=version)],
        out=out.join("read/"),
    )
    return wf.Workflow(name="reading", desc="", steps=[reader], storages=[out])


def test_a_model_version_is_an_input_of_later_workflows_for_those_who_may_use_it(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    made = wait_for(client, start(client, imported(client, registering(code)))["id"])
    content_id, version = step(made, "register")["outputs"]["model_output"].split("@")
    pin = f"{content_id}@{version}"

    reads = wait_for(
        client, start(client, imported(client, reading(code, content_id, version)))["id"]
    )
    assert reads["status"] == "succeeded", reads
    assert output_text(client, reads, "reader", "out/value.txt") == "weights+read"
    # The workflow asset lists the model version it pins, as it lists its algorithms.
    published = client.get(f"/workflows/{reads['workflow_id']}").json()
    listed = client.get(
        f"/assets/{published['source_content_id']}/versions/{published['source_version']}"
    ).json()["dependencies"]
    assert {"content_id": content_id, "version": version} in [
        {"content_id": d["content_id"], "version": d["version"]} for d in listed
    ]

    # Someone the model is not shared with can neither publish, release nor run a workflow
    # that reads it.
    other = runtime.gallery.user()
    theirs = reading(code, content_id, version)
    theirs.session = wf.Session(runtime.gallery.base_url, token_of(other))
    with pytest.raises(wf.PublishError):
        theirs.release_to_gallery()
    with pytest.raises(wf.PublishError, match=f"reads model {pin}, which you cannot read"):
        theirs.release()
    # Shared publicly, they import and run it; made private again, their next run is refused
    # before it starts.
    assert client.patch(f"/assets/{content_id}", json={"visibility": "public"}).status_code == 200
    shared = imported(other, reading(code, content_id, version))
    allowed = wait_for(other, start(other, shared)["id"])
    assert allowed["status"] == "succeeded", allowed
    assert client.patch(f"/assets/{content_id}", json={"visibility": "private"}).status_code == 200
    refused = other.post(f"/workflows/{shared}/executions", json={})
    assert refused.status_code == 403 and pin in refused.json()["detail"]


def test_a_model_step_whose_input_holds_no_files_fails_saying_so(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    out = wf.data.OutputStorage(name="out")
    train = job("train", tool_dir(tmp_path), out=out.join("nothing/"), parameters={"fail": "false"})
    register = wf.steps.ModelStep(
        name="register",
        inputs=wf.steps.ModelInput(
            name="model_input", data=wf.data.OBSPath(obs_path=out.join("never-written/"))
        ),
        outputs=wf.steps.ModelOutput(
            name="model_output", model_config=wf.steps.ModelConfig(model_name="empty_model")
        ),
        depend_steps=train,
    )
    workflow = wf.Workflow(name="empty_model", desc="", steps=[train, register], storages=[out])
    done = wait_for(client, start(client, imported(client, workflow))["id"])
    assert done["status"] == "failed"
    assert "is missing its files" in step(done, "register")["error"]


def test_the_model_page_shows_its_lineage_and_downloads_its_files(
    runtime: Runtime, tmp_path: Path
) -> None:
    browser = web_user(runtime.gallery, "models")
    made = wait_for(
        browser.api,
        start(browser.api, imported(browser.api, registering(tool_dir(tmp_path))))["id"],
    )
    content_id, version = step(made, "register")["outputs"]["model_output"].split("@")
    page = browser.get(f"/assets/{content_id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h3>Lineage</h3>" in text
    assert "step <code>register</code> of workflow <code>registering</code>" in text
    assert f'<a href="/executions/{made["id"]}">its run</a>' in text
    assert "output <code>out</code> of step <code>train</code>" in text
    assert "<code>train.score</code></th><td>0.93</td>" in text
    assert "PyTorch" in text
    download = browser.get(f"/api/v1/assets/{content_id}/versions/{version}/package")
    assert download.status_code == 200  # the page's link works with the session cookie
    # Someone else sees nothing of a private model, lineage included.
    assert web_user(runtime.gallery, "peek").get(f"/assets/{content_id}").status_code == 404
