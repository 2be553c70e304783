"""``gallery run|status|continue|retry|stop|logs`` against a real server, Temporal and worker."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import sdk as wf
from sdk.cli import main
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, tool_dir
from tests.sdk.support import token_of
from tests.support.runner import step, step_is, wait_for


@dataclass
class Result:
    code: int
    out: str
    err: str


Gallery = Callable[..., Result]


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


@pytest.fixture
def gallery(
    runtime: Runtime,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Gallery:
    """``gallery ARGS…`` in-process as the test's user: exit code, stdout, stderr."""
    monkeypatch.setenv("GALLERY_URL", runtime.gallery.base_url)
    monkeypatch.setenv("GALLERY_TOKEN", token_of(client))
    monkeypatch.setenv("GALLERY_CONFIG_DIR", str(tmp_path / "config"))

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def started_id(result: Result) -> str:
    found = re.search(r"\(id ([0-9a-f-]{36})\)", result.out)
    assert found, result.out
    return found.group(1)


def one_error_line(result: Result, *fragments: str) -> None:
    assert result.code != 0, result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def typed_workflow(code: Path, name: str = "typed") -> wf.Workflow:
    out = wf.data.OutputStorage(name="out")
    label = wf.Placeholder(name="label", placeholder_type=wf.PlaceholderType.STR, default="a")
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, default=0.5)
    fail = wf.Placeholder(name="fail", placeholder_type=wf.PlaceholderType.BOOL, default=False)
    only = job(
        "only",
        code,
        parameters={"label": label, "score": score, "fail": fail},
        metrics=out.join("metrics/"),
    )
    return wf.Workflow(name=name, desc="", steps=[only], storages=[out])


def test_run_by_name_and_by_id_with_typed_parameters(
    client: httpx.Client, gallery: Gallery, tmp_path: Path
) -> None:
    workflow_id = imported(client, typed_workflow(tool_dir(tmp_path)), name="typed")

    first = gallery("run", "typed", "--param", "score=0.75", "--param", "label=x y", "--follow")
    assert first.code == 0, first.err
    assert "started typed/execution-001 (id " in first.out
    assert "  only: succeeded" in first.out
    assert "typed/execution-001: succeeded" in first.out
    done = client.get(f"/executions/{started_id(first)}").json()
    assert done["parameters"] == {"label": "x y", "score": 0.75, "fail": False}
    assert step(done, "only")["metrics"]["metrics"][0]["data"]["value"] == 0.75

    second = gallery("run", workflow_id, "-p", "fail=no", "-p", "score=2")
    assert second.code == 0, second.err
    assert "started typed/execution-002 (id " in second.out
    execution_id = started_id(second)
    followed = gallery("status", execution_id, "--follow")
    assert followed.code == 0, followed.err
    assert "typed/execution-002: succeeded" in followed.out
    assert client.get(f"/executions/{execution_id}").json()["parameters"]["score"] == 2.0

    shown = gallery("status", execution_id)
    assert shown.code == 0
    assert re.search(r"^only\s+succeeded\s+1\s+\d", shown.out, re.M), shown.out

    one_error_line(gallery("run", "typed", "--param", "score=high"), "'score'", "'high'")
    one_error_line(gallery("run", "typed", "--param", "fail=maybe"), "'fail'", "true/false")
    one_error_line(gallery("run", "typed", "--param", "epochs=3"), "no placeholder 'epochs'")
    one_error_line(gallery("run", "typed", "--param", "score"), "NAME=VALUE")
    executions = client.get(f"/workflows/{workflow_id}/executions").json()
    assert len(executions) == 2  # the refused runs never reached the server


