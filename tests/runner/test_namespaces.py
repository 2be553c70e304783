"""Object-store paths belong to workspaces (DESIGN.md §2): a workflow reads and writes only under
``/<owner>/<workspace>/``. The registry refuses other paths at configuration, start, continue and
retry with a 422 naming the placeholder or storage, and the worker refuses them again on its own
(a run started behind the registry's back gets nowhere either)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import sdk as wf
from sdk import spec as ir
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.support.runner import step, wait_for

PROBLEM = "application/problem+json"


def field_error(answer: httpx.Response) -> tuple[str, str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    first = answer.json()["errors"][0]
    return first["field"], first["rule"]


def space_of(client: httpx.Client) -> str:
    workspaces = client.get("/workspaces").json()
    return str(next(w for w in workspaces if w["name"] == "default")["storage"])


def paths_flow(code: Path) -> wf.Workflow:
    """``dest`` (an output path), ``data`` (an input path, by default the whole bucket as a
    careless author left it) and ``late`` (a delayed input path, asked for by the last step)."""
    dest = wf.Placeholder(name="dest", placeholder_type=wf.PlaceholderType.STR)
    data = wf.data.OBSPlaceholder(name="data", object_type="directory", default="/gallery/")
    late = wf.data.OBSPlaceholder(name="late", object_type="directory", delay=True)
    fail = wf.Placeholder(name="fail", placeholder_type=wf.PlaceholderType.BOOL, default=False)
    first = job("first", code, parameters={"fail": fail}, out=dest)
    second = job("second", code, inputs=[data], depends=[first])
    third = job("third", code, inputs=[late], depends=[second])
    return wf.Workflow(name="paths", desc="", steps=[first, second, third])


def test_paths_outside_the_workspace_are_refused_naming_the_field(
    runtime: Runtime, tmp_path: Path
) -> None:
    alice, bob = runtime.gallery.user("alice"), runtime.gallery.user("bob")
    mine, theirs = space_of(alice), space_of(bob)
    assert mine != theirs and mine.endswith("/default/")
    workflow_id = imported(alice, paths_flow(tool_dir(tmp_path)))
    url = f"/workflows/{workflow_id}"

    # The author's default reaches the whole bucket: starting with it is refused.
    given = {"dest": f"{mine}out/"}
    refused = alice.post(f"{url}/executions", json={"parameters": given})
    assert field_error(refused) == ("parameters.data", "namespace")
    assert mine in refused.json()["detail"]
    # Another user's directory, as a saved value, a start value or an output.
    for config in (
        {"placeholders": {"data": f"{theirs}results/"}},
        {"placeholders": {"dest": f"{theirs}results/"}},
        {"placeholders": {"data": mine + "../../" + theirs.strip("/") + "/"}},
    ):
        assert field_error(alice.put(f"{url}/config", json=config))[1] == "namespace"
    refused = alice.post(
        f"{url}/executions",
        json={"parameters": {"data": f"{mine}in/", "dest": f"{theirs}stolen/"}},
    )
    assert field_error(refused) == ("parameters.dest", "namespace")
    assert alice.get(f"{url}/executions").json() == []  # nothing was started

    # Inside the namespace it runs; the delayed path is checked when it is given.
    good = {"data": f"{mine}out/", "dest": f"{mine}out/", "fail": True}
    execution = start(alice, workflow_id, parameters=good)
    failed = wait_for(alice, execution["id"], lambda e: e["status"] == "failed")
    assert step(failed, "first")["status"] == "failed"
    retry = f"/executions/{execution['id']}/steps/first/retry"
    outside = alice.post(retry, json={"parameters": {"data": theirs, "fail": False}})
    assert field_error(outside) == ("parameters.data", "namespace")
    assert alice.post(retry, json={"parameters": {"fail": False}}).status_code == 200
    waiting = wait_for(alice, execution["id"], lambda e: e["status"] == "waiting_input")
    go = f"/executions/{execution['id']}/steps/third/continue"
    outside = alice.post(go, json={"inputs": {"late": f"{theirs}results/"}})
    assert field_error(outside) == ("inputs.late", "namespace")
    assert step(alice.get(f"/executions/{execution['id']}").json(), "third")["status"] == (
        "waiting_input"
    )
    assert alice.post(go, json={"inputs": {"late": f"{mine}out/"}}).status_code == 200
    done = wait_for(alice, execution["id"])
    assert done["status"] == "succeeded", done
    assert step(done, "first")["outputs"]["out"] == f"{mine}out/"
    assert step(waiting, "first")["status"] == "succeeded"


def test_default_storage_and_outputs_live_in_the_workspace(
    runtime: Runtime, tmp_path: Path
) -> None:
    client = runtime.gallery.user()
    store = wf.data.OutputStorage(name="store", title="results")
    plain = job("plain", tool_dir(tmp_path), out=store.join("plain/"))
    unnamed = wf.steps.JobStep(
        name="unnamed",
        algorithm=wf.BaseAlgorithm(name="tool", code_dir=tool_dir(tmp_path), boot_file="tool.py"),
        outputs=[wf.steps.JobOutput(name="out")],  # no path given: a default one
        depend_steps=[plain],
    )
    workflow_id = imported(
        client, wf.Workflow(name="defaults", desc="", steps=[plain, unnamed], storages=[store])
    )
    done = wait_for(client, start(client, workflow_id)["id"])
    assert done["status"] == "succeeded", done
    space = space_of(client)
    for name in ("plain", "unnamed"):
        assert step(done, name)["outputs"]["out"].startswith(f"{space}{workflow_id}/")


async def _forge(runtime: Runtime, data: ir.ExecutionInput) -> None:
    client = await Client.connect(runtime.temporal.address, data_converter=pydantic_data_converter)
    handle = await client.start_workflow(
        ir.EXECUTION_WORKFLOW,
        data,
        id=f"forged-{uuid.uuid4().hex}",
        task_queue=runtime.gallery.settings.task_queue,
    )
    try:
        for _ in range(600):
            if (await handle.describe()).status is not None and await _step_failed(handle):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the forged run's step never failed")
    finally:
        await handle.terminate("test over")


async def _step_failed(handle: Any) -> bool:
    history = await handle.fetch_history()
    return any(e.HasField("activity_task_failed_event_attributes") for e in history.events)


def test_the_worker_refuses_paths_outside_the_execution_workspace_on_its_own(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A run started straight on Temporal (as a step with network could try) names the
    attacker's own execution but the victim's namespace: the worker asks the database whose
    execution it is and refuses the paths."""
    attacker, victim = runtime.gallery.user("mallory"), runtime.gallery.user("victim")
    code = tool_dir(tmp_path)
    workflow_id = imported(attacker, wf.Workflow(name="own", desc="", steps=[job("w", code)]))
    real = wait_for(attacker, start(attacker, workflow_id)["id"])
    assert real["status"] == "succeeded"
    target = f"{space_of(victim)}planted/"
    compiled = ir.WorkflowSpec.model_validate(
        attacker.get(f"/workflows/{workflow_id}").json()["spec"]
    )
    step_spec = compiled.steps[0].model_copy(
        update={"outputs": [ir.OutputSpec(name="out", path=ir.LiteralValue(value=target))]}
    )
    forged = ir.ExecutionInput(
        execution_id=real["id"],
        workflow_id=workflow_id,
        namespace=space_of(victim),
        spec=compiled.model_copy(update={"steps": [step_spec]}),
        steps=["w"],
        task_queue=runtime.gallery.settings.task_queue,
    )
    asyncio.run(_forge(runtime, forged))
    record = attacker.get(f"/executions/{real['id']}").json()
    assert "outside this workspace's storage namespace" in step(record, "w")["error"]
    if runtime.gallery.settings.s3_endpoint is None:
        planted = runtime.gallery.settings.data_dir / "blobs" / "objects"
        assert not list(planted.joinpath(*[p for p in target.split("/") if p]).glob("**/*"))
