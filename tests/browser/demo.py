"""Demo data for the screenshots and the accessibility audit, made through the API as users
would: a publisher's public workflow (a DAG with metrics and a waiting step) and a few more
assets, and a consumer who ran it three times — one run succeeded, one failed and was retried
with a changed value, one waits for its export name (the to-do list)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

import sdk as wf
from tests.browser.pipelines import Published, job_dir, journey, publish
from tests.sdk.support import token_of
from tests.support.gallery import Gallery, new_asset
from tests.support.gallery import publish as publish_version
from tests.support.runner import step, step_is, wait_for


@dataclass(frozen=True)
class Demo:
    publisher: tuple[str, str]
    consumer: tuple[str, str]
    asset: Published
    workflow_id: str
    workspace: str
    succeeded: str
    """A run that went through: its waiting step was continued."""
    retried: str
    """A run whose train step failed, retried with fail=false and a new score, then continued."""
    waiting: str
    """A run whose export step waits for its release name (on the to-do list)."""
    debugging: str
    """A development debug run (``workflow.debug()``) paused after its first step."""
    model: str
    """A model asset a model step registered (its page shows the lineage)."""
    label_task: str
    service: str
    """A deployed service (a tiny model that doubles numbers)."""
    """A labeling step's label task, half labelled (its step waits on the to-do list)."""


def _start(client: httpx.Client, workflow_id: str, **parameters: object) -> str:
    answer = client.post(f"/workflows/{workflow_id}/executions", json={"parameters": parameters})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _continue(client: httpx.Client, execution_id: str, name: str) -> None:
    wait_for(client, execution_id, step_is("export", "waiting_input"))
    answer = client.post(
        f"/executions/{execution_id}/steps/export/continue", json={"inputs": {"release_name": name}}
    )
    assert answer.status_code == 200, answer.text
    done = wait_for(client, execution_id)
    assert done["status"] == "succeeded", done


def _more_assets(client: httpx.Client) -> None:
    """A few more catalog cards: an algorithm with a release, a model and a dataset."""
    for kind, title, tags, description in [
        ("algorithm", "Gradient-boosted trees", ["tabular", "classic"], "Boosted trees."),
        ("model", "Sentiment classifier", ["nlp"], "A small English sentiment model."),
        ("dataset", "Street signs", ["vision", "images"], "12k labelled street-sign photos."),
    ]:
        asset = new_asset(
            client,
            kind=kind,
            title=title,
            tags=tags,
            description=description,
            visibility="public",
        )
        if kind == "algorithm":
            answer = publish_version(client, asset["content_id"])
            assert answer.status_code in (200, 201), answer.text


def seed(gallery: Gallery, root: Path, *, publisher: str = "alice", consumer: str = "bob") -> Demo:
    """Make the demo's users, assets and runs on ``gallery`` (``root``: a scratch folder)."""
    users = []
    for name in (publisher, consumer):
        password = "demo-" + uuid.uuid4().hex[:12]
        answer = gallery.admin.post("/users", json={"username": name, "password": password})
        assert answer.status_code == 201, answer.text
        users.append((name, password))
    alice, bob = (gallery.login(*u) for u in users)

    asset = publish(
        alice,
        journey(job_dir(root), name="image_classifier"),
        title="Image classifier pipeline",
        tags=["vision", "training"],
        terms="For demonstrations only; no warranty.",
        description=(
            "Prepares a labelled image set, trains a classifier and exports it once someone "
            "approves the release name. Set score to the accuracy the model should report; "
            "switch fail on to see a failed step and Retry."
        ),
    )
    _more_assets(alice)

    ran = bob.post(f"/assets/{asset.content_id}/run", json={})
    assert ran.status_code == 201, ran.text
    workflow = ran.json()["workflow"]
    workflow_id = str(workflow["id"])

    succeeded = _start(bob, workflow_id, score=0.72)
    _continue(bob, succeeded, "classifier-v1")

    retried = _start(bob, workflow_id, score=0.64, fail=True)
    failed = wait_for(bob, retried)  # the run ends failed (the step is not retried by itself)
    assert failed["status"] == "failed" and step(failed, "train")["status"] == "failed", failed
    answer = bob.post(
        f"/executions/{retried}/steps/train/retry",
        json={"parameters": {"fail": False, "score": 0.81}},
    )
    assert answer.status_code == 200, answer.text
    _continue(bob, retried, "classifier-v2")

    waiting = _start(bob, workflow_id, score=0.77)
    wait_for(bob, waiting, step_is("export", "waiting_input"))

    developed = journey(job_dir(root / "dev"), name="classifier_dev")
    developed.session = wf.Session(gallery.base_url, token_of(bob))
    developed.set_placeholder("score", 0.7)
    debugging = developed.debug(experiment_id="tuning", emit=lambda _: None)
    developed.next(emit=lambda _: None)

    model = _registered_model(job_dir(root / "model"), wf.Session(gallery.base_url, token_of(bob)))
    label_task = _labeling(root / "digits", bob, wf.Session(gallery.base_url, token_of(bob)))
    service = _service(bob, wf.Session(gallery.base_url, token_of(bob)))
    return Demo(
        publisher=users[0],
        consumer=users[1],
        asset=asset,
        workflow_id=workflow_id,
        workspace=str(workflow.get("workspace", "default")),
        succeeded=succeeded,
        retried=retried,
        waiting=waiting,
        debugging=debugging.id,
        model=model,
        label_task=label_task,
        service=service,
    )


