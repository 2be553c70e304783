"""Dataset steps: ``CreateDatasetStep`` (files and their labels → a draft version of a
dataset asset), ``ReleaseDatasetStep`` (a frozen version with its train/eval split), and
dataset versions as inputs of jobs — on a real server, Temporal dev server and worker, SQLite
and PostgreSQL."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, start
from tests.support.runner import step, wait_for
from tests.support.web import web_user

MAKE_DATA = '''
"""Writes a small data directory: six sample files and, unless told, annotations.csv."""
import argparse, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--annotations", default="good")
args = parser.parse_args()
out = pathlib.Path(args.out)
(out / "images").mkdir(parents=True)
for i in range(6):
    (out / "images" / f"{i}.txt").write_text(f"sample {i}")
rows = {
    "good": "path,label\\nimages/0.txt,zero\\nimages/1.txt,one\\n./images/2.txt,zero\\n",
    "header": "file,class\\nimages/0.txt,zero\\n",
    "unknown": "path,label\\nimages/9.txt,nine\\n",
    "columns": "path,label\\nimages/0.txt,zero,extra\\n",
    "none": None,
}[args.annotations]
if rows is not None:
    (out / "annotations.csv").write_text(rows)
'''

READ_DATA = '''
"""Reads a dataset version given as --data and writes what it found."""
import argparse, json, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--out")
args = parser.parse_args()
data = pathlib.Path(args.data)
manifest = json.loads((data / "manifest.json").read_text())
found = {
    "samples": len(manifest["samples"]),
    "first": (data / manifest["samples"][0]["path"]).read_text(),
    "splits": sorted({s["split"] or "-" for s in manifest["samples"]}),
}
pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(args.out) / "found.json").write_text(json.dumps(found))
'''


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


def scripts(tmp_path: Path) -> tuple[Path, Path]:
    make, read = tmp_path / "make", tmp_path / "read"
    for folder, text in ((make, MAKE_DATA), (read, READ_DATA)):
        folder.mkdir(exist_ok=True)
        (folder / "main.py").write_text(textwrap.dedent(text))
    return make, read


def _job(name: str, code: Path, *, inputs: list[Any], out: Any, **params: Any) -> wf.steps.JobStep:
    return wf.steps.JobStep(
        name=name,
        algorithm=wf.BaseAlgorithm(
            name=f"{code.name}_tool",
            code_dir=str(code),
            boot_file="main.py",
            parameters=[wf.AlgorithmParameters(name=k, value=v) for k, v in params.items()],
        ),
        inputs=[wf.steps.JobInput(name="data", data=i) for i in inputs],
        outputs=[wf.steps.JobOutput(name="out", obs_config=wf.data.OBSOutputConfig(out))],
    )


def pipeline(tmp_path: Path, *, annotations: str = "good", ratio: Any = 0.5) -> wf.Workflow:
    """make (a data directory) → create_dataset → release_dataset → read (a job)."""
    make_code, read_code = scripts(tmp_path)
    out = wf.data.OutputStorage(name="out")
    make = _job("make", make_code, inputs=[], out=out.join("raw/"), annotations=annotations)
    create = wf.steps.CreateDatasetStep(
        name="create_dataset",
        inputs=wf.steps.CreateDatasetInput(name="input_name", data=make.outputs["out"].as_input()),
        outputs=wf.steps.CreateDatasetOutput(name="output_name"),
        properties=wf.steps.DatasetProperties(
            dataset_name="digits_data", data_type=wf.data.DataTypeEnum.IMAGE
        ),
        depend_steps=make,
    )
    release = wf.steps.ReleaseDatasetStep(
        name="release_dataset",
        inputs=wf.steps.ReleaseDatasetInput(
            name="input_name", data=create.outputs["output_name"].as_input()
        ),
        outputs=wf.steps.ReleaseDatasetOutput(
            name="output_name",
            dataset_version_config=wf.data.DatasetVersionConfig(train_evaluate_sample_ratio=ratio),
        ),
        depend_steps=create,
    )
    read = _job(
        "read", read_code, inputs=[release.outputs["output_name"].as_input()], out=out.join("r/")
    )
    return wf.Workflow(
        name="datasets", desc="", steps=[make, create, release, read], storages=[out]
    )


def version_of(client: httpx.Client, pin: str) -> dict[str, Any]:
    content_id, version = pin.split("@")
    answer = client.get(f"/assets/{content_id}/versions/{version}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def found_by(client: httpx.Client, execution: dict[str, Any], step_name: str) -> Any:
    answer = client.get(f"/executions/{execution['id']}/steps/{step_name}/outputs/out/found.json")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_files_and_labels_become_a_draft_then_a_released_split_version(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow_id = imported(client, pipeline(tmp_path))
    done = wait_for(client, start(client, workflow_id)["id"])
    assert done["status"] == "succeeded", done
    draft = step(done, "create_dataset")["outputs"]["output_name"]
    released = step(done, "release_dataset")["outputs"]["output_name"]
    content_id = draft.split("@")[0]
    assert draft == f"{content_id}@1.0.0-draft.1" and released == f"{content_id}@1.0.0"

    dataset = client.get(f"/assets/{content_id}").json()
    assert (dataset["kind"], dataset["name"], dataset["visibility"]) == (
        "dataset",
        "digits_data",
        "private",
    )
    assert dataset["latest_version"] == "1.0.0"  # a draft is never the latest
    drafted = version_of(client, draft)["manifest"]["metadata"]["dataset"]
    assert drafted == {
        "data_type": "image",
        "samples": 6,
        "labelled": 3,
        "labels": ["one", "zero"],
        "splits": {},
    }
    frozen = version_of(client, released)["manifest"]["metadata"]
    assert frozen["dataset"]["splits"] == {"train": 3, "eval": 3}
    assert frozen["lineage"]["inputs"][0]["step"] == "create_dataset"

    # The package holds the files and the manifest; a job reading it sees the same.
    package = client.get(f"/assets/{content_id}/versions/1.0.0/package")
    with tarfile.open(fileobj=io.BytesIO(package.content), mode="r:gz") as archive:
        names = sorted(m.name.removeprefix("./") for m in archive if m.isfile())
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names == ["files/images/" + f"{i}.txt" for i in range(6)] + ["manifest.json"]
    assert {s["path"]: s["label"] for s in manifest["samples"]}["files/images/2.txt"] == "zero"
    assert found_by(client, done, "read") == {
        "samples": 6,
        "first": "sample 0",
        "splits": ["eval", "train"],
    }

    # A second run drafts the next minor version and releases it.
    again = wait_for(client, start(client, workflow_id)["id"])
    assert step(again, "create_dataset")["outputs"]["output_name"].endswith("@1.1.0-draft.1")
    assert step(again, "release_dataset")["outputs"]["output_name"].endswith("@1.1.0")

    # Nobody else sees the dataset.
    other = runtime.gallery.user()
    assert other.get(f"/assets/{content_id}").status_code == 404
    # The steps' scratch directories are gone.
    work = runtime.gallery.settings.data_dir / "work"
    assert not list(work.glob("gallery-dataset-*")) and not list(work.glob("gallery-model-*"))


def test_a_dataset_named_in_the_definition_is_read_by_a_job(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    wait_for(client, start(client, imported(client, pipeline(tmp_path)))["id"])
    _, read_code = scripts(tmp_path)
    out = wf.data.OutputStorage(name="out")

    def reader(version: str | None) -> str:
        data = wf.data.Dataset(dataset_name="digits_data", version_name=version)
        job = _job("read", read_code, inputs=[data], out=out.join("r/"))
        return imported(client, wf.Workflow(name="reader", desc="", steps=[job], storages=[out]))

    latest = wait_for(client, start(client, reader(None))["id"])
    assert latest["status"] == "succeeded", latest
    assert found_by(client, latest, "read")["splits"] == ["eval", "train"]
    drafted = wait_for(client, start(client, reader("1.0.0-draft.1"))["id"])
    assert found_by(client, drafted, "read")["splits"] == ["-"]
    missing = wait_for(client, start(client, reader("9.9.9"))["id"])
    assert "dataset 'digits_data' has no version '9.9.9'" in step(missing, "read")["error"]

    # A DatasetPlaceholder: the dataset is chosen when the run starts.
    chosen = wf.data.DatasetPlaceholder(name="data_set")
    job = _job("read", read_code, inputs=[chosen], out=out.join("r/"))
    placeholder_id = imported(
        client, wf.Workflow(name="chooser", desc="", steps=[job], storages=[out])
    )
    value = {"dataset_name": "digits_data", "version_name": "1.0.0-draft.1"}
    picked = wait_for(client, start(client, placeholder_id, parameters={"data_set": value})["id"])
    assert picked["status"] == "succeeded", picked
    assert found_by(client, picked, "read")["splits"] == ["-"]


@pytest.mark.parametrize(
    ("annotations", "ratio", "message"),
    [
        ("header", 0.5, "annotations.csv must start with the header 'path,label'"),
        ("unknown", 0.5, "annotations.csv line 2: 'images/9.txt' is not a file of the data"),
        ("columns", 0.5, "annotations.csv line 2: 3 columns, not 2"),
        ("none", 1.5, "train_evaluate_sample_ratio 1.5 is not a number in (0, 1]"),
    ],
)
def test_bad_annotations_and_ratios_fail_their_step_saying_why(
    runtime: Runtime,
    client: httpx.Client,
    tmp_path: Path,
    annotations: str,
    ratio: float,
    message: str,
) -> None:
    done = wait_for(
        client,
        start(client, imported(client, pipeline(tmp_path, annotations=annotations, ratio=ratio)))[
            "id"
        ],
    )
    assert done["status"] == "failed"
    errors = " ".join(s["error"] or "" for s in done["steps"])
    assert message in errors, errors


def test_a_data_path_that_does_not_exist(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    out = wf.data.OutputStorage(name="out")
    create = wf.steps.CreateDatasetStep(
        name="create_dataset",
        inputs=wf.steps.CreateDatasetInput(
            name="input_name", data=wf.data.OBSPath(obs_path=out.join("nothing-here/"))
        ),
        outputs=wf.steps.CreateDatasetOutput(name="output_name"),
        properties=wf.steps.DatasetProperties(dataset_name="never"),
    )
    workflow = wf.Workflow(name="no_data", desc="", steps=[create], storages=[out])
    done = wait_for(client, start(client, imported(client, workflow))["id"])
    assert done["status"] == "failed"
    assert "does not exist" in step(done, "create_dataset")["error"]


def test_the_dataset_page_shows_its_contents_and_lineage(runtime: Runtime, tmp_path: Path) -> None:
    browser = web_user(runtime.gallery, "datasets")
    done = wait_for(
        browser.api, start(browser.api, imported(browser.api, pipeline(tmp_path)))["id"]
    )
    content_id = step(done, "release_dataset")["outputs"]["output_name"].split("@")[0]
    page = browser.get(f"/assets/{content_id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h3>Contents</h3>" in text and "<dd>3 of 6</dd>" in text
    assert '<span class="tag">one</span>' in text and "train 3 · eval 3" in text
    assert "step <code>release_dataset</code> of workflow <code>datasets</code>" in text
    drafted = browser.get(f"/assets/{content_id}?version=1.0.0-draft.1").text
    assert "not split (a draft: a release splits it)" in drafted
