"""A worker's own limits on hostile packages and output (real server, worker and Temporal):
packages over its limits are refused before unpacking, its code cache stays bounded, a step's
log is capped, and access is checked again at every package fetch."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

import sdk as wf
from registry.blobs import BlobInfo, BlobStore
from registry.blobs.base import CHUNK
from registry.blobs.local import LocalBlobStore
from registry.db import Database
from registry.executions.models import log_key
from registry.executions.routes import MAX_LOG_BYTES
from registry.versions.archives import PackageLimits
from runner.activities import Activities
from runner.codecache import CodeCache
from runner.messages import Records, StepResult, StepTask
from runner.packages import extract
from runner.steps.base import StepFailure
from sdk import spec as ir
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, shared_import, start, tool_dir
from tests.support.databases import sqlite_url
from tests.support.gallery import Gallery, fast_settings
from tests.support.gallery import _prepare as prepare
from tests.support.runner import (
    TemporalServer,
    WorkerProcess,
    running_worker,
    step,
    step_is,
    wait_for,
)
from tests.support.server import serve
from web.app import create_app

MiB = 1024 * 1024
WORKER_UNPACKED = 64 * MiB
CACHE_BYTES = 5 * MiB
LOG_BYTES = 1 * MiB


class Limited:
    """A Gallery that accepts big packages and a worker held to lower limits than it (as if
    the packages had been stored before the limits were lowered)."""

    def __init__(self, gallery: Gallery, worker: WorkerProcess, reads: Reads) -> None:
        self.gallery = gallery
        self.worker = worker
        self.reads = reads

    @property
    def cache(self) -> Path:
        return self.worker.settings.data_dir / "cache" / "code"

    def cached(self) -> set[str]:
        """Every name in the code cache."""
        return {p.name for p in self.cache.iterdir()} if self.cache.exists() else set()


class Reads:
    """The app's blob store, with a record of how logs are read (injected into the app's
    context: the seam every route reads blobs through)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.whole: list[str] = []
        self.ranges: list[tuple[str, int, int]] = []

    def put_file(self, key: str, path: Path) -> None:
        self.inner.put_file(key, path)

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        self.whole.append(key)
        return self.inner.open(key, chunk_size)

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        self.ranges.append((key, offset, length))
        return self.inner.read_range(key, offset, length)

    def stat(self, key: str) -> BlobInfo:
        return self.inner.stat(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        return self.inner.list(prefix)


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, temporal: TemporalServer
) -> Iterator[Limited]:
    data: Path = tmp_path_factory.mktemp("limited-runtime")
    server = fast_settings(
        data_dir=data,
        database_url=sqlite_url(data),
        temporal_address=temporal.address,
        task_queue=f"test-{uuid.uuid4().hex[:8]}",
        package_max_ratio=1e6,  # zeros make the test packages small to send
    )
    worker = server.model_copy(
        update={
            "package_max_unpacked_bytes": WORKER_UNPACKED,
            "code_cache_bytes": CACHE_BYTES,
            "step_log_bytes": LOG_BYTES,
        }
    )
    password = asyncio.run(prepare(server))
    app = create_app(server)
    reads = Reads(app.state.ctx.blobs)
    app.state.ctx.blobs = reads
    with serve(app) as base_url, running_worker(worker) as process:
        yield Limited(Gallery(base_url, server, "sqlite", password), process, reads)


def code_with(tmp_path: Path, **files: bytes | str) -> Path:
    """The test tool's code directory plus ``files``."""
    where = tmp_path / uuid.uuid4().hex
    where.mkdir()
    code = tool_dir(where)
    for name, data in files.items():
        path = code / name
        if isinstance(data, str):
            path.write_text(textwrap.dedent(data))
        else:
            path.write_bytes(data)
    return code


def one_job(code: Path, boot_file: str = "tool.py", **parameters: Any) -> wf.Workflow:
    job = wf.steps.JobStep(
        name="job",
        algorithm=wf.BaseAlgorithm(
            name="tool",
            code_dir=code,
            boot_file=boot_file,
            parameters=[wf.AlgorithmParameters(name=k, value=v) for k, v in parameters.items()],
        ),
    )
    return wf.Workflow(name="limits", desc="", steps=[job])


def run_once(client: httpx.Client, workflow_id: str) -> dict[str, Any]:
    return wait_for(client, start(client, workflow_id)["id"])


