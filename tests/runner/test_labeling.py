"""Labeling: a ``LabelingStep`` makes a label task over a dataset version and waits for people
(``waiting_input``, in the to-do list); labels come through the API (body or CSV file) and the
labeling page; *continue* is refused while samples remain and accepted after, and the labels
become a dataset version the next steps read. ``DatasetImportStep`` adds files to a dataset.
On a real server, Temporal dev server and worker, SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, start
from tests.runner.test_datasets import _job, found_by, scripts, version_of
from tests.support.runner import step, step_is, wait_for
from tests.support.web import WebClient, web_user

LABELS = ["zero", "one", "two"]


def pipeline(tmp_path: Path, **properties: Any) -> wf.Workflow:
    """make (six files, three labelled) → create_dataset → label → release_dataset → read."""
    make_code, read_code = scripts(tmp_path)
    out = wf.data.OutputStorage(name="out")
    make = _job("make", make_code, inputs=[], out=out.join("raw/"), annotations="good")
    create = wf.steps.CreateDatasetStep(
        name="create_dataset",
        inputs=wf.steps.CreateDatasetInput(name="input_name", data=make.outputs["out"].as_input()),
        outputs=wf.steps.CreateDatasetOutput(name="output_name"),
        properties=wf.steps.DatasetProperties(
            dataset_name="labelled_data", data_type=wf.data.DataTypeEnum.IMAGE
        ),
        depend_steps=make,
    )
    label = wf.steps.LabelingStep(
        name="label",
        inputs=wf.steps.LabelingInput(
            name="input_name", data=create.outputs["output_name"].as_input()
        ),
        outputs=wf.steps.LabelingOutput(name="output_name"),
        properties=wf.steps.LabelTaskProperties(
            task_type=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
            task_name="digits_task",
            labels=[wf.steps.Label(name=n) for n in LABELS],
            properties=properties or None,
        ),
        depend_steps=create,
    )
    release = wf.steps.ReleaseDatasetStep(
        name="release_dataset",
        inputs=wf.steps.ReleaseDatasetInput(
            name="input_name", data=label.outputs["output_name"].as_input()
        ),
        outputs=wf.steps.ReleaseDatasetOutput(
            name="output_name",
            dataset_version_config=wf.data.DatasetVersionConfig(train_evaluate_sample_ratio=0.5),
        ),
        depend_steps=label,
    )
    read = _job(
        "read", read_code, inputs=[release.outputs["output_name"].as_input()], out=out.join("r/")
    )
    return wf.Workflow(
        name="labeling", desc="", steps=[make, create, label, release, read], storages=[out]
    )


def waiting(client: httpx.Client, execution_id: str) -> dict[str, Any]:
    return wait_for(
        client,
        execution_id,
        lambda e: (
            e["status"] in ("failed", "stopped")
            # the run's own record follows its step's
            or (e["status"] == "waiting_input" and step_is("label", "waiting_input")(e))
        ),
    )


def the_task(client: httpx.Client) -> dict[str, Any]:
    tasks = client.get("/workspaces/default/label-tasks")
    assert tasks.status_code == 200, tasks.text
    assert [t["name"] for t in tasks.json()] == ["digits_task"]
    answer = client.get(f"/label-tasks/{tasks.json()[0]['id']}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_people_label_through_the_api_and_the_page_then_the_pipeline_goes_on(
    runtime: Runtime, tmp_path: Path
) -> None:
    browser: WebClient = web_user(runtime.gallery, "labeler")
    client = browser.api
    execution = waiting(client, start(client, imported(client, pipeline(tmp_path)))["id"])
    label = step(execution, "label")
    assert (execution["status"], label["status"]) == ("waiting_input", "waiting_input"), execution
    assert step(execution, "release_dataset")["status"] == "pending"

    # It is on the to-do list, and its task holds the dataset's six samples, three labelled.
    todo = client.get("/todo").json()
    assert [(t["execution_id"], t["step"]) for t in todo] == [(execution["id"], "label")]
    task = the_task(client)
    drafted = step(execution, "create_dataset")["outputs"]["output_name"]
    assert task["dataset"] == drafted
    assert (task["samples"], task["labelled"], task["remaining"]) == (6, 3, 3)
    assert task["labels"] == LABELS and task["completion_rule"] == "every sample labelled"
    assert (task["execution_id"], task["step"], task["status"]) == (
        execution["id"],
        "label",
        "open",
    )
    base = f"/label-tasks/{task['id']}"
    assert todo[0]["label_task"] == task["id"]
    assert f'href="{base}"' in browser.get("/todo").text  # the to-do page links to labeling
    unlabelled = client.get(f"{base}/samples", params={"state": "unlabelled"}).json()
    assert [s["path"] for s in unlabelled["items"]] == [f"images/{i}.txt" for i in (3, 4, 5)]
    assert unlabelled["next_cursor"] is None
    labelled = client.get(f"{base}/samples", params={"state": "labelled"}).json()["items"]
    assert {s["path"]: s["label"] for s in labelled}["images/1.txt"] == "one"
    sample = client.get(f"{base}/samples/images/4.txt")
    assert sample.status_code == 200, sample.text
    assert sample.text == "sample 4"
    assert sample.headers["content-type"].startswith("text/plain")
    assert "sandbox" in sample.headers["content-security-policy"]
    assert client.get(f"{base}/samples/images/9.txt").status_code == 404
    assert client.get(f"{base}/samples", params={"state": "maybe"}).status_code == 422

    # Labels outside the label set, unknown samples and malformed files are refused, naming
    # what is wrong; nothing of a refused request is kept.
    outside = client.put(
        f"{base}/labels", json={"labels": {"images/3.txt": "nine", "images/4.txt": "two"}}
    )
    assert outside.status_code == 422, outside.text
    assert "'nine' is not in the label set (zero, one, two)" in outside.json()["detail"]
    unknown = client.put(f"{base}/labels", json={"labels": {"images/99.txt": "two"}})
    assert unknown.status_code == 422
    assert "'images/99.txt' is not a sample" in unknown.json()["detail"]
    malformed = client.post(
        f"{base}/labels/upload",
        files={"file": ("labels.csv", b"path,label\nimages/3.txt,two\nimages/4.txt,one,extra\n")},
    )
    assert malformed.status_code == 422, malformed.text
    assert "line 3: 3 columns, not 2" in malformed.json()["detail"]
    assert client.get(base).json()["labelled"] == 3

    # Continue is refused while samples remain, saying how many.
    cont = f"/executions/{execution['id']}/steps/label/continue"
    refused = client.post(cont, json={"inputs": {}})
    assert refused.status_code == 409, refused.text
    assert "3 samples remain" in refused.json()["detail"]
    on_page = browser.submit(cont, {})  # the execution page's Continue button says the same
    assert on_page.status_code == 409 and "3 samples remain" in on_page.text

    # Another user sees none of it.
    other = runtime.gallery.user()
    assert other.get(base).status_code == 404
    assert other.get(f"{base}/samples").status_code == 404
    assert other.get(f"{base}/samples/images/4.txt").status_code == 404
    assert other.put(f"{base}/labels", json={"labels": {"images/3.txt": "two"}}).status_code == 404
    assert other.post(cont, json={"inputs": {}}).status_code == 404

    # Labels by body and by file; the last one through the page's form.
    put = client.put(f"{base}/labels", json={"labels": {"images/3.txt": "two"}})
    assert put.status_code == 200, put.text
    assert put.json()["task"]["remaining"] == 2
    uploaded = client.post(
        f"{base}/labels/upload",
        content=b"path,label\n./images/4.txt,one\n",
        headers={"content-type": "text/csv"},
    )
    assert uploaded.status_code == 200, uploaded.text
    still = client.post(cont, json={"inputs": {}})
    assert still.status_code == 409 and "1 sample remains" in still.json()["detail"]

    page = browser.get(f"/label-tasks/{task['id']}")
    assert page.status_code == 200, page.text
    assert "5 of 6 labelled" in page.text
    assert "sample 5" in page.text  # a text sample is shown (escaped) in the page
    form = re.search(r'<form[^>]*action="([^"]+/label)"', page.text)
    assert form, page.text
    answer = browser.submit(form.group(1), {"path": "images/5.txt", "label": "zero", "index": "5"})
    assert answer.status_code == 303, answer.text
    assert client.get(base).json()["remaining"] == 0
    done_page = browser.get(answer.headers["location"])
    assert "6 of 6 labelled" in done_page.text
    forged = browser.post(form.group(1), data={"path": "images/5.txt", "label": "one"})
    assert forged.status_code == 403  # no CSRF token: refused
    assert browser.get(f"/label-tasks/{task['id']}?i=99").status_code == 200

    # Continue: the labels become the next draft, released, and read by the job.
    accepted = client.post(cont, json={"inputs": {}})
    assert accepted.status_code == 200, accepted.text
    done = wait_for(client, execution["id"])
    assert done["status"] == "succeeded", done
    content_id = drafted.split("@")[0]
    labels_pin = step(done, "label")["outputs"]["output_name"]
    released = step(done, "release_dataset")["outputs"]["output_name"]
    assert labels_pin == f"{content_id}@1.0.0-draft.2"
    assert released == f"{content_id}@1.0.0"
    frozen = version_of(client, released)["manifest"]["metadata"]["dataset"]
    assert frozen["labelled"] == 6 and frozen["labels"] == LABELS
    assert found_by(client, done, "read")["samples"] == 6
    after = client.get(base).json()
    assert (after["status"], after["result"]) == ("done", labels_pin)
    assert client.get("/todo").json() == []
    late = client.put(f"{base}/labels", json={"labels": {"images/5.txt": "one"}})
    assert late.status_code == 409


def test_a_completion_rule_of_a_few_samples_lets_continue_early(
    runtime: Runtime, tmp_path: Path
) -> None:
    client = runtime.gallery.user()
    execution = waiting(
        client, start(client, imported(client, pipeline(tmp_path, min_labelled=4)))["id"]
    )
    task = the_task(client)
    assert task["completion_rule"] == "at least 4 samples labelled" and task["needed"] == 4
    cont = f"/executions/{execution['id']}/steps/label/continue"
    refused = client.post(cont, json={"inputs": {}})
    assert refused.status_code == 409 and "1 sample remains" in refused.json()["detail"]
    answer = client.put(
        f"/label-tasks/{task['id']}/labels", json={"labels": {"images/5.txt": "two"}}
    )
    assert answer.status_code == 200 and answer.json()["task"]["complete"] is True
    assert client.post(cont, json={"inputs": {"x": 1}}).status_code == 422
    assert client.post(cont, json={"inputs": {}}).status_code == 200
    done = wait_for(client, execution["id"])
    assert done["status"] == "succeeded", done
    released = step(done, "release_dataset")["outputs"]["output_name"]
    assert version_of(client, released)["manifest"]["metadata"]["dataset"]["labelled"] == 4

    # The next run reuses the task (by its name): the labels people gave are still there.
    again = waiting(client, start(client, execution["workflow_id"])["id"])
    reused = the_task(client)
    assert reused["id"] == task["id"] and reused["execution_id"] == again["id"]
    assert (reused["status"], reused["labelled"], reused["result"]) == ("open", 4, None)
    assert reused["dataset"] == step(again, "create_dataset")["outputs"]["output_name"]
    cont = f"/executions/{again['id']}/steps/label/continue"
    assert client.post(cont, json={"inputs": {}}).status_code == 200
    assert wait_for(client, again["id"])["status"] == "succeeded"

    # A label task named in the definition (wf.data.LabelTask): labels that dataset's latest
    # version under that task's name.
    named = wf.steps.LabelingStep(
        name="relabel",
        inputs=wf.steps.LabelingInput(
            name="task",
            data=wf.data.LabelTask(dataset_name="labelled_data", task_name="second_look"),
        ),
        outputs=wf.steps.LabelingOutput(name="output_name"),
        properties=wf.steps.LabelTaskProperties(labels=[wf.steps.Label(name="odd")]),
    )
    flow = wf.Workflow(name="relabeling", desc="", steps=[named])
    third = wait_for(
        client, start(client, imported(client, flow))["id"], step_is("relabel", "waiting_input")
    )
    tasks = {t["name"]: t for t in client.get("/workspaces/default/label-tasks").json()}
    assert tasks["second_look"]["execution_id"] == third["id"]
    assert tasks["second_look"]["dataset"].endswith("@1.1.0")  # the latest release
    assert tasks["second_look"]["labelled"] == 0  # no label of the data is in its label set

    # A job reading a done label task (wf.data.LabelTask) gets the version its labels were
    # published as.
    _, read_code = scripts(tmp_path)
    out = wf.data.OutputStorage(name="out")
    reader = _job(
        "read",
        read_code,
        inputs=[wf.data.LabelTask(dataset_name="labelled_data", task_name="digits_task")],
        out=out.join("r/"),
    )
    flow = wf.Workflow(name="task_reader", desc="", steps=[reader], storages=[out])
    read = wait_for(client, start(client, imported(client, flow))["id"])
    assert read["status"] == "succeeded", read
    listed = client.get("/workspaces/default/label-tasks").json()
    summary = next(t for t in listed if t["name"] == "digits_task")
    done_task = client.get(f"/label-tasks/{summary['id']}").json()
    assert step(read, "read")["inputs"]["data"] == {
        "dataset_name": "labelled_data",
        "task_name": "digits_task",
    }
    assert found_by(client, read, "read")["samples"] == 6
    assert done_task["result"] is not None


def test_dataset_import_adds_files_and_labels_to_a_dataset(
    runtime: Runtime, tmp_path: Path
) -> None:
    client = runtime.gallery.user()
    make_code, _ = scripts(tmp_path)
    out = wf.data.OutputStorage(name="out")
    first = _job("make", make_code, inputs=[], out=out.join("a/"), annotations="none")
    more = _job("more", make_code, inputs=[], out=out.join("b/"), annotations="good")
    create = wf.steps.CreateDatasetStep(
        name="create_dataset",
        inputs=wf.steps.CreateDatasetInput(name="input_name", data=first.outputs["out"].as_input()),
        outputs=wf.steps.CreateDatasetOutput(name="output_name"),
        properties=wf.steps.DatasetProperties(dataset_name="imported_data"),
        depend_steps=first,
    )
    add = wf.steps.DatasetImportStep(
        name="data_import",
        inputs=[
            wf.steps.DatasetImportInput(
                name="input_name_1", data=create.outputs["output_name"].as_input()
            ),
            wf.steps.DatasetImportInput(name="input_name_2", data=more.outputs["out"].as_input()),
        ],
        outputs=wf.steps.DatasetImportOutput(name="output_name"),
        depend_steps=[create, more],
    )
    workflow = wf.Workflow(
        name="importing", desc="", steps=[first, more, create, add], storages=[out]
    )
    done = wait_for(client, start(client, imported(client, workflow))["id"])
    assert done["status"] == "succeeded", done
    pin = step(done, "data_import")["outputs"]["output_name"]
    assert pin.endswith("@1.0.0-draft.2")
    summary = version_of(client, pin)["manifest"]["metadata"]["dataset"]
    # The same six paths: their files replaced, three of them labelled by the import.
    assert (summary["samples"], summary["labelled"], summary["labels"]) == (6, 3, ["one", "zero"])

    broken = wf.steps.DatasetImportStep(
        name="data_import",
        inputs=[
            wf.steps.DatasetImportInput(name="input_name_1", data=more.outputs["out"].as_input())
        ],
        outputs=wf.steps.DatasetImportOutput(name="output_name"),
        depend_steps=[more],
    )
    one_input = wf.Workflow(name="importing_one", desc="", steps=[more, broken], storages=[out])
    failed = wait_for(client, start(client, imported(client, one_input))["id"])
    assert failed["status"] == "failed"
    assert "takes two inputs" in step(failed, "data_import")["error"]
