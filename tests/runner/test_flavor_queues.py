"""Resource flavors map to task queues: a step whose flavor is mapped runs only on a worker that
serves that queue (`gallery worker --steps-only --queue Q`), other steps on the default one."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import sdk as wf
from tests.runner.flows import imported, job, start, tool_dir
from tests.support.databases import sqlite_url
from tests.support.gallery import fast_settings, running_gallery
from tests.support.runner import TemporalServer, running_worker, step, wait_for


def test_a_mapped_flavor_waits_for_a_worker_on_its_queue(
    temporal: TemporalServer, tmp_path: Path
) -> None:
    queue = f"gpu-{uuid.uuid4().hex[:6]}"
    settings = fast_settings(
        data_dir=tmp_path,
        database_url=sqlite_url(tmp_path),
        temporal_address=temporal.address,
        task_queue=f"main-{uuid.uuid4().hex[:6]}",
        flavor_queues={"gpu.large": queue},
    )
    code = tool_dir(tmp_path)
    plain = job("plain", code, parameters={"label": "cpu"})
    gpu = job("gpu", code, parameters={"label": "gpu"}, depends=[plain])
    gpu.spec = wf.steps.JobSpec(resource=wf.steps.JobResource(flavor="gpu.large"))
    # The manual's JSON form of a flavor routes by its flavor_id.
    pooled = job("pooled", code, parameters={"label": "gpu"}, depends=[plain])
    pooled.spec = wf.steps.JobSpec(
        resource=wf.steps.JobResource(flavor={"flavor_id": "gpu.large", "pool_id": "pool-1"})
    )
    with running_gallery(settings, "sqlite") as gallery, running_worker(settings):
        client = gallery.user()
        workflow_id = imported(
            client, wf.Workflow(name="flavors", desc="", steps=[plain, gpu, pooled])
        )
        execution = start(client, workflow_id)
        waiting = wait_for(
            client, execution["id"], lambda e: step(e, "plain")["status"] == "succeeded"
        )
        time.sleep(3)  # the default worker does not serve the gpu queue: nothing picks it up
        now = client.get(f"/executions/{execution['id']}").json()
        assert step(now, "gpu")["status"] == "pending"
        assert step(now, "pooled")["status"] == "pending"
        assert waiting["status"] == "running"
        with running_worker(settings, "--steps-only", "--queue", queue):
            done = wait_for(client, execution["id"])
    assert done["status"] == "succeeded", done
    assert step(done, "gpu")["attempt"] == 1
    assert step(done, "pooled")["status"] == "succeeded"
