"""GET /executions/{id}/steps/{step}/outputs[/{name}]: a step's outputs from the blob store.

The records and objects are written here as the runner writes them (a step run's ``outputs``
are object-store directories; the objects are blobs ``objects/<path>``), so every case —
nested folders, odd file names, outputs outside the workspace — is exact; the CLI tests run
real steps through ``gallery outputs``.
"""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import select

from registry.accounts.models import User
from registry.blobs import BlobStore
from registry.blobs.local import LocalBlobStore
from registry.blobs.s3 import S3BlobStore
from registry.context import Context
from registry.executions import outputs
from registry.executions.models import Execution, StepRun
from registry.workspaces.models import RuntimeWorkflow
from runner import objects
from tests.support.gallery import Gallery, new_asset, publish, workflow_manifest
from tests.support.moto import moto_server

ODD = 'odd name ü "q" %2e.txt'
BIG = os.urandom(3 * 1024 * 1024 + 17)  # more than one blob chunk (1 MiB)


@dataclass
class Run:
    alice: httpx.Client
    bob: httpx.Client
    execution_id: str
    files: dict[str, bytes]
    """Archive member name → content, of everything the step stored (inside its namespace)."""

    def url(self, step: str = "train", name: str = "") -> str:
        tail = f"/{name}" if name else ""
        return f"/executions/{self.execution_id}/steps/{step}/outputs{tail}"


def _workflow(client: httpx.Client) -> str:
    flow = new_asset(client, kind="workflow")["content_id"]
    assert publish(client, flow, workflow_manifest()).status_code == 201
    answer = client.post("/workspaces/default/workflows", json={"content_id": flow})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _record(gallery: Gallery, workflow_id: str, username: str, steps: list[StepRun]) -> str:
    """An ended execution of the workflow with these step runs, as the runner records it."""
    ctx = Context.from_settings(gallery.settings)
    try:
        async with ctx.db.write() as session:
            workflow = (
                await session.exec(
                    select(RuntimeWorkflow).where(RuntimeWorkflow.workflow_id == workflow_id)
                )
            ).one()
            user = (await session.exec(select(User).where(User.username == username))).one()
            assert workflow.id is not None and user.id is not None
            execution = Execution(
                execution_id=str(uuid.uuid4()),
                workflow_pk=workflow.id,
                number=1,
                status="succeeded",
                parameters={},
                storages={},
                started_by=user.id,
            )
            session.add(execution)
            await session.flush()
            assert execution.id is not None
            for position, step in enumerate(steps):
                step.execution_pk = execution.id
                step.position = position
                session.add(step)
            return execution.execution_id
    finally:
        await ctx.db.dispose()


def _put(blobs: BlobStore, key: str, data: bytes, tmp: Path) -> None:
    source = tmp / uuid.uuid4().hex
    source.write_bytes(data)
    blobs.put_file(key, source)


@pytest.fixture
def run(gallery: Gallery, tmp_path: Path) -> Run:
    alice, bob = gallery.user("alice"), gallery.user("bob")
    assert alice.username and bob.username
    workflow_id = _workflow(alice)
    mine = f"/{alice.username}/default/{workflow_id}/run/train/"
    theirs = f"/{bob.username}/default/stolen/"
    step = StepRun(
        name="train",
        type="job",
        status="succeeded",
        attempt=1,
        outputs={
            "model": mine + "model/",
            "metrics": mine + "metrics/",
            "result": True,  # not a path: never served
            "elsewhere": theirs,  # outside the workspace: never served
        },
    )
    check = StepRun(name="check", type="condition", status="succeeded", outputs={"result": True})
    execution_id = asyncio.run(_record(gallery, workflow_id, alice.username, [step, check]))
    files = {
        "model/weights.bin": BIG,
        "model/sub/config.json": b'{"layers": 3}',
        "model/sub/deeper/empty.txt": b"",
        f"model/{ODD}": b"odd",
        "metrics/metrics.json": b'[{"key": "score", "type": "float", "data": {"value": 1}}]',
    }
    blobs = LocalBlobStore(gallery.settings.data_dir / "blobs")
    for name, data in files.items():
        out, _, rest = name.partition("/")
        key = outputs.stored_outputs({"o": step.outputs[out]}, f"/{alice.username}/default/")
        _put(blobs, f"{key['o']}/{rest}", data, tmp_path)
    _put(blobs, f"objects/{bob.username}/default/stolen/secret.txt", b"bob's", tmp_path)
    return Run(alice, bob, execution_id, files)


