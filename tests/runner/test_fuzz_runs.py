"""No 500s on the runner's endpoints either: schemathesis fuzzes them with real identifiers (a
workflow, a finished execution and a waiting one, a step) on the real stack. The budget is
small here; ``make fuzz`` runs it with a far larger one (``tests/support/fuzz.py``)."""

from __future__ import annotations

from pathlib import Path

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.runner.test_semantics import delayed_flow
from tests.support.fuzz import budget, run_schemathesis
from tests.support.runner import wait_for


def test_no_server_errors_on_runner_endpoints_under_fuzzing(
    runtime: Runtime, tmp_path: Path
) -> None:
    owner = runtime.gallery.user("fuzz")
    code = tool_dir(tmp_path)
    finished_wf = imported(owner, wf.Workflow(name="fuzzed", desc="", steps=[job("a", code)]))
    finished = wait_for(owner, start(owner, finished_wf)["id"])
    waiting_wf = imported(owner, delayed_flow(code))
    waiting = start(owner, waiting_wf)
    wait_for(owner, waiting["id"], lambda e: e["status"] == "waiting_input")
    token = owner.post("/tokens", json={"name": "fuzz"}).json()["token"]
    run = run_schemathesis(
        runtime.gallery.base_url,
        token=token,
        parameters={
            "path.workflow_id": waiting_wf,
            "path.execution_id": waiting["id"],
            "path.step": "gate",
            "path.ws": "default",
            "query.ids": f"{finished['id']},{waiting['id']}",
        },
        work_dir=tmp_path,
        examples=budget(10),
        seed=20261126,
        include_path_regex="^/api/v1/(executions|workflows|todo|workspaces)",
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "generated" in run.stdout and " passed" in run.stdout
