"""The ``gallery`` command end to end: ``up``, admin verbs, login and search, as a user would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from tests.support.server import free_port, wait_until_healthy

GALLERY = str(Path(sys.executable).with_name("gallery"))
# One `gallery up` for the module, on one xdist worker (`--dist loadgroup`), rather than one per
# worker started and stopped as the module's tests are shared out.
pytestmark = pytest.mark.xdist_group("gallery-up")


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GALLERY, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@contextlib.contextmanager
def gallery_up(
    data: Path, stop_with: int = signal.SIGINT, *, seed_demo: bool = False
) -> Iterator[UpRun]:
    """``gallery up`` on a fresh data dir until the block ends, then ``stop_with`` (the demo
    is seeded only when asked: most tests want an empty catalog)."""
    port = free_port()
    env = {
        **os.environ,
        "GALLERY_SEED_DEMO": "1" if seed_demo else "0",
        "GALLERY_DATA_DIR": str(data),
        "GALLERY_PORT": str(port),
        "GALLERY_TEMPORAL_PORT": str(free_port()),
        "GALLERY_CONFIG_DIR": str(data / "config"),
        "GALLERY_PASSWORD_MEMORY_KIB": "1024",
        "GALLERY_PASSWORD_TIME_COST": "1",
    }
    env.pop("GALLERY_DATABASE_URL", None)
    env.pop("GALLERY_TEMPORAL_ADDRESS", None)
    env.pop("GALLERY_S3_ENDPOINT", None)
    log = (data / "up.log").open("w+")
    process = subprocess.Popen([GALLERY, "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, data / "up.log")
        log.seek(0)
        output = log.read()
        found = re.search(r"admin / (\S+)", output)
        assert found, output
        assert f"gallery login --url {url} --username admin" in output
        assert (data / "initial-admin-password").read_text().strip() == found.group(1)
        yield UpRun(env, url, found.group(1), process)
    finally:
        process.send_signal(stop_with)
        process.wait(timeout=30)
        log.close()
    # Stopping `gallery up` stops the Temporal dev server it started.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(env["GALLERY_TEMPORAL_PORT"]))) != 0


@dataclass
class UpRun:
    env: dict[str, str]
    url: str
    password: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], str, str]]:
    """``gallery up`` on a fresh data dir; yields (env, url, first admin password)."""
    with gallery_up(tmp_path_factory.mktemp("up")) as run:
        yield run.env, run.url, run.password


def test_terminating_up_stops_its_worker_and_temporal(tmp_path: Path) -> None:
    """SIGTERM (a service manager's stop) ends everything `up` started, as Ctrl+C does."""
    with gallery_up(tmp_path, stop_with=signal.SIGTERM) as run:
        children = _children(run.process.pid)
        assert children, "gallery up started no child processes"
    for pid in children:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
            assert time.monotonic() < deadline, f"child {pid} outlived gallery up"
            time.sleep(0.1)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_up_uses_the_embedded_default(up: tuple[dict[str, str], str, str]) -> None:
    env, url, _ = up
    data = Path(env["GALLERY_DATA_DIR"])
    assert (data / "gallery.db").exists()
    assert httpx.get(url + "/schema/openapi.json").json()["info"]["title"] == "Gallery"


def test_up_runs_the_embedded_temporal_dev_server(up: tuple[dict[str, str], str, str]) -> None:
    env, _, _ = up
    port = int(env["GALLERY_TEMPORAL_PORT"])

    async def namespace() -> str:
        client = await Client.connect(f"127.0.0.1:{port}")
        answer = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace="default")
        )
        return str(answer.namespace_info.name)

    assert asyncio.run(namespace()) == "default"
    assert (Path(env["GALLERY_DATA_DIR"]) / "temporal.db").exists()