def _members(answer: httpx.Response) -> dict[str, bytes]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/gzip"
    assert answer.headers["x-output-kind"] == "directory"
    found = {}
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as tar:
        for member in tar.getmembers():
            assert member.isfile() and not member.name.startswith("/") and ".." not in member.name
            handle = tar.extractfile(member)
            assert handle is not None
            found[member.name] = handle.read()
    return found


def test_every_output_of_a_step_as_one_tar_gz(run: Run) -> None:
    answer = run.alice.get(run.url())
    assert _members(answer) == run.files
    assert answer.headers["x-output-files"] == str(len(run.files))
    assert answer.headers["x-output-bytes"] == str(sum(len(v) for v in run.files.values()))
    assert 'filename="outputs.tar.gz"' in answer.headers["content-disposition"]


def test_one_output_or_a_folder_in_it_as_a_tar_gz(run: Run) -> None:
    model = {k: v for k, v in run.files.items() if k.startswith("model/")}
    assert _members(run.alice.get(run.url(name="model"))) == model
    assert _members(run.alice.get(run.url(name="model/"))) == model
    sub = {k: v for k, v in run.files.items() if k.startswith("model/sub/")}
    assert len(sub) == 2
    assert _members(run.alice.get(run.url(name="model/sub"))) == sub
    assert _members(run.alice.get(run.url(name="model/sub/"))) == sub
    answer = run.alice.get(run.url(name="metrics"))
    assert _members(answer) == {"metrics/metrics.json": run.files["metrics/metrics.json"]}
    assert 'filename="metrics.tar.gz"' in answer.headers["content-disposition"]


def test_one_file_as_stored(run: Run) -> None:
    with run.alice.stream("GET", run.url(name="model/weights.bin")) as answer:
        assert answer.status_code == 200
        assert answer.headers["x-output-kind"] == "file"
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["content-length"] == str(len(BIG))
        assert 'filename="weights.bin"' in answer.headers["content-disposition"]
        chunks = list(answer.iter_raw())
    assert b"".join(chunks) == BIG
    empty = run.alice.get(run.url(name="model/sub/deeper/empty.txt"))
    assert empty.status_code == 200 and empty.content == b""
    odd = run.alice.get(run.url(name=quote(f"model/{ODD}")))
    assert odd.status_code == 200 and odd.content == b"odd"
    disposition = odd.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote(ODD, safe='')}" in disposition
    assert "\n" not in disposition and disposition.count('"') == 2