def test_a_delayed_placeholder_waits_for_gallery_continue(
    client: httpx.Client, gallery: Gallery, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    out = wf.data.OutputStorage(name="out")
    score = wf.Placeholder(
        name="score", placeholder_type=wf.PlaceholderType.FLOAT, delay=True, description="x"
    )
    first = job("first", code, parameters={"label": "one"})
    ask = job(
        "ask",
        code,
        parameters={"score": score, "label": "two"},
        metrics=out.join("metrics/"),
        depends=[first],
    )
    imported(client, wf.Workflow(name="asking", steps=[first, ask], storages=[out]), "asking")

    started = gallery("run", "asking", "--follow")
    assert started.code == 0, started.err
    execution_id = started_id(started)
    assert "  first: succeeded" in started.out
    assert "  ask: waiting_input - waits for score (float)" in started.out
    hint = "gallery continue asking/execution-001 ask --input score=FLOAT"
    assert hint in started.out

    shown = gallery("status", execution_id)
    assert shown.code == 0
    assert "asking/execution-001: waiting_input" in shown.out
    assert hint in shown.out

    one_error_line(
        gallery("continue", execution_id, "ask", "--input", "score=lots"), "'score'", "'lots'"
    )
    one_error_line(
        gallery("continue", execution_id, "first", "--input", "score=1"), "first", "not waiting"
    )
    given = gallery("continue", execution_id, "ask", "--input", "score=0.25")
    assert given.code == 0, given.err
    assert "continued step 'ask' of asking/execution-001: now" in given.out

    followed = gallery("status", execution_id, "--follow")
    assert followed.code == 0, followed.err
    assert "asking/execution-001: succeeded" in followed.out
    done = client.get(f"/executions/{execution_id}").json()
    assert step(done, "ask")["metrics"]["metrics"][0]["data"]["value"] == 0.25

    log = gallery("logs", execution_id, "ask")
    assert log.code == 0, log.err
    assert "tool: label=two score=0.25" in log.out
    tailed = gallery("logs", execution_id, "ask", "--follow")
    assert tailed.out == log.out


def test_a_failed_step_is_retried_with_a_changed_parameter(
    client: httpx.Client, gallery: Gallery, tmp_path: Path
) -> None:
    imported(client, typed_workflow(tool_dir(tmp_path), "flaky"), "flaky")

    failed = gallery("run", "flaky", "--param", "fail=true", "--follow")
    assert failed.code == 1, failed.out
    execution_id = started_id(failed)
    assert "  only: failed" in failed.out
    assert "flaky/execution-001: failed" in failed.out
    assert "gallery retry flaky/execution-001 only" in failed.out
    assert gallery("status", execution_id).code == 1

    one_error_line(gallery("retry", execution_id, "only", "--param", "fail=perhaps"), "'fail'")
    retried = gallery("retry", execution_id, "only", "--param", "fail=false", "--follow")
    assert retried.code == 0, retried.err
    assert "retried step 'only' of flaky/execution-001: now" in retried.out
    assert "flaky/execution-001: succeeded" in retried.out
    done = client.get(f"/executions/{execution_id}").json()
    assert done["status"] == "succeeded"
    assert done["parameters"]["fail"] is False
    assert step(done, "only")["attempt"] > 1
    one_error_line(gallery("retry", execution_id, "only"), "only", "succeeded")


def test_gallery_stop_stops_a_step_then_the_execution(
    client: httpx.Client, gallery: Gallery, tmp_path: Path
) -> None:
    nap = wf.Placeholder(name="nap", placeholder_type=wf.PlaceholderType.FLOAT, default=120.0)
    sleeper = job("sleeper", tool_dir(tmp_path), parameters={"sleep": nap})
    imported(client, wf.Workflow(name="sleepy", steps=[sleeper]), "sleepy")

    execution_id = started_id(gallery("run", "sleepy"))
    wait_for(client, execution_id, step_is("sleeper", "running"))
    stopped_step = gallery("stop", execution_id, "--step", "sleeper")
    assert stopped_step.code == 0, stopped_step.err
    assert "step 'sleeper' of sleepy/execution-001: stopped" in stopped_step.out
    shown = gallery("status", execution_id)
    assert shown.code == 1
    assert re.search(r"^sleeper\s+stopped", shown.out, re.M), shown.out

    stopped = gallery("stop", execution_id)
    assert stopped.code == 0, stopped.err
    assert "sleepy/execution-001: stopped" in stopped.out
    done = wait_for(client, execution_id, lambda e: e["finished_at"] is not None)
    assert done["status"] == "stopped"

    again = gallery("run", "sleepy", "--param", "nap=0", "--follow")
    assert again.code == 0, again.err
    assert "sleepy/execution-002: succeeded" in again.out


def test_unknown_things_are_one_line_errors(gallery: Gallery) -> None:
    missing = str(uuid.uuid4())
    one_error_line(gallery("status", missing), "HTTP 404")
    one_error_line(gallery("status", missing, "--follow"), "HTTP 404")
    one_error_line(gallery("stop", missing), "HTTP 404")
    one_error_line(gallery("run", "nowhere"), "no workflow named 'nowhere'")
    # An id that is none of mine may be a catalog asset (gallery run CONTENT_ID): both are said.
    one_error_line(gallery("run", missing), f"'{missing}' is neither one of your workflows")
    one_error_line(gallery("run", "x", "--workspace", "elsewhere"), "HTTP 404")