def package_sha(client: httpx.Client, workflow_id: str, step_name: str = "job") -> str:
    """The sha256 of the package the workflow's step runs."""
    spec = client.get(f"/workflows/{workflow_id}").json()["spec"]
    found = next(s for s in spec["steps"] if s["name"] == step_name)
    algorithm = found["properties"]["algorithm"]
    version = client.get(f"/assets/{algorithm['content_id']}/versions/{algorithm['version']}")
    assert version.status_code == 200, version.text
    return str(version.json()["package_sha256"])


def log_of(client: httpx.Client, execution_id: str, step_name: str) -> bytes:
    """The whole log, read range by range as a client following it would."""
    body = b""
    while True:
        answer = client.get(
            f"/executions/{execution_id}/steps/{step_name}/logs", params={"offset": len(body)}
        )
        assert answer.status_code == 200, answer.text
        body += answer.content
        if len(body) >= int(answer.headers["X-Log-Size"]):
            return body


# --- packages over the worker's limits -----------------------------------------------------


def test_a_package_over_the_workers_limit_is_refused_before_unpacking(
    limited: Limited, tmp_path: Path
) -> None:
    client = limited.gallery.user()
    code = code_with(tmp_path, **{"weights.bin": bytes(WORKER_UNPACKED + MiB)})
    workflow_id = imported(client, one_job(code))  # the server's limits let it in
    sha = package_sha(client, workflow_id)

    execution = run_once(client, workflow_id)
    assert execution["status"] == "failed"
    job = step(execution, "job")
    assert job["status"] == "failed"
    assert job["attempt"] == 1  # refused for good, not retried
    assert "its package is refused before unpacking" in job["error"]
    assert f"{WORKER_UNPACKED} bytes" in job["error"]
    assert "GALLERY_PACKAGE_MAX_UNPACKED_BYTES" in job["error"]
    assert not any(sha in name for name in limited.cached()), limited.cached()


def test_a_big_package_within_the_limits_unpacks_in_one_attempt(
    limited: Limited, tmp_path: Path
) -> None:
    """Fetching and unpacking run beside the activity's heartbeat, not instead of it."""
    client = limited.gallery.user()
    files = {f"weights{i}.bin": bytes(15 * MiB) for i in range(4)}  # 60 MiB, under 64
    workflow_id = imported(client, one_job(code_with(tmp_path, **files)))
    execution = run_once(client, workflow_id)
    assert execution["status"] == "succeeded", execution
    assert step(execution, "job")["attempt"] == 1


class HeldBack:
    """The blob store, handing out packages only once the step has heartbeated a few times:
    if fetching and unpacking blocked the activity's heartbeat, the fetch would never go on."""

    def __init__(self, inner: BlobStore, beats: threading.Event) -> None:
        self.inner = inner
        self.beats = beats
        self.held: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        if key.startswith("packages/"):
            self.held.append(key)
            if not self.beats.wait(60):
                raise RuntimeError("no heartbeat while the package was fetched")
        yield from self.inner.open(key, chunk_size)


def test_the_step_heartbeats_while_its_package_is_fetched_and_unpacked(
    limited: Limited, tmp_path: Path
) -> None:
    """The worker's step activity, run here (Temporal's activity environment) on the real
    database, for a real execution waiting at ``gate``: its package fetch waits for three
    heartbeats, which come only if fetching and unpacking leave the activity's loop free."""
    client = limited.gallery.user()
    workflow_id = imported(client, gated(tool_dir(tmp_path)))
    execution = start(client, workflow_id)
    wait_for(client, execution["id"], step_is("gate", "waiting_input"))
    spec = ir.WorkflowSpec.model_validate(client.get(f"/workflows/{workflow_id}").json()["spec"])
    task = StepTask(
        execution_id=execution["id"],
        workflow_id=workflow_id,
        step=spec.step("gate"),
        parameters={"label": "go"},
        timeout_seconds=60,
        records=Records(execution_id=execution["id"]),
    )
    settings = limited.worker.settings.model_copy(update={"data_dir": tmp_path / "worker"})
    beats = threading.Event()
    count: list[object] = []

    def heartbeat(*details: object) -> None:
        count.append(details)
        if len(count) >= 3:
            beats.set()

    async def run() -> StepResult:
        db = Database(settings.resolved_database_url)
        store = HeldBack(LocalBlobStore(limited.gallery.settings.data_dir / "blobs"), beats)
        activities = Activities(db, store, settings)  # type: ignore[arg-type]
        env = ActivityEnvironment()
        env.on_heartbeat = heartbeat
        try:
            result: StepResult = await env.run(activities.run_step, task)
            assert store.held, "the package was not fetched"
            return result
        finally:
            activities.recorder.close()
            await db.dispose()

    try:
        assert asyncio.run(run()) == StepResult()
        assert len(count) >= 3
    finally:
        client.post(f"/executions/{execution['id']}/stop")


