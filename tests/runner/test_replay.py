"""The execution workflow runs without Temporal's sandbox (it costs ~30 ms per run and more per
task), so determinism is checked here instead: real histories — conditions, skips, a selector,
a failure retried by hand, delayed input continued — replay without a nondeterminism error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import sdk as wf
from runner.workflow import ExecutionWorkflow
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.runner.test_semantics import branching, delayed_flow
from tests.support.runner import wait_for


async def replay(address: str, execution_ids: list[str]) -> int:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    replayer = Replayer(workflows=[ExecutionWorkflow], data_converter=pydantic_data_converter)
    replayed = 0
    for execution_id in execution_ids:
        history = await client.get_workflow_handle(f"execution-{execution_id}").fetch_history()
        await replayer.replay_workflow(history)  # raises on nondeterminism
        replayed += 1
    return replayed


def test_recorded_histories_replay_deterministically(runtime: Runtime, tmp_path: Path) -> None:
    client: httpx.Client = runtime.gallery.user()
    code = tool_dir(tmp_path)
    ids = []

    branch = imported(client, branching(code))
    ids.append(wait_for(client, start(client, branch, parameters={"score": 0.1})["id"])["id"])

    gated = imported(client, delayed_flow(code))
    waiting = start(client, gated)
    wait_for(client, waiting["id"], lambda e: e["status"] == "waiting_input")
    client.post(
        f"/executions/{waiting['id']}/steps/gate/continue", json={"inputs": {"label": "no"}}
    ).raise_for_status()
    ids.append(wait_for(client, waiting["id"])["id"])

    fail = wf.Placeholder(name="fail", placeholder_type=wf.PlaceholderType.BOOL, default=True)
    flaky = imported(
        client, wf.Workflow(name="f", desc="", steps=[job("x", code, parameters={"fail": fail})])
    )
    failed = start(client, flaky)
    wait_for(client, failed["id"], lambda e: e["status"] == "failed")
    client.post(
        f"/executions/{failed['id']}/steps/x/retry", json={"parameters": {"fail": False}}
    ).raise_for_status()
    done = wait_for(client, failed["id"])
    assert done["status"] == "succeeded"
    ids.append(done["id"])

    assert asyncio.run(replay(runtime.temporal.address, ids)) == 3
