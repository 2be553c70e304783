"""No 500s on the runner's endpoints either: schemathesis fuzzes them with real identifiers (a
workflow, a finished execution and a waiting one, a step) on the real stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.runner.test_semantics import delayed_flow
from tests.support.runner import wait_for

ST = str(Path(sys.executable).with_name("st"))


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
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.workflow_id" = "{waiting_wf}"\n'
        f'"path.execution_id" = "{waiting["id"]}"\n'
        '"path.step" = "gate"\n'
        '"path.ws" = "default"\n'
        f'"query.ids" = "{finished["id"]},{waiting["id"]}"\n'
    )
    run = subprocess.run(
        [
            ST,
            "--config-file",
            str(config),
            "run",
            f"{runtime.gallery.base_url}/schema/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--include-path-regex",
            "^/api/v1/(executions|workflows|todo|workspaces)",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "10",
            "--seed",
            "20261126",
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "generated" in run.stdout and " passed" in run.stdout
