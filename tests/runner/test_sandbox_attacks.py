"""Hostile steps: a published algorithm that tries to reach what is not its own.

Each attack is a real step, run by a real worker in the real sandbox, that *tries* the attack and
reports what it got (``RESULT {...}`` lines in its log). Every test here fails if the protection
it names goes: the canaries are real (the worker's own environment holds the server's signing
key and database URL, the data directory holds the database), and the positive controls (a
network flavor reaches the network, an unlimited step forks freely) show the probes work.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from tests.runner.flows import imported, start
from tests.support.databases import sqlite_url
from tests.support.gallery import Gallery, fast_settings, running_gallery
from tests.support.runner import TemporalServer, WorkerProcess, running_worker, step, wait_for

ATTACK = r'''
"""One hostile probe per --attack; prints RESULT {json} lines and exits 0 unless told."""
import argparse, errno, json, os, pathlib, signal, socket, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--attack")
p.add_argument("--target", default="")
p.add_argument("--out", default=None)
p.add_argument("--metrics", default=None)
a = p.parse_args()


def result(**values):
    print("RESULT " + json.dumps(values), flush=True)


def try_read(path):
    try:
        return {"read": pathlib.Path(path).read_bytes()[:4096].decode("latin-1")}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


if a.attack == "read":
    result(**try_read(a.target))
elif a.attack == "environ":
    seen = {"own": dict(os.environ)}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            seen[pid] = try_read(f"/proc/{pid}/environ")
    pids = sorted(int(x) for x in os.listdir("/proc") if x.isdigit())
    result(environ=seen, uid=os.getuid(), pids=pids)
elif a.attack == "listdir":
    try:
        result(entries=os.listdir(a.target))
    except Exception as exc:
        result(error=f"{type(exc).__name__}: {exc}")
elif a.attack == "connect":
    host, port = a.target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        result(connected=True)
    except Exception as exc:
        result(connected=False, error=f"{type(exc).__name__}: {exc}")
elif a.attack == "write":
    try:
        pathlib.Path(a.target).write_text("owned")
        result(wrote=True)
    except Exception as exc:
        result(wrote=False, error=f"{type(exc).__name__}: {exc}")
elif a.attack == "kill":
    try:
        os.kill(int(a.target), signal.SIGKILL)
        result(killed=True)
    except Exception as exc:
        result(killed=False, error=f"{type(exc).__name__}: {exc}")
elif a.attack == "fork":
    children = []
    for _ in range(int(a.target)):
        try:
            children.append(subprocess.Popen(["sleep", "30"]))
        except Exception as exc:
            result(error=f"{type(exc).__name__}: {exc}")
            break
    result(started=len(children))
    for child in children:
        child.kill()
        child.wait()
elif a.attack == "memory":
    try:
        block = bytearray(int(a.target) * 1024 * 1024)
        result(allocated=len(block) // (1024 * 1024))
    except MemoryError:
        result(allocated=0, error="MemoryError")
elif a.attack == "bigfile":
    with open("/tmp/big", "wb") as handle:
        chunk = b"x" * (1024 * 1024)
        for n in range(int(a.target)):
            handle.write(chunk)
            handle.flush()
    result(written=int(a.target))
elif a.attack == "links":
    out = pathlib.Path(a.out)
    os.symlink(a.target, out / "leak.txt")
    os.symlink("/etc/hostname", out / "hostname.txt")
    os.mkfifo(out / "pipe")
    (out / "plain.txt").write_text("mine")
    os.symlink(a.target, pathlib.Path(a.metrics) / "metrics.json")
    result(planted=True)
elif a.attack == "poison":
    me = pathlib.Path(sys.argv[0])
    mark = "#" + " poi" + "soned"  # never written out whole in this file
    before = me.read_text()
    try:
        with open(me, "a") as handle:
            handle.write("\n" + mark + "\n")
        result(appended=True, marked=mark in me.read_text())
    except Exception as exc:
        result(appended=False, error=f"{type(exc).__name__}: {exc}")
    result(clean=mark not in before)
elif a.attack == "sleep":
    pathlib.Path("canary.txt").write_text("secret-of-the-other-step")
    print("sleeping", flush=True)
    time.sleep(float(a.target))
'''


@dataclass
class Rig:
    gallery: Gallery
    worker: WorkerProcess
    code: Path
    client: httpx.Client


@pytest.fixture(scope="module")
def rig(temporal: TemporalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """A Gallery (SQLite) and its worker, with a tight flavor and a network flavor."""
    data_dir = tmp_path_factory.mktemp("attacks")
    settings = fast_settings(
        data_dir=data_dir,
        database_url=sqlite_url(data_dir),
        temporal_address=temporal.address,
        task_queue=f"attacks-{uuid.uuid4().hex[:8]}",
        flavors={
            "tight": {"processes": 24, "memory_mb": 512, "file_mb": 4},
            "online": {"network": True},
        },
    )
    code = data_dir.parent / f"attack-code-{uuid.uuid4().hex[:6]}"
    code.mkdir()
    (code / "attack.py").write_text(textwrap.dedent(ATTACK))
    with running_gallery(settings, "sqlite") as gallery, running_worker(settings) as worker:
        yield Rig(gallery, worker, code, gallery.user("attacker"))


def attack(
    rig: Rig,
    kind: str,
    target: str = "",
    *,
    flavor: str | None = None,
    outputs: bool = False,
    wait: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one probe as a one-step workflow; the execution and the step's RESULT lines."""
    step_ = wf.steps.JobStep(
        name="probe",
        algorithm=wf.BaseAlgorithm(
            name="attack",
            code_dir=rig.code,
            boot_file="attack.py",
            parameters=[
                wf.AlgorithmParameters(name="attack", value=kind),
                wf.AlgorithmParameters(name="target", value=target),
            ],
        ),
        outputs=[
            wf.steps.JobOutput(name="out"),
            wf.steps.JobOutput(
                name="metrics", metrics_config=wf.data.MetricsConfig(metric_files="m/")
            ),
        ]
        if outputs
        else [],
    )
    if flavor is not None:
        step_.spec = wf.steps.JobSpec(resource=wf.steps.JobResource(flavor=flavor))
    name = f"{kind}_{uuid.uuid4().hex[:6]}"
    workflow_id = imported(rig.client, wf.Workflow(name=name, desc="", steps=[step_]), name)
    execution = start(rig.client, workflow_id)
    if not wait:
        return execution, []
    done = wait_for(rig.client, execution["id"], timeout=120)
    return done, results(rig.client, done["id"])