# --- the code cache ------------------------------------------------------------------------


def test_the_code_cache_evicts_the_least_recently_used_package(
    limited: Limited, tmp_path: Path
) -> None:
    client = limited.gallery.user()
    first = imported(client, one_job(code_with(tmp_path, **{"a.bin": bytes(3 * MiB)})), "a")
    second = imported(client, one_job(code_with(tmp_path, **{"b.bin": bytes(3 * MiB)})), "b")
    first_sha, second_sha = package_sha(client, first), package_sha(client, second)

    assert run_once(client, first)["status"] == "succeeded"
    assert first_sha in limited.cached()
    assert run_once(client, second)["status"] == "succeeded"  # 6 MiB > 5 MiB: one goes
    assert second_sha in limited.cached()
    assert first_sha not in limited.cached()
    assert f"{first_sha}.lock" not in limited.cached()

    assert run_once(client, first)["status"] == "succeeded"  # unpacked again
    assert first_sha in limited.cached()
    assert second_sha not in limited.cached()


# --- the step log cap ----------------------------------------------------------------------

PRINTER = """
import sys
line = "x" * 1023 + "\\n"
for i in range(3 * 1024):
    sys.stdout.write(line)
print("the very last line", flush=True)
sys.exit(int(sys.argv[1].split("=")[1]))
"""


def test_a_step_log_is_capped_and_the_job_is_not_blocked(limited: Limited, tmp_path: Path) -> None:
    client = limited.gallery.user()
    code = code_with(tmp_path, **{"printer.py": PRINTER})
    workflow_id = imported(client, one_job(code, "printer.py", exit_code=0))
    execution = run_once(client, workflow_id)
    assert execution["status"] == "succeeded", execution  # 3 MiB through a 1 MiB log

    log = log_of(client, execution["id"], "job")
    marker = log.index(b"\ngallery: log truncated at 1 MiB (")
    assert marker == LOG_BYTES  # the log stops at the cap; the marker follows
    printed = 3 * 1024 * 1024 + len(b"the very last line\n")
    header = log.index(b"xxxx")  # the runner's own lines come first
    dropped = printed - (LOG_BYTES - header)
    assert f"({dropped} more bytes dropped)".encode() in log[marker:]
    assert log.rstrip().endswith(b"the very last line")  # the end of the story is kept
    assert len(log) < LOG_BYTES + 16 * 1024


def test_a_failed_steps_message_ends_with_its_real_last_lines(
    limited: Limited, tmp_path: Path
) -> None:
    client = limited.gallery.user()
    code = code_with(tmp_path, **{"printer.py": PRINTER})
    workflow_id = imported(client, one_job(code, "printer.py", exit_code=3))
    execution = run_once(client, workflow_id)
    job = step(execution, "job")
    assert job["status"] == "failed"
    assert "exited with code 3" in job["error"]
    assert job["error"].rstrip().endswith("the very last line")


def test_log_reads_serve_ranges_without_loading_the_log(limited: Limited, tmp_path: Path) -> None:
    client = limited.gallery.user()
    workflow_id = imported(client, one_job(tool_dir(tmp_path)))
    execution = run_once(client, workflow_id)
    assert execution["status"] == "succeeded"
    # A log far longer than one answer, as an old worker without the cap could have left.
    data = os.urandom(2 * MAX_LOG_BYTES + 12345)
    big = tmp_path / "big.log"
    big.write_bytes(data)
    key = log_key(execution["id"], "job", 1)
    LocalBlobStore(limited.gallery.settings.data_dir / "blobs").put_file(key, big)
    url = f"/executions/{execution['id']}/steps/job/logs"
    limited.reads.whole.clear()
    limited.reads.ranges.clear()

    def read(offset: int, **params: Any) -> httpx.Response:
        answer = client.get(url, params={"offset": offset, **params})
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Log-Size"] == str(len(data))
        return answer

    assert read(0).content == data[:MAX_LOG_BYTES]  # one answer holds at most MAX_LOG_BYTES
    assert read(MAX_LOG_BYTES + 7).content == data[MAX_LOG_BYTES + 7 : 2 * MAX_LOG_BYTES + 7]
    assert read(len(data) - 10, attempt=1).content == data[-10:]
    assert read(len(data)).content == b""
    assert read(len(data) + 1000).content == b""  # past the end: nothing, and the size
    assert limited.reads.whole == []  # never the whole object
    assert limited.reads.ranges
    assert all(k == key and n <= MAX_LOG_BYTES for k, _, n in limited.reads.ranges)


