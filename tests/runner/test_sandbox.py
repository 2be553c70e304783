"""The step sandbox on its own (runner/sandbox.py), and the worker's answer where it cannot run.

The attacks through a real worker are in test_sandbox_attacks.py; here: the mode is chosen and
said, a worker without bwrap refuses steps unless told otherwise, and the user-namespace mode
(a worker that is not root) really runs a job as an unprivileged user.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

import sdk as wf
from registry.settings import Settings, StepLimits
from runner.sandbox import PATH, Placement, Sandbox, build_skeleton
from tests.runner.flows import imported, job, start, tool_dir
from tests.support.databases import sqlite_url
from tests.support.gallery import fast_settings, running_gallery
from tests.support.runner import TemporalServer, running_worker, step, wait_for

ROOT = os.geteuid() == 0


def run_in(
    sandbox: Sandbox,
    script: str,
    tmp_path: Path,
    *,
    as_user: int | None = None,
    owner: int | None = None,
) -> str:
    job_dir = tmp_path / f"job-{uuid.uuid4().hex[:6]}"
    (job_dir / "tmp").mkdir(parents=True)
    if owner is not None:
        os.chown(job_dir, owner, owner)
        os.chown(job_dir / "tmp", owner, owner)
    place = Placement(job_dir, Path("/job"))
    with sandbox.claim() as uid:
        sandbox.prepare(place, uid, [job_dir, job_dir / "tmp"])
        argv = sandbox.command(
            ["/bin/sh", "-c", script],
            place=place,
            limits=StepLimits(),
            env={"PATH": PATH},
            uid=uid,
            timeout_seconds=30,
        )
        if as_user is not None:
            argv = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *argv]
        done = subprocess.run(argv, capture_output=True, env={"PATH": PATH}, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_the_mode_is_chosen_and_said(tmp_path: Path) -> None:
    sandbox = Sandbox.from_settings(Settings(data_dir=tmp_path))
    assert sandbox.problem is None
    assert sandbox.mode == ("root" if ROOT else "userns")
    assert "sandboxed" in sandbox.describe()
    out = run_in(sandbox, "id -u; echo $PWD; ls /", tmp_path)
    uid, cwd, *listing = out.split()
    assert cwd == "/job"
    assert int(uid) != 0
    assert str(tmp_path).split("/")[1] not in listing or tmp_path.parts[1] == "tmp"


def test_without_bwrap_steps_are_refused_unless_unsafe_is_set(tmp_path: Path) -> None:
    missing = tmp_path / "no-bwrap"
    refusing = Sandbox.from_settings(Settings(data_dir=tmp_path, sandbox_bwrap=missing))
    assert refusing.mode == "none" and refusing.problem is not None
    assert "GALLERY_UNSAFE_NO_SANDBOX=1" in refusing.describe()
    assert str(missing) in refusing.describe()
    unsafe = Sandbox.from_settings(
        Settings(data_dir=tmp_path, sandbox_bwrap=missing, unsafe_no_sandbox=True)
    )
    assert unsafe.mode == "none" and unsafe.problem is None
    assert "UNSANDBOXED" in unsafe.describe()
    # The switch changes nothing where the sandbox works.
    assert Sandbox.from_settings(Settings(data_dir=tmp_path, unsafe_no_sandbox=True)).enabled


def test_a_worker_without_bwrap_refuses_steps_and_says_why(
    temporal: TemporalServer, tmp_path: Path
) -> None:
    common = {
        "data_dir": tmp_path,
        "database_url": sqlite_url(tmp_path),
        "temporal_address": temporal.address,
        "task_queue": f"nobwrap-{uuid.uuid4().hex[:6]}",
        "sandbox_bwrap": tmp_path / "no-bwrap",
    }
    settings = fast_settings(**common)
    flow = wf.Workflow(name="plain", desc="", steps=[job("only", tool_dir(tmp_path))])
    with running_gallery(settings, "sqlite") as gallery:
        client = gallery.user()
        workflow_id = imported(client, flow)
        with running_worker(settings) as worker:
            assert b"steps are REFUSED" in worker.log.read_bytes()
            refused = wait_for(client, start(client, workflow_id)["id"])
        assert refused["status"] == "failed"
        error = step(refused, "only")["error"]
        assert "cannot be sandboxed" in error and "GALLERY_UNSAFE_NO_SANDBOX=1" in error
        assert step(refused, "only")["attempt"] == 1  # not retried: it could not change
        unsafe = fast_settings(**common, unsafe_no_sandbox=True)
        with running_worker(unsafe):
            done = wait_for(client, start(client, workflow_id)["id"])
        assert done["status"] == "succeeded", done
        log = client.get(f"/executions/{done['id']}/steps/only/logs").text
        assert "UNSANDBOXED" in log.splitlines()[0]


@pytest.mark.skipif(not ROOT or shutil.which("setpriv") is None, reason="needs root to switch")
def test_the_user_namespace_mode_runs_a_job_as_an_unprivileged_user() -> None:
    """What a worker that is not root gets: bwrap in a user namespace, nested ones disabled.
    (Run here as nobody, in a directory nobody can reach; just a shell, so no Python.)"""
    nobody = 65534
    base = Path(tempfile.mkdtemp(prefix="userns-", dir="/tmp"))
    try:
        base.chmod(0o755)
        found = Sandbox.from_settings(Settings(data_dir=base / "data"))
        assert found.bwrap is not None and found.prlimit is not None
        sandbox = Sandbox(
            "userns",
            found.bwrap,
            None,
            found.prlimit,
            skeleton=build_skeleton(base / "skeleton", ()),
            hidden=found.hidden,
        )
        secret = base / "data" / "secret.key"
        secret.write_text("root's")
        work = base / "work"
        work.mkdir()
        os.chown(work, nobody, nobody)
        out = run_in(
            sandbox,
            "id -u; cat /job/../data/secret.key 2>&1; unshare --user true 2>&1 || echo no-userns",
            work,
            as_user=nobody,
            owner=nobody,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert out.splitlines()[0] == "1000"  # the sandbox's user, mapped to nobody outside
    assert "no-userns" in out  # nested user namespaces are refused
    assert "root's" not in out


@pytest.mark.skipif(not ROOT, reason="the bound tree is made by root here")
def test_a_python_under_tmp_stays_visible_over_the_steps_own_tmp(tmp_path: Path) -> None:
    """The step's /tmp covers the host's; an interpreter or virtual environment that lives
    under /tmp (a checkout there) is bound again on top, readable, and nothing else is."""
    fake = Path(tempfile.mkdtemp(prefix="gallery-venv-", dir="/tmp"))
    fake.chmod(0o755)  # as a virtual environment is
    try:
        (fake / "bin").mkdir()
        tool = fake / "bin" / "tool"
        tool.write_text("#!/bin/sh\necho tool ran\n")
        tool.chmod(0o755)
        (fake.parent / f"{fake.name}-beside").mkdir()  # not bound: must not show
        base = Sandbox.from_settings(Settings(data_dir=tmp_path / "data"))
        if not base.enabled:
            pytest.skip(base.describe())
        sandbox = dataclasses.replace(base, python=(*base.python, fake), _boxes={})
        out = run_in(sandbox, f"{tool}; ls /tmp; touch /tmp/mine && echo writable", tmp_path)
        lines = out.split()
        assert "tool ran" in out and "writable" in out
        assert fake.name in lines and f"{fake.name}-beside" not in lines
    finally:
        shutil.rmtree(fake, ignore_errors=True)
        shutil.rmtree(fake.parent / f"{fake.name}-beside", ignore_errors=True)
