"""The first end-to-end run: two job steps passing data, through Temporal and a worker."""

from __future__ import annotations

from pathlib import Path

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.support.runner import step, wait_for


def test_a_two_step_chain_passes_data_and_records_everything(
    runtime: Runtime, tmp_path: Path
) -> None:
    client = runtime.gallery.user()
    code = tool_dir(tmp_path)
    out = wf.data.OutputStorage(name="out")
    label = wf.Placeholder(name="label", placeholder_type=wf.PlaceholderType.STR, default="a")
    first = job("first", code, parameters={"label": label}, out=out.join("first/"))
    second = job(
        "second",
        code,
        parameters={"label": "b"},
        inputs=[first.outputs["out"].as_input()],
        out=out.join("second/"),
        metrics=out.join("metrics/"),
        depends=[first],
    )
    workflow = wf.Workflow(name="chain", desc="", steps=[first, second], storages=[out])
    workflow_id = imported(client, workflow)
    execution = start(client, workflow_id)
    assert execution["name"] == "execution-001"
    done = wait_for(client, execution["id"])
    assert done["status"] == "succeeded", done
    second_step = step(done, "second")
    assert second_step["metrics"]["metrics"][0]["data"]["value"] == 0.5
    assert second_step["outputs"]["out"].endswith("/second/")
    log = client.get(f"/executions/{execution['id']}/steps/second/logs")
    assert log.status_code == 200
    assert log.headers["content-type"] == "text/plain; charset=utf-8"  # the charset said once
    assert "tool: label=b" in log.text
