"""``Workflow.release()`` and ``release_and_run()`` against a real server, Temporal and worker."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import sdk as wf
from sdk._runs import Execution
from tests.runner.conftest import Runtime
from tests.runner.flows import job, tool_dir
from tests.sdk.support import token_of
from tests.support.runner import step, wait_for


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


def session_of(runtime: Runtime, client: httpx.Client) -> wf.Session:
    return wf.Session(runtime.gallery.base_url, token_of(client))


def labelled(code: Path, default: str = "a", name: str = "labelled") -> wf.Workflow:
    out = wf.data.OutputStorage(name="out")
    label = wf.Placeholder(name="label", placeholder_type=wf.PlaceholderType.STR, default=default)
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, default=0.5)
    only = job(
        "only", code, parameters={"label": label, "score": score}, metrics=out.join("metrics/")
    )
    return wf.Workflow(name=name, desc="", steps=[only], storages=[out])


def test_release_twice_updates_the_same_runtime_workflow(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    workflow = labelled(code)
    workflow.session = session_of(runtime, client)

    first = workflow.release()
    assert first.created and first.name == "labelled" and first.workspace == "default"
    assert workflow.workflow_id == first.id
    assert [(a.name, a.reused) for a in first.algorithms] == [("tool", False)]
    algorithm = client.get(f"/assets/{first.algorithms[0].content_id}").json()
    assert algorithm["kind"] == "algorithm" and algorithm["visibility"] == "private"

    second = workflow.release()
    assert not second.created and second.id == first.id
    assert [(a.name, a.reused) for a in second.algorithms] == [("tool", True)]

    again = labelled(code, default="b")  # the label's default is the algorithm's, too
    again.session = workflow.session
    third = again.release()
    assert not third.created
    assert third.id == first.id and again.workflow_id == first.id
    assert third.algorithms[0].version != first.algorithms[0].version

    rows = client.get("/workspaces/default/workflows", params={"q": "labelled"}).json()
    assert [r["id"] for r in rows] == [first.id]
    spec = client.get(f"/workflows/{first.id}").json()["spec"]
    assert {p["name"]: p["default"] for p in spec["placeholders"]} == {"label": "b", "score": 0.5}
    released_algorithm = spec["steps"][0]["properties"]["algorithm"]
    assert released_algorithm["source"] == "gallery"
    assert released_algorithm["content_id"] == first.algorithms[0].content_id
    assert released_algorithm["code_dir"] is None

    other = again.release(name="labelled_copy")
    assert other.created and other.id != first.id and other.name == "labelled_copy"
    assert again.workflow_id == other.id


def test_release_leaves_an_algorithm_shared_earlier_as_it_was(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow = labelled(tool_dir(tmp_path), name="shared")
    workflow.session = session_of(runtime, client)
    published = workflow.release_to_gallery(visibility="public")
    released = workflow.release()
    tool = published.algorithms[0]
    assert released.algorithms == [wf.AlgorithmRelease("tool", tool.content_id, tool.version, True)]
    assert client.get(f"/assets/{tool.content_id}").json()["visibility"] == "public"


def test_release_and_run_runs_to_success(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow = labelled(tool_dir(tmp_path), name="quick")
    workflow.session = session_of(runtime, client)

    execution = workflow.release_and_run(parameters={"label": "sdk", "score": 0.9})
    assert isinstance(execution, Execution)
    assert execution.name == "execution-001"
    assert execution.workflow_id == workflow.workflow_id
    assert (execution.workflow_name, execution.workspace) == ("quick", "default")
    done = wait_for(client, execution.id)
    assert done["status"] == "succeeded", done
    assert done["parameters"] == {"label": "sdk", "score": 0.9}
    assert step(done, "only")["metrics"]["metrics"][0]["data"]["value"] == 0.9
    log = client.get(f"/executions/{execution.id}/steps/only/logs")
    assert "tool: label=sdk score=0.9" in log.text

    second = workflow.release_and_run()
    assert second.name == "execution-002" and second.workflow_id == execution.workflow_id
    assert wait_for(client, second.id)["status"] == "succeeded"


def test_release_and_run_errors_name_the_workflow(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow = labelled(tool_dir(tmp_path), name="picky")
    workflow.session = session_of(runtime, client)

    with pytest.raises(wf.ApiError) as refused:
        workflow.release_and_run(parameters={"score": "high"})
    assert refused.value.status == 422
    assert "starting workflow default/picky" in str(refused.value)
    assert "parameters.score" in str(refused.value)
    assert client.get(f"/workflows/{workflow.workflow_id}/executions").json() == []

    with pytest.raises(wf.PublishError) as nowhere:
        workflow.release(workspace="elsewhere")
    assert "workflow 'picky' to workspace 'elsewhere'" in str(nowhere.value)
    assert "HTTP 404" in str(nowhere.value)


def test_a_saved_value_that_no_longer_fits_a_re_release_is_dropped(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    workflow = labelled(code, name="retyped")
    workflow.session = session_of(runtime, client)
    released = workflow.release()
    saved = client.put(
        f"/workflows/{released.id}/config",
        json={"placeholders": {"label": "kept", "score": 0.7}},
    )
    assert saved.status_code == 200, saved.text

    # The score becomes a string placeholder: the saved float no longer fits and goes.
    out = wf.data.OutputStorage(name="out")
    label = wf.Placeholder(name="label", placeholder_type=wf.PlaceholderType.STR, default="a")
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.STR, default="0.2")
    only = job(
        "only", code, parameters={"label": label, "score": score}, metrics=out.join("metrics/")
    )
    retyped = wf.Workflow(name="retyped", desc="", steps=[only], storages=[out])
    retyped.session = workflow.session
    assert not retyped.release().created
    config = client.get(f"/workflows/{released.id}").json()["config"]
    assert config["placeholders"] == {"label": "kept"}
    run = client.post(f"/workflows/{released.id}/executions", json={})
    assert run.status_code == 201, run.text
    assert run.json()["parameters"] == {"label": "kept", "score": "0.2"}
    wait_for(client, run.json()["id"])
