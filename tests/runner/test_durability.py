"""Durability (issue 4 "must hold"): a worker killed mid-step, and the API and the Temporal dev
server restarted mid-run, still end with a finished execution and complete records.

Steps run at least once: a step whose worker died is started again from scratch.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sdk as wf
from registry.settings import Settings
from tests.conftest import BACKENDS, require_postgres
from tests.runner.flows import imported, job, start, tool_dir
from tests.runner.test_semantics import wait_gone, wait_pid
from tests.support.databases import postgres_database, sqlite_url
from tests.support.gallery import API, fast_settings, running_gallery
from tests.support.runner import (
    TemporalServer,
    running_worker,
    start_worker,
    step,
    temporal_server,
    wait_for,
)
from tests.support.server import serve
from web.app import create_app


@pytest.fixture(params=BACKENDS)
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, temporal: TemporalServer
) -> Iterator[Settings]:
    common = {
        "data_dir": tmp_path / "data",
        "temporal_address": temporal.address,
        "task_queue": f"durable-{uuid.uuid4().hex[:8]}",
    }
    if request.param == "sqlite":
        yield fast_settings(database_url=sqlite_url(tmp_path / "data"), **common)
        return
    require_postgres()
    with postgres_database() as url:
        yield fast_settings(database_url=url, **common)


def sleeper(code: Path, pidfile: Path, seconds: float) -> wf.Workflow:
    out = wf.data.OutputStorage(name="out")
    slow = job(
        "slow",
        code,
        parameters={"sleep": seconds, "pidfile": str(pidfile), "label": "slept"},
        out=out.join("slow/"),
    )
    after = job("after", code, parameters={"label": "after"}, depends=[slow])
    return wf.Workflow(name="sleeper", desc="", steps=[slow, after], storages=[out])


def test_a_killed_worker_loses_nothing_the_step_runs_again(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    pidfile = tmp_path / "pid"
    with running_gallery(settings, "durable") as gallery:
        client = gallery.user()
        workflow_id = imported(client, sleeper(tool_dir(tmp_path), pidfile, 4.0))
        first = start_worker(settings)
        try:
            execution = start(client, workflow_id)
            pid = wait_pid(pidfile)
            first.kill()
        finally:
            first.stop()
        wait_gone(pid)  # the job died with its worker
        with running_worker(settings):
            done = wait_for(client, execution["id"], timeout=180)
        assert done["status"] == "succeeded", done
        slow = step(done, "slow")
        assert slow["attempt"] == 2, slow
        assert slow["finished_at"] is not None and slow["error"] is None
        assert step(done, "after")["status"] == "succeeded"
        assert done["finished_at"] is not None
        log = client.get(f"/executions/{execution['id']}/steps/slow/logs")
        assert "attempt 2" in log.text and "tool: done" in log.text


def test_restarting_the_api_and_temporal_mid_run_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pidfile = tmp_path / "pid"
    with temporal_server(tmp_path) as temporal:
        settings = fast_settings(
            data_dir=data,
            database_url=sqlite_url(data),
            temporal_address=temporal.address,
            task_queue="restart",
        )
        with running_worker(settings):
            with running_gallery(settings, "sqlite") as gallery:
                client = gallery.user()
                token = client.headers["Authorization"]
                workflow_id = imported(client, sleeper(tool_dir(tmp_path), pidfile, 6.0))
                execution = start(client, workflow_id)
                wait_pid(pidfile)
            # The API is down; now the Temporal server goes down and comes back.
            temporal.restart()
            with serve(create_app(settings)) as base_url:
                client = httpx.Client(
                    base_url=base_url + API, headers={"Authorization": token}, timeout=60
                )
                done = wait_for(client, execution["id"], timeout=180)
    assert done["status"] == "succeeded", done
    assert [s["status"] for s in done["steps"]] == ["succeeded", "succeeded"]
    assert all(s["finished_at"] for s in done["steps"])