def _problem(answer: httpx.Response, status: int, *fragments: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    detail = str(answer.json()["detail"])
    for fragment in fragments:
        assert fragment in detail, detail
    return detail


def test_what_is_not_stored_is_a_404(run: Run) -> None:
    _problem(run.alice.get(run.url(name="nope")), 404, "no output 'nope'", "metrics, model")
    _problem(run.alice.get(run.url(name="model/missing.bin")), 404, "nothing is stored")
    _problem(run.alice.get(run.url(name="model/" + "x" * 250)), 404)
    # outputs that are not paths, or not the workspace's, are not served
    _problem(run.alice.get(run.url(name="result")), 404, "no output 'result'")
    _problem(run.alice.get(run.url(name="elsewhere")), 404, "no output 'elsewhere'")
    _problem(run.alice.get(run.url(name="elsewhere/secret.txt")), 404, "no output 'elsewhere'")
    _problem(run.alice.get(run.url(step="check")), 404, "has no stored outputs")
    _problem(run.alice.get(run.url(step="ghost")), 404, "has no step 'ghost'")


def test_other_users_get_the_answer_of_an_unknown_execution(run: Run, gallery: Gallery) -> None:
    unknown = str(uuid.uuid4())
    for name in ("", "model", "model/weights.bin"):
        theirs = _problem(run.bob.get(run.url(name=name)), 404)
        assert theirs == f"no execution {run.execution_id!r}"
        ghost = run.url(name=name).replace(run.execution_id, unknown)
        assert _problem(run.bob.get(ghost), 404) == f"no execution {unknown!r}"
    assert run.bob.get(run.url(name="model/weights.bin")).content != BIG
    assert gallery.client().get(run.url()).status_code == 401


BAD_NAMES = [
    "%2e%2e",
    "%2e%2e/%2e%2e/etc/passwd",
    "model/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "model/%2E%2E",
    "model/%2e/weights.bin",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "model//weights.bin",
    "model/a%00b",
    "model/" + "y" * 300,
    "x" * 600,
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_with_a_4xx(run: Run, name: str) -> None:
    answer = run.alice.get(run.url(name=name))
    assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text[:200])
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_dot_segments_and_absolute_names_say_why(run: Run) -> None:
    _problem(run.alice.get(run.url(name="model/%2e%2e/x")), 422, "'..'")
    _problem(run.alice.get(run.url(name="%2Fetc%2Fpasswd")), 422, "absolute")


# --- the blob side, on both stores -----------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("moto_endpoint")
    return S3BlobStore(endpoint, "testing", "testing", f"test-{uuid.uuid4().hex[:16]}")


def test_archives_stream_from_either_store(blobs: BlobStore, tmp_path: Path) -> None:
    space = "/alice/default/"
    stored = outputs.stored_outputs({"out": "/alice/default/wf/run/step/out/"}, space)
    files = {"out/a.txt": b"a", "out/big.bin": BIG, "out/n/b.txt": b"b" * 700}
    for name, data in files.items():
        _put(blobs, f"{stored['out']}/{name.split('/', 1)[1]}", data, tmp_path)
    found = outputs.locate(blobs, stored, [], "step")
    assert isinstance(found, outputs.OutputTree)
    chunks = list(outputs.tar_gz(blobs, found.members))
    assert len(chunks) > 1  # made piece by piece, not in one go
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert got == files
    single = outputs.locate(blobs, stored, ["out", "n", "b.txt"], "step")
    assert isinstance(single, outputs.OutputFile) and single.info.size == 700


def test_blob_keys_are_the_runners() -> None:
    """The registry's reading of an output path is the runner's writing of it."""
    space = "/alice/default/"
    for path in ("/alice/default/wf/e/step/out/", "/alice/default/x", "/alice/default/a/b/c/"):
        assert outputs.stored_outputs({"o": path}, space) == {"o": objects.key_of(path, space)}
    assert outputs.stored_outputs({"o": "/alice/default2/x/", "p": "/bob/x/"}, space) == {}


WEIRD = ["%00", "%FF", "%ED%A0%80", "%C0%AF", "caf%C3%A9", "%2F", "%5C..%5C"]


@pytest.mark.parametrize("weird", WEIRD)
def test_odd_bytes_anywhere_are_never_a_500(run: Run, weird: str) -> None:
    urls = [
        f"/executions?name={weird}",
        f"/executions?workflow={weird}",
        f"/executions?workspace={weird}&name=execution-001",
        f"/executions/{weird}/steps/train/outputs",
        f"/executions/{run.execution_id}/steps/{weird}/outputs",
        f"/executions/{run.execution_id}/steps/train/outputs/{weird}",
        f"/executions/{run.execution_id}/steps/train/outputs/model/{weird}",
    ]
    statuses = set()
    for url in urls:
        answer = run.alice.get(url)
        assert answer.request.url.raw_path.endswith(url.encode().split(b"?")[-1])  # as sent
        assert answer.status_code < 500, (url, answer.status_code, answer.text[:300])
        statuses.add(answer.status_code)
    assert statuses & {200, 404, 422}