# --- access is checked at every package fetch ---------------------------------------------


def gated(code: Path) -> wf.Workflow:
    """``first`` runs the algorithm (so the worker has it cached), ``gate`` runs it again once
    somebody gives it a value."""
    label = wf.Placeholder(
        name="label", placeholder_type=wf.PlaceholderType.STR, delay=True, default="go"
    )
    algorithm = {"name": "tool", "code_dir": code, "boot_file": "tool.py"}
    first = wf.steps.JobStep(name="first", algorithm=wf.BaseAlgorithm(**algorithm))
    gate = wf.steps.JobStep(
        name="gate",
        algorithm=wf.BaseAlgorithm(
            **algorithm, parameters=[wf.AlgorithmParameters(name="label", value=label)]
        ),
        depend_steps=[first],
    )
    return wf.Workflow(name="gated", desc="", steps=[first, gate])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("private", "no longer shared with the workspace's owner"),
        ("yanked", "yanked"),
        ("deleted", "deleted"),
        ("unlisted", "no longer shared with the workspace's owner"),
    ],
)
def test_a_revoked_algorithm_stops_the_next_step_that_needs_it(
    runtime: Runtime, tmp_path: Path, change: str, reason: str
) -> None:
    publisher, user = runtime.gallery.user("pub"), runtime.gallery.user("use")
    workflow = gated(tool_dir(tmp_path))
    if change == "unlisted":  # shared by a whitelist: the first step runs on it
        shared = {"visibility": "group", "group_users": [user.username]}
    else:
        shared = {"visibility": "public"}
    release, found = shared_import(publisher, user, workflow, **shared)
    workflow_id = found["id"]
    spec = found["spec"]
    algorithm = spec["steps"][0]["properties"]["algorithm"]
    pin = f"{algorithm['content_id']}@{algorithm['version']}"

    execution = start(user, workflow_id)
    waiting = wait_for(user, execution["id"], step_is("gate", "waiting_input"))
    assert step(waiting, "first")["status"] == "succeeded"  # fetched, cached and remembered

    if change == "private":
        changed = publisher.patch(
            f"/assets/{algorithm['content_id']}", json={"visibility": "private"}
        )
    elif change == "yanked":
        changed = publisher.patch(
            f"/assets/{algorithm['content_id']}/versions/{algorithm['version']}",
            json={"status": "yanked"},
        )
    elif change == "unlisted":
        changed = publisher.request(
            "DELETE",
            f"/assets/{algorithm['content_id']}/versions/{algorithm['version']}/whitelist",
            json={"principals": [user.username]},
        )
    else:
        gone = publisher.delete(f"/assets/{release.content_id}")
        assert gone.status_code in (200, 204), gone.text
        changed = publisher.delete(f"/assets/{algorithm['content_id']}")
    assert changed.status_code in (200, 204), changed.text

    answer = user.post(
        f"/executions/{execution['id']}/steps/gate/continue", json={"inputs": {"label": "go"}}
    )
    assert answer.status_code == 200, answer.text
    done = wait_for(user, execution["id"])
    gate = step(done, "gate")
    assert done["status"] == "failed"
    assert gate["status"] == "failed"
    assert gate["attempt"] == 1
    assert gate["error"] == f"algorithm {pin} cannot run: {reason}"


def test_an_unchanged_algorithm_runs_again_after_the_wait(runtime: Runtime, tmp_path: Path) -> None:
    """The same flow with nothing revoked: the check passes from the cache too."""
    user = runtime.gallery.user()
    workflow_id = imported(user, gated(tool_dir(tmp_path)))
    execution = start(user, workflow_id)
    wait_for(user, execution["id"], step_is("gate", "waiting_input"))
    answer = user.post(
        f"/executions/{execution['id']}/steps/gate/continue", json={"inputs": {"label": "go"}}
    )
    assert answer.status_code == 200, answer.text
    assert wait_for(user, execution["id"])["status"] == "succeeded"


