"""Runtime handles against a real server, Temporal and worker: ``wf.Session().workflow()``
starts a released workflow again without releasing it, and ``wf.Execution`` waits, follows,
continues, retries, stops and reads results; the errors a user meets name what was wrong."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import job, tool_dir
from tests.sdk.support import token_of


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


@pytest.fixture
def session(runtime: Runtime, client: httpx.Client) -> wf.Session:
    return wf.Session(runtime.gallery.base_url, token_of(client))


def tool_flow(code: Path, name: str) -> wf.Workflow:
    """One job step, ``only``, whose placeholders say what it prints, reports, and whether
    it sleeps or fails."""
    out = wf.data.OutputStorage(name="out")
    values = {
        "label": wf.Placeholder("label", wf.PlaceholderType.STR, default="a"),
        "score": wf.Placeholder("score", wf.PlaceholderType.FLOAT, default=0.5),
        "fail": wf.Placeholder("fail", wf.PlaceholderType.BOOL, default=False),
        "sleep": wf.Placeholder("sleep", wf.PlaceholderType.FLOAT, default=0.0),
    }
    only = job("only", code, parameters=values, out=out.join("out/"), metrics=out.join("m/"))
    return wf.Workflow(name=name, desc="", steps=[only], storages=[out])


def asking_flow(code: Path) -> wf.Workflow:
    """``first``, then ``ask``, which waits for a delayed float ``score``."""
    out = wf.data.OutputStorage(name="out")
    score = wf.Placeholder("score", wf.PlaceholderType.FLOAT, delay=True, description="x")
    first = job("first", code, parameters={"label": "one"})
    ask = job(
        "ask",
        code,
        parameters={"score": score, "label": "two"},
        metrics=out.join("metrics/"),
        depends=[first],
    )
    return wf.Workflow(name="asking", desc="", steps=[first, ask], storages=[out])


def test_a_released_workflow_is_started_twice_without_releasing_it_again(
    session: wf.Session, client: httpx.Client, tmp_path: Path
) -> None:
    workflow = tool_flow(tool_dir(tmp_path), "handled")
    workflow.session = session
    released = workflow.release()
    tool = released.algorithms[0]
    versions = client.get(f"/assets/{tool.content_id}/versions").json()
    stored = client.get(f"/workflows/{released.id}").json()

    handle = session.workflow("handled")
    assert isinstance(handle, wf.WorkflowHandle)
    assert (handle.id, handle.name, handle.workspace) == (released.id, "handled", "default")
    assert isinstance(handle.spec, wf.spec.WorkflowSpec)
    assert [s.name for s in handle.spec.steps] == ["only"]
    assert handle.placeholders["score"].type == "float"
    assert handle.status is None
    assert session.workflow(released.id).name == "handled"

    first = handle.start(parameters={"label": "one", "score": "0.75"})  # text is typed
    assert isinstance(first, wf.Execution)
    assert (first.name, first.workflow_id) == ("execution-001", handle.id)
    assert first.wait() == "succeeded"
    assert first.parameters["score"] == 0.75
    assert [(s.name, s.status, s.attempt) for s in first.steps] == [("only", "succeeded", 1)]
    assert first.metrics() == {"only.score": 0.75}
    assert first.metrics("only") == {"score": 0.75}
    assert set(first.outputs("only")) == {"out", "metrics"}
    assert first.outputs() == {"only": first.outputs("only")}
    assert "tool: label=one score=0.75" in first.logs("only")
    saved = first.download("only", "out", to=tmp_path / "got")
    assert (saved / "value.txt").read_text() == "one"
    assert first.download("only", "out/value.txt", to=tmp_path / "one").read_text() == "one"

    handle.configure(parameters={"label": "saved"})
    assert handle.config["placeholders"] == {"label": "saved"}
    second = handle.start(labels=["again"])
    lines: list[str] = []
    assert second.follow(emit=lines.append) == "succeeded"
    assert lines[0].startswith("following execution-002 of default/handled (interrupt")
    assert any(line.startswith("  only: succeeded") for line in lines), lines
    assert lines[-1].startswith("handled/execution-002: succeeded"), lines
    assert second.parameters["label"] == "saved"
    assert "tool: label=saved" in second.logs("only")
    handle.configure(unset=["label"])
    assert handle.config["placeholders"] == {}

    assert [e.name for e in handle.executions()] == ["execution-002", "execution-001"]
    assert [e.id for e in handle.executions(label="again")] == [second.id]
    assert handle.executions(status="failed") == []
    listed = handle.executions()[1]
    assert listed.metrics() == {"only.score": 0.75}  # a listed run reads its steps when asked
    assert handle.refresh().status == "succeeded"

    # nothing was released again: no new algorithm version, the same spec (only the saved
    # configuration changed)
    assert client.get(f"/assets/{tool.content_id}/versions").json() == versions
    assert client.get(f"/workflows/{released.id}").json()["spec"] == stored["spec"]


def test_a_waiting_step_is_continued_with_a_typed_value(
    session: wf.Session, tmp_path: Path
) -> None:
    workflow = asking_flow(tool_dir(tmp_path))
    workflow.session = session
    execution = workflow.release_and_run()
    assert execution.wait() == "waiting_input"
    ask = execution.step("ask")
    assert (ask.status, ask.waiting_for) == ("waiting_input", ("score",))
    assert "step 'ask' waits for score (float): .continue_step('ask', score=...)" in (
        execution.hints()
    )
    with pytest.raises(wf.ConfigurationError, match=r"step 'ask': placeholder 'score'.*'lots'"):
        execution.continue_step("ask", score="lots")
    with pytest.raises(wf.ApiError) as not_waiting:
        execution.continue_step("first", {"score": 1.0})
    assert not_waiting.value.status == 409
    assert "'first'" in not_waiting.value.detail, not_waiting.value.detail
    with pytest.raises(wf.ConfigurationError, match=r"has no step 'nope'.*first, ask"):
        execution.continue_step("nope", score=1.0)

    assert execution.continue_step("ask", score="0.25") is execution
    assert execution.step("ask").status != "waiting_input"
    assert execution.wait() == "succeeded"
    assert execution.metrics("ask") == {"score": 0.25}
    assert execution.parameters["score"] == 0.25


def test_a_failed_step_is_retried_with_a_changed_parameter_and_a_run_is_stopped(
    session: wf.Session, tmp_path: Path
) -> None:
    workflow = tool_flow(tool_dir(tmp_path), "flaky")
    workflow.session = session
    workflow.release()
    handle = session.workflow("flaky")

    failed = handle.start(parameters={"fail": True})
    lines: list[str] = []
    assert failed.follow(emit=lines.append) == "failed"
    assert any(line.startswith("  only: failed") for line in lines), lines
    assert "  to run it again: .retry_step('only', parameters={...})" in lines
    only = failed.step("only")
    assert only.status == "failed" and "exited with code 3" in (only.error or "")
    with pytest.raises(wf.ConfigurationError, match=r"'fail'.*'perhaps'"):
        failed.retry_step("only", parameters={"fail": "perhaps"})
    failed.retry_step("only", parameters={"fail": "no"})
    assert failed.wait() == "succeeded"
    assert failed.parameters["fail"] is False
    assert failed.step("only").attempt == 2
    assert "failing as asked" in failed.logs("only", attempt=1)
    with pytest.raises(wf.ApiError) as not_failed:
        failed.retry_step("only")
    assert not_failed.value.status == 409 and "only" in not_failed.value.detail

    slow = handle.start(parameters={"sleep": 60.0})
    with pytest.raises(TimeoutError, match=r"flaky/execution-002 is still (created|running)"):
        slow.wait(timeout=0.5)
    slow.stop_step("only")
    assert slow.step("only").status == "stopped"
    assert slow.stop().status == "stopped"
    with pytest.raises(wf.ApiError) as over:
        slow.stop()
    assert over.value.status == 409


def test_errors_name_the_workflow_the_execution_or_the_value(
    runtime: Runtime, session: wf.Session, tmp_path: Path
) -> None:
    workflow = tool_flow(tool_dir(tmp_path), "named")
    workflow.session = session
    execution = workflow.release_and_run()
    assert execution.wait() == "succeeded"

    with pytest.raises(
        wf.ConfigurationError,
        match=r"workspace 'default' has no workflow named 'nmaed' \(similar: named\)",
    ):
        session.workflow("nmaed")
    with pytest.raises(wf.ConfigurationError, match="neither a workflow id nor a workflow name"):
        session.workflow("no such/name")
    handle = session.workflow("named")
    with pytest.raises(wf.ApiError) as refused:
        handle.start(parameters={"score": [1]})
    assert refused.value.status == 422
    assert "starting workflow default/named" in str(refused.value)
    assert "parameters.score" in str(refused.value)
    with pytest.raises(wf.ApiError) as bad_config:
        handle.configure(parameters={"fail": 3})
    assert bad_config.value.status == 422
    assert "configuring workflow default/named" in str(bad_config.value)
    assert "fail" in str(bad_config.value)
    with pytest.raises(wf.ConfigurationError, match=r"'score'.*'high'"):
        handle.configure(parameters={"score": "high"})
    with pytest.raises(wf.ConfigurationError, match="no placeholder or storage 'epochs'"):
        handle.configure(unset=["epochs"])
    with pytest.raises(wf.ConfigurationError, match=r"wait.*created, running"):
        execution.wait(until="done")

    stranger = wf.Session(runtime.gallery.base_url, token_of(runtime.gallery.user()))
    with pytest.raises(wf.ApiError) as unknown:
        stranger.execution(execution.id)
    assert unknown.value.status == 404
    with pytest.raises(wf.ConfigurationError, match="no execution 'named/execution-001'"):
        stranger.execution("named/execution-001")
    with pytest.raises(wf.ConfigurationError, match="has no workflow named 'named'"):
        stranger.workflow("named")
    assert session.execution("named/execution-001").id == execution.id

    with wf.Session(runtime.gallery.base_url, session.token) as short:
        kept = short.workflow("named")
    with pytest.raises(wf.ConfigurationError, match=r"Session .* is closed"):
        kept.refresh()