def test_up_runs_executions_with_its_own_worker(
    up: tuple[dict[str, str], str, str], tmp_path: Path
) -> None:
    """Everything embedded: a released workflow runs to the end on the worker `up` started."""
    import sdk as wf
    from tests.runner.flows import job, tool_dir

    env, url, password = up
    grant = httpx.post(
        url + "/api/v1/auth/token",
        data={"grant_type": "password", "username": "admin", "password": password},
    )
    token = grant.json()["access_token"]
    out = wf.data.OutputStorage(name="out")
    code = tool_dir(tmp_path)
    first = job("first", code, parameters={"label": "a"}, out=out.join("a/"))
    second = job("second", code, inputs=[first.outputs["out"].as_input()], depends=[first])
    workflow = wf.Workflow(name="embedded", desc="", steps=[first, second], storages=[out])
    workflow.session = wf.Session(url, token)
    content_id, version = workflow.release_to_gallery()
    api = httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"})
    imported = api.post(
        "/workspaces/default/workflows", json={"content_id": content_id, "version": version}
    )
    assert imported.status_code == 201, imported.text
    started = api.post(f"/workflows/{imported.json()['id']}/executions", json={})
    assert started.status_code == 201, started.text
    deadline = time.monotonic() + 120
    while (execution := api.get(f"/executions/{started.json()['id']}").json())["status"] not in (
        "succeeded",
        "failed",
        "stopped",
    ):
        assert time.monotonic() < deadline, execution
        time.sleep(0.2)
    assert execution["status"] == "succeeded", execution
    assert "polling" in (Path(env["GALLERY_DATA_DIR"]) / "worker.log").read_text()


def test_admin_verbs_login_and_search(up: tuple[dict[str, str], str, str]) -> None:
    env, url, password = up
    admin = run(env, "login", "--url", url, "-u", "admin", "--password-stdin", stdin=password)
    assert admin.returncode == 0 and "as admin" in admin.stdout, admin.stderr
    made = run(env, "user", "create", "carol", "--password-stdin", stdin="carol-secret-1\n")
    assert made.returncode == 0, made.stderr
    assert "created user carol" in made.stdout

    again = run(env, "user", "create", "carol", "--password", "whatever-123")
    assert again.returncode == 1
    assert again.stderr.strip() == "error: user 'carol' already exists"

    bad = run(env, "user", "create", "9lives", "--password", "whatever-123")
    assert (
        bad.returncode == 1 and "username" in bad.stderr and "starting with a letter" in bad.stderr
    )

    assert run(env, "group", "create", "vision").returncode == 0
    added = run(env, "group", "add", "vision", "carol")
    assert added.returncode == 0 and "vision: carol" in added.stdout
    missing = run(env, "group", "add", "vision", "nobody")
    assert missing.returncode == 1 and "nobody" in missing.stderr

    token = run(env, "token", "create", "--user", "carol").stdout.strip()
    assert token.startswith("gly_")
    me = httpx.get(url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "carol", "is_admin": False, "groups": ["vision"]}

    wrong = run(env, "login", "--url", url, "-u", "carol", "--password", "nope-nope")
    assert wrong.returncode == 1 and "wrong username or password" in wrong.stderr

    login = run(
        env, "login", "--url", url, "-u", "carol", "--password-stdin", stdin="carol-secret-1\n"
    )
    assert login.returncode == 0, login.stderr
    credentials = Path(env["GALLERY_CONFIG_DIR"]) / "credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600

    headers = {"Authorization": f"Bearer {token}"}
    asset = httpx.post(
        url + "/api/v1/assets",
        headers=headers,
        json={
            "kind": "workflow",
            "name": "digits_pipeline",
            "title": "Digits",
            "visibility": "public",
        },
    ).json()
    found = run(env, "search", "digits")
    assert found.returncode == 0, found.stderr
    assert asset["content_id"] in found.stdout and "carol/digits_pipeline" in found.stdout
    assert "1 of 1 assets" in found.stdout


def test_unknown_command_is_one_line_and_nonzero(up: tuple[dict[str, str], str, str]) -> None:
    env, _, _ = up
    answer = run(env, "frobnicate")
    assert answer.returncode == 2
    assert answer.stderr.strip() == "error: unknown command 'frobnicate'; see 'gallery --help'"


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GALLERY_CONFIG_DIR": str(tmp_path),
        "GALLERY_URL": f"http://127.0.0.1:{free_port()}",
    }
    answer = run(env, "search", "x")
    assert answer.returncode == 1
    assert answer.stderr.startswith("error: cannot reach Gallery at http://127.0.0.1:")