def results(client: httpx.Client, execution_id: str) -> list[dict[str, Any]]:
    log = client.get(f"/executions/{execution_id}/steps/probe/logs")
    assert log.status_code == 200, log.text
    return [
        json.loads(line[len("RESULT ") :])
        for line in log.text.splitlines()
        if line.startswith("RESULT ")
    ]


def only(found: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(found) == 1, found
    return found[0]


def test_a_step_cannot_read_the_signing_key_or_the_database(rig: Rig) -> None:
    data_dir = rig.gallery.settings.data_dir
    (data_dir / "secret.key").write_text("key-that-must-not-leak")
    for target in (data_dir / "secret.key", data_dir / "gallery.db"):
        assert target.exists()
        execution, found = attack(rig, "read", str(target))
        assert execution["status"] == "succeeded", execution
        assert "read" not in only(found), found
        assert "No such file" in only(found)["error"]
    # The data directory itself is not in the sandbox at all.
    _, found = attack(rig, "listdir", str(data_dir))
    assert "entries" not in only(found) and "No such file" in only(found)["error"]


def test_a_step_sees_no_secret_in_any_environment(rig: Rig) -> None:
    worker_env = (Path("/proc") / str(rig.worker.process.pid) / "environ").read_bytes()
    secret = rig.gallery.settings.secret_key
    assert secret and secret.encode() in worker_env  # the canary is really there to steal
    _, found = attack(rig, "environ")
    seen = only(found)
    everything = json.dumps(seen["environ"])
    assert secret not in everything
    assert "GALLERY_DATABASE_URL" not in everything and "GALLERY_SECRET_KEY" not in everything
    assert sorted(seen["environ"]["own"]) == sorted(
        [
            "PATH",
            "PWD",
            "LANG",
            "HOME",
            "TMPDIR",
            "PYTHONUNBUFFERED",
            "GALLERY_EXECUTION_ID",
            "GALLERY_STEP",
            "GALLERY_ATTEMPT",
        ]
    )
    # Its own PID namespace (a handful of pids, the worker's not among them), and not root.
    assert max(seen["pids"]) < 10, seen["pids"]
    assert seen["uid"] != 0


def test_a_step_cannot_kill_its_worker(rig: Rig) -> None:
    execution, found = attack(rig, "kill", str(rig.worker.process.pid))
    assert only(found)["killed"] is False, found
    assert rig.worker.process.poll() is None
    assert execution["status"] == "succeeded"


def test_a_step_cannot_see_another_executions_directory(rig: Rig) -> None:
    sleeper, _ = attack(rig, "sleep", "60", wait=False)
    work = rig.gallery.settings.data_dir / "work"
    deadline = time.monotonic() + 60
    while not list(work.glob("probe-*/job/code/canary.txt")):
        assert time.monotonic() < deadline, "the sleeping step never started"
        time.sleep(0.2)
    other = next(work.glob("probe-*/job/code/canary.txt"))
    try:
        _, found = attack(rig, "read", str(other))
        assert "read" not in only(found) and "No such file" in only(found)["error"]
        _, found = attack(rig, "listdir", str(work))
        assert "No such file" in only(found)["error"]
        _, found = attack(rig, "listdir", "/job/..")
        assert "probe" not in json.dumps(only(found))
    finally:
        rig.client.post(f"/executions/{sleeper['id']}/stop")
        wait_for(rig.client, sleeper["id"], timeout=60)


def _listening_port() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    return server, server.getsockname()[1]


def test_a_step_has_no_network_unless_its_flavor_allows_it(rig: Rig) -> None:
    server, port = _listening_port()
    api_port = httpx.URL(rig.gallery.base_url).port
    try:
        for target in (f"127.0.0.1:{port}", f"127.0.0.1:{api_port}", "127.0.0.1:5432"):
            _, found = attack(rig, "connect", target)
            assert only(found)["connected"] is False, (target, found)
        # The control: a flavor with network reaches the same listener.
        _, found = attack(rig, "connect", f"127.0.0.1:{port}", flavor="online")
        assert only(found)["connected"] is True, found
    finally:
        server.close()


def test_the_system_is_read_only(rig: Rig) -> None:
    for target in ("/usr/lib/owned", "/etc/owned", f"{os.path.dirname(os.__file__)}/owned.py"):
        _, found = attack(rig, "write", target)
        assert only(found)["wrote"] is False, (target, found)
    assert not Path("/etc/owned").exists()
    _, found = attack(rig, "read", "/etc/shadow")
    assert "read" not in only(found)


def test_process_memory_and_file_limits_hold(rig: Rig) -> None:
    # Controls first: without the tight flavor the same probes get what they ask for.
    _, found = attack(rig, "fork", "40")
    assert only(found)["started"] == 40
    _, found = attack(rig, "memory", "768")
    assert only(found)["allocated"] == 768
    _, found = attack(rig, "fork", "40", flavor="tight")
    assert found[-1]["started"] < 24, found
    _, found = attack(rig, "memory", "768", flavor="tight")
    assert only(found)["allocated"] == 0
    execution, found = attack(rig, "bigfile", "16", flavor="tight")
    assert execution["status"] == "failed" and found == []  # killed at the 4 MiB file limit
    execution, found = attack(rig, "bigfile", "16")
    assert execution["status"] == "succeeded" and only(found)["written"] == 16


def test_links_and_fifos_in_outputs_are_not_followed(rig: Rig) -> None:
    secret = rig.gallery.settings.data_dir / "secret.key"
    secret.write_text("key-that-must-not-leak")
    execution, found = attack(rig, "links", str(secret), outputs=True)
    assert only(found)["planted"] is True
    # The metrics "file" is a link: refused as missing rather than read through.
    assert execution["status"] == "failed", execution
    assert "wrote no metrics.json" in step(execution, "probe")["error"]
    blobs = rig.gallery.settings.data_dir / "blobs" / "objects"
    stored = b"".join(p.read_bytes() for p in blobs.rglob("*") if p.is_file())
    assert b"key-that-must-not-leak" not in stored


def test_a_step_cannot_change_the_cached_code_other_steps_run(rig: Rig) -> None:
    _, found = attack(rig, "poison")
    first = {k: v for r in found for k, v in r.items()}
    assert first["clean"] is True
    # It may change its own copy, or not at all, but the next run starts from clean code.
    _, found = attack(rig, "poison")
    again = {k: v for r in found for k, v in r.items()}
    assert again["clean"] is True, found