def _registered_model(code: Path, session: wf.Session) -> str:
    """train → register: a model version with its lineage; the model's content id."""
    out = wf.data.OutputStorage(name="out")
    train = wf.steps.JobStep(
        name="train",
        title="Train the classifier",
        algorithm=wf.BaseAlgorithm(
            name="classifier_train",
            code_dir=str(code),
            boot_file="job.py",
            parameters=[
                wf.AlgorithmParameters(name="mode", value="train"),
                wf.AlgorithmParameters(name="score", value=0.91),
            ],
        ),
        outputs=[
            wf.steps.JobOutput(name="out", obs_config=wf.data.OBSOutputConfig(out.join("model/"))),
            wf.steps.JobOutput(
                name="metrics", metrics_config=wf.data.MetricsConfig(out.join("metrics/"))
            ),
        ],
    )
    register = wf.steps.ModelStep(
        name="register",
        title="Register the model",
        inputs=wf.steps.ModelInput(name="model_input", data=train.outputs["out"].as_input()),
        outputs=wf.steps.ModelOutput(
            name="model_output",
            model_config=wf.steps.ModelConfig(
                model_name="image_classifier_model",
                model_type="PyTorch",
                description="The classifier the demo pipeline trained.",
            ),
        ),
        depend_steps=train,
    )
    workflow = wf.Workflow(
        name="classifier_model", desc="", steps=[train, register], storages=[out], session=session
    )
    run = workflow.release_and_run()
    assert run.wait(timeout=120) == "succeeded", run.data
    return run.step("register").outputs["model_output"].split("@")[0]


DIGITS = """\
# Writes twelve small PNG pictures of digits (a 3x5 font, scaled) and annotations.csv
# labelling the first three of them.
import argparse, pathlib, struct, zlib

FONT = {"0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
        "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
        "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
        "9": "111101111001111"}

def png(rows):
    raw = b"".join(b"\\x00" + bytes(row) for row in rows)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    head = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 0, 0, 0, 0)
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", head)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def picture(digit, scale=8, pad=2):
    bits = FONT[digit]
    width, height = (3 + 2 * pad) * scale, (5 + 2 * pad) * scale
    rows = [[255] * width for _ in range(height)]
    for y in range(5):
        for x in range(3):
            if bits[y * 3 + x] == "1":
                for dy in range(scale):
                    for dx in range(scale):
                        rows[(y + pad) * scale + dy][(x + pad) * scale + dx] = 20
    return png(rows)

parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()
out = pathlib.Path(args.out) / "digits"
out.mkdir(parents=True, exist_ok=True)
for index, digit in enumerate("314159265358"):
    (out / f"{index:02d}.png").write_bytes(picture(digit))
(pathlib.Path(args.out) / "annotations.csv").write_text(
    "path,label\\ndigits/00.png,3\\ndigits/01.png,1\\ndigits/02.png,4\\n")
"""