# --- the pieces, without a server ---------------------------------------------------------


def tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extraction_stops_when_the_bytes_written_pass_the_limit(tmp_path: Path) -> None:
    """Whatever the check concluded from the headers, extraction counts what it writes."""
    archive = tar_gz(tmp_path / "p.tar.gz", {"a.bin": bytes(3 * MiB), "b.bin": bytes(3 * MiB)})
    limits = PackageLimits(unpacked_bytes=4 * MiB, members=10, ratio=1e9)
    tree = tmp_path / "tree"
    with pytest.raises(StepFailure, match="unpacking stopped") as caught:
        extract(archive, tree, limits, "algorithm x@1.0.0")
    assert caught.value.non_retryable
    written = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
    assert written <= 4 * MiB


def test_extraction_writes_plain_files_readable_and_not_writable_by_others(tmp_path: Path) -> None:
    archive = tar_gz(tmp_path / "p.tar.gz", {"src/main.py": b"print(1)\n"})
    limits = PackageLimits(unpacked_bytes=MiB, members=10, ratio=1e9)
    assert extract(archive, tmp_path / "tree", limits, "algorithm x@1.0.0") == 9
    main = tmp_path / "tree" / "src" / "main.py"
    assert main.read_bytes() == b"print(1)\n"
    assert main.stat().st_mode & 0o777 == 0o644


SHAS = [f"{i:x}" * 64 for i in range(1, 5)]


def unpacked(cache: CodeCache, sha: str, size: int, used: float) -> None:
    """Put a tree of ``size`` bytes last used at ``used`` into the cache, as an unpack does."""

    async def put() -> None:
        hold = await cache.hold(sha)
        try:
            tree = cache.staging(sha) / "tree"
            tree.mkdir()
            (tree / "blob").write_bytes(bytes(size))
            hold.install(tree, size)
        finally:
            hold.release()

    asyncio.run(put())
    os.utime(cache.root / sha, (used, used))
    for staging in cache.root.glob(".unpack-*"):
        staging.rmdir()


def test_the_cache_evicts_least_recently_used_first(tmp_path: Path) -> None:
    cache = CodeCache(tmp_path / "code", max_bytes=2500)
    for used, sha in enumerate(SHAS[:3]):
        unpacked(cache, sha, 1000, used + 1000.0)
    assert cache.evict() == [SHAS[0]]  # 3000 > 2500: the oldest goes
    assert sorted(p.name for p in cache.root.iterdir()) == sorted(
        [SHAS[1], SHAS[2], f"{SHAS[1]}.lock", f"{SHAS[2]}.lock"]
    )


def test_the_cache_never_evicts_a_tree_a_step_holds(tmp_path: Path) -> None:
    cache = CodeCache(tmp_path / "code", max_bytes=0)
    unpacked(cache, SHAS[0], 1000, 1000.0)  # the oldest
    unpacked(cache, SHAS[1], 1000, 2000.0)

    async def while_held() -> list[str]:
        hold = await cache.hold(SHAS[0])
        try:
            return cache.evict()
        finally:
            hold.release()

    assert asyncio.run(while_held()) == [SHAS[1]]
    assert (cache.root / SHAS[0]).is_dir()
    assert cache.evict() == [SHAS[0]]  # released: it goes too
    assert list(cache.root.iterdir()) == []


def test_the_cache_clears_what_a_dead_worker_left(tmp_path: Path) -> None:
    cache = CodeCache(tmp_path / "code", max_bytes=10 * MiB)
    cache.root.mkdir(parents=True)
    dead = cache.staging(SHAS[0])  # an unpack whose worker died: nobody holds its sha
    (dead / "package.tar.gz").write_bytes(bytes(1000))
    (cache.root / f"{SHAS[0]}.lock").touch()
    half = cache.root / f".evict-{SHAS[1]}-1234"  # an eviction cut short
    half.mkdir()

    async def with_live_unpack() -> None:
        hold = await cache.hold(SHAS[2])
        try:
            live = cache.staging(SHAS[2])
            cache.evict()
            assert live.is_dir()  # somebody is unpacking it: kept
        finally:
            hold.release()

    asyncio.run(with_live_unpack())
    assert not dead.exists() and not half.exists()
    assert f"{SHAS[0]}.lock" not in {p.name for p in cache.root.iterdir()}
