"""Execution semantics on the real stack (DESIGN.md §4): conditions, skips, selector, delayed
input, failure and manual retry, stop, timeouts, scenes, records, isolation."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, job, start, tool_dir
from tests.support.runner import step, step_is, wait_for


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


def statuses(execution: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in execution["steps"]}


def branching(code: Path) -> wf.Workflow:
    """train → (score ≥ bar ? good : bad) → pick (selector over both) → last."""
    out = wf.data.OutputStorage(name="out")
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, default=0.9)
    bar = wf.Placeholder(name="bar", placeholder_type=wf.PlaceholderType.FLOAT, default=0.5)
    skip_last = wf.Placeholder(
        name="skip_last", placeholder_type=wf.PlaceholderType.BOOL, default=False
    )
    train = job(
        "train", code, parameters={"score": score}, metrics=out.join("m/"), out=out.join("t/")
    )
    check = wf.steps.ConditionStep(
        name="check",
        conditions=[
            wf.steps.Condition(
                condition_type=wf.steps.ConditionTypeEnum.GTE,
                left=wf.steps.MetricInfo(train.outputs["metrics"].as_input(), "score"),
                right=bar,
            )
        ],
        if_then_steps=["good"],
        else_then_steps=["bad"],
        depend_steps=[train],
    )
    good = job("good", code, parameters={"label": "good"}, out=out.join("good/"), depends=[check])
    bad = job("bad", code, parameters={"label": "bad"}, out=out.join("bad/"), depends=[check])
    pick = job(
        "pick",
        code,
        parameters={"label": "+pick"},
        inputs=[
            wf.data.DataConsumptionSelector(
                data_list=[good.outputs["out"].as_input(), bad.outputs["out"].as_input()]
            )
        ],
        out=out.join("pick/"),
        depends=[good, bad],
    )
    last = job(
        "last",
        code,
        parameters={"label": "last"},
        depends=[pick],
        policy=wf.steps.StepPolicy(
            skip_conditions=[
                wf.steps.Condition(
                    condition_type=wf.steps.ConditionTypeEnum.EQ, left=skip_last, right=True
                )
            ]
        ),
    )
    return wf.Workflow(
        name="branching", desc="", steps=[train, check, good, bad, pick, last], storages=[out]
    )


def read_object(runtime: Runtime, path: str, name: str) -> str:
    root = runtime.gallery.settings.data_dir / "blobs" / "objects"
    return (root.joinpath(*[p for p in path.split("/") if p]) / name).read_text()


def test_a_metric_condition_picks_a_branch_and_the_selector_takes_its_output(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow_id = imported(client, branching(tool_dir(tmp_path)))
    high = wait_for(client, start(client, workflow_id)["id"])
    assert high["status"] == "succeeded", high
    assert statuses(high) == {
        "train": "succeeded",
        "check": "succeeded",
        "good": "succeeded",
        "bad": "skipped",
        "pick": "succeeded",
        "last": "succeeded",
    }
    assert step(high, "check")["outputs"] == {"result": True}
    if runtime.gallery.settings.s3_endpoint is None:
        assert read_object(runtime, step(high, "pick")["outputs"]["out"], "value.txt") == (
            "good+pick"
        )

    low = wait_for(
        client,
        start(client, workflow_id, parameters={"score": 0.1, "skip_last": True})["id"],
    )
    assert low["status"] == "succeeded", low
    assert statuses(low)["good"] == "skipped"
    assert statuses(low)["bad"] == "succeeded"
    assert statuses(low)["last"] == "skipped"
    assert low["name"] == "execution-002"


def test_all_dependencies_skipped_skips_the_step(client: httpx.Client, tmp_path: Path) -> None:
    code = tool_dir(tmp_path)
    never = wf.Placeholder(name="never", placeholder_type=wf.PlaceholderType.BOOL, default=True)
    skipped = wf.steps.StepPolicy(
        skip_conditions=[
            wf.steps.Condition(condition_type=wf.steps.ConditionTypeEnum.EQ, left=never, right=True)
        ]
    )
    a = job("a", code, policy=skipped)
    b = job("b", code, depends=[a])
    c = job("c", code)
    workflow_id = imported(client, wf.Workflow(name="skips", desc="", steps=[a, b, c]))
    done = wait_for(client, start(client, workflow_id)["id"])
    assert done["status"] == "succeeded"
    assert statuses(done) == {"a": "skipped", "b": "skipped", "c": "succeeded"}


def delayed_flow(code: Path) -> wf.Workflow:
    label = wf.Placeholder(
        name="label",
        placeholder_type=wf.PlaceholderType.ENUM,
        enum_list=["yes", "no"],
        delay=True,
        description="approve the release",
    )
    first = job("first", code)
    gate = job("gate", code, parameters={"label": label}, depends=[first])
    return wf.Workflow(name="gated", desc="", steps=[first, gate])


def test_a_delayed_placeholder_waits_for_continue_and_bad_values_leave_no_trace(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow_id = imported(client, delayed_flow(tool_dir(tmp_path)))
    execution = start(client, workflow_id)
    waiting = wait_for(client, execution["id"], lambda e: e["status"] == "waiting_input")
    gate = step(waiting, "gate")
    assert gate["status"] == "waiting_input"
    assert [w["name"] for w in gate["waiting_for"]] == ["label"]
    assert gate["waiting_for"][0]["enum_list"] == ["yes", "no"]

    second = client.post(f"/workflows/{workflow_id}/executions", json={})
    assert second.status_code == 409
    assert execution["name"] in second.json()["detail"]

    todo = client.get("/todo").json()
    assert [(t["execution_id"], t["step"]) for t in todo] == [(execution["id"], "gate")]
    other = runtime.gallery.user()
    assert other.get("/todo").json() == []

    url = f"/executions/{execution['id']}/steps/gate/continue"
    bad = client.post(url, json={"inputs": {"label": "maybe"}})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "inputs.label" in bad.text and "maybe" in bad.json()["detail"]
    unknown = client.post(url, json={"inputs": {"label": "yes", "other": 1}})
    assert unknown.status_code == 422 and "other" in unknown.json()["detail"]
    missing = client.post(url, json={"inputs": {}})
    assert missing.status_code == 422 and "label" in missing.json()["detail"]
    wrong_step = client.post(
        f"/executions/{execution['id']}/steps/first/continue", json={"inputs": {}}
    )
    assert wrong_step.status_code == 409
    assert other.post(url, json={"inputs": {"label": "yes"}}).status_code == 404
    still = client.get(f"/executions/{execution['id']}").json()
    assert step(still, "gate")["status"] == "waiting_input"
    assert "label" not in still["parameters"]

    ok = client.post(url, json={"inputs": {"label": "yes"}})
    assert ok.status_code == 200, ok.text
    done = wait_for(client, execution["id"])
    assert done["status"] == "succeeded"
    assert done["parameters"]["label"] == "yes"
    assert step(done, "gate")["parameters"] == {"label": "yes"}
    assert client.get("/todo").json() == []


def test_a_failed_step_is_retried_with_a_changed_value_and_only_it_runs_again(
    client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    fail = wf.Placeholder(name="fail", placeholder_type=wf.PlaceholderType.BOOL, default=True)
    first = job("first", code, parameters={"label": "one"})
    flaky = job(
        "flaky",
        code,
        parameters={"fail": fail},
        depends=[first],
        policy=wf.steps.StepPolicy(max_retries=1),
    )
    after = job("after", code, depends=[flaky])
    workflow_id = imported(client, wf.Workflow(name="flaky", desc="", steps=[first, flaky, after]))
    execution = start(client, workflow_id)
    failed = wait_for(client, execution["id"], lambda e: e["status"] == "failed")
    assert statuses(failed) == {"first": "succeeded", "flaky": "failed", "after": "pending"}
    flaky_step = step(failed, "flaky")
    assert flaky_step["attempt"] == 2  # one automatic retry
    assert "exited with code 3" in flaky_step["error"]
    assert "failing as asked" in flaky_step["error"]
    assert "flaky" in failed["error"]

    not_failed = client.post(f"/executions/{execution['id']}/steps/first/retry", json={})
    assert not_failed.status_code == 409
    bad = client.post(
        f"/executions/{execution['id']}/steps/flaky/retry", json={"parameters": {"fail": "no"}}
    )
    assert bad.status_code == 422 and "parameters.fail" in bad.text

    retried = client.post(
        f"/executions/{execution['id']}/steps/flaky/retry", json={"parameters": {"fail": False}}
    )
    assert retried.status_code == 200, retried.text
    done = wait_for(client, execution["id"])
    assert done["status"] == "succeeded", done
    assert step(done, "first")["attempt"] == 1  # not run again
    assert step(done, "flaky")["attempt"] == 3
    assert done["parameters"]["fail"] is False
    logs = client.get(f"/executions/{execution['id']}/steps/flaky/logs", params={"attempt": 1})
    assert "failing as asked" in logs.text


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def find_job(marker: str) -> int | None:
    """The host pid of the job process started with ``marker`` among its arguments (not the
    sandbox's own bwrap processes, whose command lines carry the job's)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in args and not any(a.endswith(b"bwrap") for a in args):
            return int(entry.name)
    return None