def _labeling(code: Path, client: httpx.Client, session: wf.Session) -> str:
    """make pictures → create a dataset → label them: the labeling step waits, its task half
    labelled (three from the data's annotations, three more through the API)."""
    code.mkdir(parents=True, exist_ok=True)
    (code / "digits.py").write_text(DIGITS)
    out = wf.data.OutputStorage(name="out")
    make = wf.steps.JobStep(
        name="make",
        title="Draw the digits",
        algorithm=wf.BaseAlgorithm(
            name="digit_pictures", code_dir=str(code), boot_file="digits.py"
        ),
        outputs=[
            wf.steps.JobOutput(name="out", obs_config=wf.data.OBSOutputConfig(out.join("raw/")))
        ],
    )
    create = wf.steps.CreateDatasetStep(
        name="create_dataset",
        title="Make the dataset",
        inputs=wf.steps.CreateDatasetInput(name="data", data=make.outputs["out"].as_input()),
        outputs=wf.steps.CreateDatasetOutput(name="dataset"),
        properties=wf.steps.DatasetProperties(
            dataset_name="digit_pictures", data_type=wf.data.DataTypeEnum.IMAGE
        ),
        depend_steps=make,
    )
    label = wf.steps.LabelingStep(
        name="label",
        title="Label the digits",
        inputs=wf.steps.LabelingInput(name="data", data=create.outputs["dataset"].as_input()),
        outputs=wf.steps.LabelingOutput(name="labelled"),
        properties=wf.steps.LabelTaskProperties(
            task_type=wf.data.LabelTaskTypeEnum.IMAGE_CLASSIFICATION,
            task_name="digit_labels",
            labels=[wf.steps.Label(name=str(d)) for d in range(10)],
        ),
        depend_steps=create,
    )
    workflow = wf.Workflow(
        name="digit_labeling", desc="", steps=[make, create, label], storages=[out], session=session
    )
    run = workflow.release_and_run()
    wait_for(client, run.id, step_is("label", "waiting_input"))
    task = client.get("/workspaces/default/label-tasks").json()[0]
    answer = client.put(
        f"/label-tasks/{task['id']}/labels",
        json={"labels": {"digits/03.png": "1", "digits/04.png": "5", "digits/05.png": "9"}},
    )
    assert answer.status_code == 200, answer.text
    return str(task["id"])


PREDICT = b"def predict(inputs):\n    return [2 * x for x in inputs]\n"


def _service(client: httpx.Client, session: wf.Session) -> str:
    """A model version (a predict.py that doubles numbers) deployed as the service "doubler";
    its id."""
    model = new_asset(client, kind="model", name="doubler_model", title="Doubler")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("predict.py")
        info.size = len(PREDICT)
        archive.addfile(info, io.BytesIO(PREDICT))
    package = buffer.getvalue()
    manifest = {"package_sha256": hashlib.sha256(package).hexdigest()}
    answer = client.post(
        f"/assets/{model['content_id']}/versions",
        files={
            "manifest": (None, json.dumps(manifest), "application/json"),
            "package": ("package.tar.gz", package, "application/gzip"),
        },
    )
    assert answer.status_code == 201, answer.text
    deploy = wf.steps.ServiceStep(
        name="deploy",
        inputs=wf.steps.ServiceInput(
            name="model",
            data=wf.data.GalleryModel(subscription_id=model["content_id"], version_num="1.0.0"),
        ),
        outputs=wf.steps.ServiceOutput(
            name="service", service_config=wf.steps.ServiceConfig(service_name="doubler")
        ),
    )
    workflow = wf.Workflow(name="doubler_service", desc="", steps=[deploy], session=session)
    run = workflow.release_and_run()
    assert run.wait(timeout=120) == "succeeded", run.data
    [found] = [
        s for s in client.get("/workspaces/default/services").json() if s["name"] == "doubler"
    ]
    return str(found["id"])
