"""``gallery up`` supervises what it starts: a dead worker or Temporal server is restarted (and
one that keeps dying ends ``up`` loudly), nothing outlives ``up`` (SIGKILL included), a taken
port is one clear error, and ``/health`` says when Temporal is down. All on a real ``up``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.cli.test_cli import GALLERY, UpRun, _children, _state, gallery_up
from tests.support.server import free_port

pytestmark = pytest.mark.xdist_group("gallery-up-supervision")

T = TypeVar("T")
DEADLINE = 90.0


def poll(what: str, probe: Callable[[], T | None], deadline: float = DEADLINE) -> T:
    """``probe()`` until it returns something other than None (or False)."""
    end = time.monotonic() + deadline
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and _state(pid) not in ("Z", "gone")


def child_of(up: subprocess.Popen[bytes], marker: str) -> int | None:
    """The live child of ``up`` whose command line holds ``marker``."""
    for pid in _children(up.pid):
        if marker in _command_line(pid) and _alive(pid):
            return pid
    return None


WORKER = "sdk.cli worker"
TEMPORAL = "start-dev"


def output(run: UpRun) -> str:
    return (Path(run.env["GALLERY_DATA_DIR"]) / "up.log").read_text()


def health(run: UpRun) -> httpx.Response | None:
    try:
        return httpx.get(run.url + "/health", timeout=10)
    except httpx.HTTPError:
        return None


def healthy(run: UpRun) -> dict[str, Any] | None:
    answer = health(run)
    if answer is None or answer.status_code != 200:
        return None
    body: dict[str, Any] = answer.json()
    return body if body == {"status": "ok", "database": "ok", "temporal": "ok"} else None


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def up_in(tmp_path: Path) -> Iterator[UpRun]:
    data = tmp_path / "data"
    data.mkdir()
    with gallery_up(data) as run:
        yield run


def run_a_workflow(run: UpRun, tmp_path: Path) -> None:
    """A released two-step workflow runs to the end on the worker `up` keeps running."""
    import sdk as wf
    from tests.runner.flows import job, tool_dir

    grant = httpx.post(
        run.url + "/api/v1/auth/token",
        data={"grant_type": "password", "username": "admin", "password": run.password},
    )
    token = grant.json()["access_token"]
    out = wf.data.OutputStorage(name="out")
    code = tool_dir(tmp_path)
    first = job("first", code, parameters={"label": "a"}, out=out.join("a/"))
    second = job("second", code, inputs=[first.outputs["out"].as_input()], depends=[first])
    workflow = wf.Workflow(name="after_restart", desc="", steps=[first, second], storages=[out])
    workflow.session = wf.Session(run.url, token)
    content_id, version = workflow.release_to_gallery()
    api = httpx.Client(
        base_url=run.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    imported = api.post(
        "/workspaces/default/workflows", json={"content_id": content_id, "version": version}
    )
    assert imported.status_code == 201, imported.text
    started = api.post(f"/workflows/{imported.json()['id']}/executions", json={})
    assert started.status_code == 201, started.text

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = api.get(f"/executions/{started.json()['id']}").json()
        return execution if execution["status"] in ("succeeded", "failed", "stopped") else None

    execution = poll("the execution to finish", finished, deadline=180)
    assert execution["status"] == "succeeded", execution


def test_a_killed_worker_is_restarted_and_runs_executions(tmp_path: Path) -> None:
    with up_in(tmp_path) as run:
        worker = poll("the worker", lambda: child_of(run.process, WORKER))
        os.kill(worker, signal.SIGKILL)
        line = poll(
            "the restart line",
            lambda: re.search(
                rf"^gallery up: the worker \(pid {worker}\) was killed by SIGKILL; "
                r"restarting it now .*$",
                output(run),
                re.MULTILINE,
            ),
        )
        assert "worker.log" in line.group(0)
        again = poll("a new worker", lambda: child_of(run.process, WORKER))
        assert again != worker
        poll("/health ok", lambda: healthy(run))
        run_a_workflow(run, tmp_path)
        assert run.process.poll() is None


def test_a_killed_temporal_server_is_restarted_and_health_says_when_it_is_down(
    tmp_path: Path,
) -> None:
    with up_in(tmp_path) as run:
        poll("/health ok", lambda: healthy(run))
        server = poll("the Temporal server", lambda: child_of(run.process, TEMPORAL))
        # Stopped, not dead: `up` does not restart it, and /health must see it is not serving.
        os.kill(server, signal.SIGSTOP)
        try:

            def down() -> httpx.Response | None:
                answer = health(run)
                return answer if answer is not None and answer.status_code == 503 else None

            answer = poll("/health 503", down)
            assert answer.json() == {"status": "down", "database": "ok", "temporal": "down"}
        finally:
            os.kill(server, signal.SIGCONT)
        poll("/health ok again", lambda: healthy(run))

        os.kill(server, signal.SIGKILL)
        poll(
            "the restart line",
            lambda: re.search(
                rf"^gallery up: the Temporal dev server \(pid {server}\) was killed by SIGKILL; "
                r"restarting it now",
                output(run),
                re.MULTILINE,
            ),
        )
        again = poll("a new Temporal server", lambda: child_of(run.process, TEMPORAL))
        assert again != server
        poll("/health ok after the restart", lambda: healthy(run))


def test_killing_up_takes_its_children_with_it(tmp_path: Path) -> None:
    """SIGKILL leaves no clean-up to `up`: its children die anyway, so the next `up` on the
    same ports and data starts."""
    with up_in(tmp_path) as run:
        children = [
            poll("the worker", lambda: child_of(run.process, WORKER)),
            poll("the Temporal server", lambda: child_of(run.process, TEMPORAL)),
        ]
        run.process.send_signal(signal.SIGKILL)
        run.process.wait(timeout=30)
        for pid in children:
            poll(f"child {pid} to die", lambda pid=pid: not _alive(pid))
        temporal_port = int(run.env["GALLERY_TEMPORAL_PORT"])
        poll("the Temporal port to close", lambda: not listening(temporal_port))

        # The next `up` on the same data dir and ports comes up whole.
        data = Path(run.env["GALLERY_DATA_DIR"])
        with (data / "up-again.log").open("w") as log:
            again = subprocess.Popen(
                [GALLERY, "up"], env=run.env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                again_run = UpRun(run.env, run.url, run.password, again)

                def ready() -> dict[str, Any] | None:
                    assert again.poll() is None, (data / "up-again.log").read_text()
                    return healthy(again_run)

                poll("the second gallery up", ready)
            finally:
                again.send_signal(signal.SIGINT)
                again.wait(timeout=60)
        poll("the Temporal port to close again", lambda: not listening(temporal_port))


@pytest.mark.parametrize("which", ["GALLERY_PORT", "GALLERY_TEMPORAL_PORT"])
def test_a_taken_port_is_one_clear_error(tmp_path: Path, which: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {"GALLERY_PORT": str(free_port()), "GALLERY_TEMPORAL_PORT": str(free_port())}
        ports[which] = str(taken)
        env = {
            **os.environ,
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_CONFIG_DIR": str(tmp_path / "config"),
            **ports,
        }
        for key in ("GALLERY_DATABASE_URL", "GALLERY_TEMPORAL_ADDRESS", "GALLERY_S3_ENDPOINT"):
            env.pop(key, None)
        answer = subprocess.run(
            [GALLERY, "up"], env=env, capture_output=True, text=True, timeout=120
        )
    assert answer.returncode != 0
    assert answer.stdout == ""
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1, answer.stderr
    assert lines[0].startswith(f"error: port {taken}, needed for the "), lines[0]
    assert f"in use by pid {os.getpid()} (" in lines[0], lines[0]  # this test holds it
    assert which in lines[0]
    # Nothing was started: no Temporal server, no database.
    other = "GALLERY_TEMPORAL_PORT" if which == "GALLERY_PORT" else "GALLERY_PORT"
    assert not listening(int(ports[other]))
    assert not (tmp_path / "data" / "temporal.db").exists()
    assert not (tmp_path / "data" / "gallery.db").exists()


def test_a_worker_that_keeps_dying_ends_up_loudly(tmp_path: Path) -> None:
    with up_in(tmp_path) as run:
        server = poll("the Temporal server", lambda: child_of(run.process, TEMPORAL))
        killed: list[int] = []
        while run.process.poll() is None:
            worker = child_of(run.process, WORKER)
            if worker is not None and worker not in killed:
                os.kill(worker, signal.SIGKILL)
                killed.append(worker)
            assert len(killed) <= 5, output(run)
            time.sleep(0.05)
        assert run.process.returncode == 1, output(run)
        assert re.search(
            r"^error: the worker died 5 times within 5 minutes \(last: pid \d+ was killed by "
            r"SIGKILL\); giving up and stopping Gallery",
            output(run),
            re.MULTILINE,
        ), output(run)
        assert len(killed) == 5
        poll("the Temporal server to stop", lambda: not _alive(server))
        assert not listening(int(run.env["GALLERY_TEMPORAL_PORT"]))