def wait_pid(path: Path) -> int:
    """The running job given ``--pidfile=<path>``, as the host sees it."""
    marker = f"--pidfile={path}"
    deadline = time.monotonic() + 60
    while (pid := find_job(marker)) is None:
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    return pid


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while process_alive(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.1)


def test_stopping_a_step_kills_its_process_and_retry_runs_it_again(
    client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    pidfile = tmp_path / "pid"
    sleep = wf.Placeholder(name="sleep", placeholder_type=wf.PlaceholderType.FLOAT, default=300.0)
    slow = job("slow", code, parameters={"sleep": sleep, "pidfile": str(pidfile)})
    workflow_id = imported(client, wf.Workflow(name="slow", desc="", steps=[slow]))
    execution = start(client, workflow_id)
    pid = wait_pid(pidfile)
    wait_for(client, execution["id"], step_is("slow", "running"))
    stopped = client.post(f"/executions/{execution['id']}/steps/slow/stop")
    assert stopped.status_code == 200, stopped.text
    after = wait_for(client, execution["id"], lambda e: e["status"] == "stopped")
    assert step(after, "slow")["status"] == "stopped"
    wait_gone(pid)
    log = client.get(f"/executions/{execution['id']}/steps/slow/logs").text
    assert "gallery: stopped" in log

    retried = client.post(
        f"/executions/{execution['id']}/steps/slow/retry", json={"parameters": {"sleep": 0.0}}
    )
    assert retried.status_code == 200, retried.text
    done = wait_for(client, execution["id"])
    assert done["status"] == "succeeded"


def test_stopping_the_execution_kills_the_running_step(
    client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    pidfile = tmp_path / "pid"
    slow = job("slow", code, parameters={"sleep": 300.0, "pidfile": str(pidfile)})
    after = job("after", code, depends=[slow])
    workflow_id = imported(client, wf.Workflow(name="stopme", desc="", steps=[slow, after]))
    execution = start(client, workflow_id)
    pid = wait_pid(pidfile)
    busy = client.delete(f"/workflows/{workflow_id}")
    assert busy.status_code == 409 and "stop it" in busy.json()["detail"]
    assert client.post(f"/executions/{execution['id']}/stop").status_code == 200
    done = wait_for(client, execution["id"])
    assert done["status"] == "stopped"
    assert statuses(done) == {"slow": "stopped", "after": "stopped"}
    assert done["finished_at"] is not None
    wait_gone(pid)
    # A finished run can be started again, and its records deleted.
    assert client.post(f"/executions/{execution['id']}/stop").status_code == 409
    assert client.delete(f"/executions/{execution['id']}").status_code == 204
    assert client.get(f"/executions/{execution['id']}").status_code == 404


def test_a_step_over_its_time_limit_is_killed_and_fails(
    client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    pidfile = tmp_path / "pid"
    slow = job(
        "slow",
        code,
        parameters={"sleep": 300.0, "pidfile": str(pidfile)},
        policy=wf.steps.StepPolicy(max_execution_minutes=0.05, max_retries=3),
    )
    workflow_id = imported(client, wf.Workflow(name="timeout", desc="", steps=[slow]))
    execution = start(client, workflow_id)
    pid = wait_pid(pidfile)
    done = wait_for(client, execution["id"], lambda e: e["status"] == "failed")
    slow_step = step(done, "slow")
    assert "timed out after 0.05 minutes" in slow_step["error"]
    assert slow_step["attempt"] == 1  # a timeout is not retried automatically
    wait_gone(pid)


def test_a_scene_is_refused_until_its_inputs_exist_then_runs_alone(
    client: httpx.Client, tmp_path: Path
) -> None:
    code = tool_dir(tmp_path)
    out = wf.data.OutputStorage(name="out")
    a = job("a", code, parameters={"label": "A"}, out=out.join("a/"))
    b = job(
        "b",
        code,
        parameters={"label": "B"},
        inputs=[a.outputs["out"].as_input()],
        out=out.join("b/"),
        depends=[a],
    )
    workflow = wf.Workflow(
        name="scenes",
        desc="",
        steps=[a, b],
        storages=[out],
        policy=wf.policy.Policy(scenes=[wf.policy.Scene(scene_name="only_b", scene_steps=[b])]),
    )
    workflow_id = imported(client, workflow)
    refused = client.post(f"/workflows/{workflow_id}/executions", json={"scene": "only_b"})
    assert refused.status_code == 422
    assert "a.out" in refused.json()["detail"]
    assert client.get(f"/workflows/{workflow_id}/executions").json() == []
    unknown = client.post(f"/workflows/{workflow_id}/executions", json={"scene": "nope"})
    assert unknown.status_code == 422 and "only_b" in unknown.json()["detail"]

    full = wait_for(client, start(client, workflow_id)["id"])
    assert full["status"] == "succeeded"
    scene = wait_for(client, start(client, workflow_id, scene="only_b")["id"])
    assert scene["status"] == "succeeded", scene
    assert scene["scene"] == "only_b"
    assert [s["name"] for s in scene["steps"]] == ["b"]
    assert step(scene, "b")["inputs"]["data"] == step(full, "a")["outputs"]["out"]
    # The output storage is per execution.
    assert scene["id"] in step(scene, "b")["outputs"]["out"]


def test_every_step_of_a_scene_runs_even_when_its_dependencies_lie_outside(
    client: httpx.Client, tmp_path: Path
) -> None:
    """A scene step that only *depends on* steps outside the scene (reads none of their
    outputs) runs; it used to be skipped as if those steps had been skipped in this run."""
    code = tool_dir(tmp_path)
    a = job("a", code, parameters={"label": "A"})
    b = job("b", code, parameters={"label": "B"}, depends=[a])
    c = job("c", code, parameters={"label": "C"}, depends=[b])
    workflow = wf.Workflow(
        name="scene_deps",
        desc="",
        steps=[a, b, c],
        policy=wf.policy.Policy(scenes=[wf.policy.Scene(scene_name="later", scene_steps=[b, c])]),
    )
    workflow_id = imported(client, workflow)
    scene = wait_for(client, start(client, workflow_id, scene="later")["id"])
    assert scene["status"] == "succeeded", scene
    assert [(s["name"], s["status"]) for s in scene["steps"]] == [
        ("b", "succeeded"),
        ("c", "succeeded"),
    ]


def test_records_labels_filters_compare_and_rerun(client: httpx.Client, tmp_path: Path) -> None:
    code = tool_dir(tmp_path)
    out = wf.data.OutputStorage(name="out")
    score = wf.Placeholder(name="score", placeholder_type=wf.PlaceholderType.FLOAT, default=0.3)
    only = job("only", code, parameters={"score": score}, metrics=out.join("m/"))
    workflow_id = imported(
        client, wf.Workflow(name="scored", desc="", steps=[only], storages=[out])
    )
    first = wait_for(client, start(client, workflow_id, labels=["baseline"])["id"])
    second = wait_for(client, start(client, workflow_id, parameters={"score": 0.8})["id"])
    assert first["labels"] == ["baseline"]
    relabel = client.patch(f"/executions/{second['id']}", json={"labels": ["tuned", "best"]})
    assert relabel.json()["labels"] == ["tuned", "best"]
    by_label = client.get(f"/workflows/{workflow_id}/executions", params={"label": "best"}).json()
    assert [e["id"] for e in by_label] == [second["id"]]
    by_status = client.get(
        f"/workflows/{workflow_id}/executions", params={"status": "succeeded"}
    ).json()
    assert [e["name"] for e in by_status] == ["execution-002", "execution-001"]
    assert (
        client.get(f"/workflows/{workflow_id}/executions", params={"status": "bogus"}).status_code
        == 422
    )

    rows = client.get("/executions/compare", params={"ids": f"{first['id']},{second['id']}"})
    assert rows.status_code == 200
    table = {r["name"]: r for r in rows.json()}
    assert table["execution-001"]["metrics"] == {"only.score": 0.3}
    assert table["execution-002"]["metrics"] == {"only.score": 0.8}
    assert table["execution-002"]["parameters"]["score"] == 0.8
    assert all(r["duration_seconds"] is not None for r in rows.json())

    rerun = client.post(f"/executions/{second['id']}/rerun")
    assert rerun.status_code == 201
    again = wait_for(client, rerun.json()["id"])
    assert again["name"] == "execution-003"
    assert again["parameters"]["score"] == 0.8
    listed = client.get("/workspaces/default/workflows", params={"status": "succeeded"}).json()
    assert workflow_id in [w["id"] for w in listed]


def test_other_users_see_nothing_of_my_runs(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow_id = imported(
        client, wf.Workflow(name="mine", desc="", steps=[job("a", tool_dir(tmp_path))])
    )
    execution = wait_for(client, start(client, workflow_id)["id"])
    other = runtime.gallery.user()
    eid = execution["id"]
    for method, url in [
        ("GET", f"/executions/{eid}"),
        ("PATCH", f"/executions/{eid}"),
        ("DELETE", f"/executions/{eid}"),
        ("POST", f"/executions/{eid}/stop"),
        ("POST", f"/executions/{eid}/rerun"),
        ("POST", f"/executions/{eid}/steps/a/retry"),
        ("POST", f"/executions/{eid}/steps/a/stop"),
        ("GET", f"/executions/{eid}/steps/a/logs"),
        ("GET", f"/executions/compare?ids={eid}"),
        ("GET", f"/workflows/{workflow_id}/executions"),
        ("POST", f"/workflows/{workflow_id}/executions"),
    ]:
        body = {"labels": []} if method == "PATCH" else None
        answer = other.request(method, url, json=body)
        assert answer.status_code == 404, (method, url, answer.status_code)
    assert runtime.gallery.client().get(f"/executions/{eid}").status_code == 401
