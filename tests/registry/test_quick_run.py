"""One-click Run over the API: ``POST /api/v1/assets/{content_id}/run`` imports a workflow
asset's version (or reuses the workflow imported from it), then starts it when every required
placeholder has a value; a real server, Temporal dev server and worker (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Runtime
from tests.support.gallery import new_asset, publish, workflow_manifest
from tests.support.runner import wait_for

PROBLEM = "application/problem+json"


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    return body


def workflow_asset(
    client: httpx.Client,
    placeholders: list[dict[str, Any]] | None = None,
    *,
    versions: int = 1,
    **fields: Any,
) -> str:
    """A workflow asset (one condition step: it runs without a sandbox) with ``versions``
    versions 1.0.0, 1.0.1 … declaring ``placeholders``; its content id."""
    content_id = str(new_asset(client, kind="workflow", **fields)["content_id"])
    for _ in range(versions):
        manifest = workflow_manifest()
        manifest["spec"]["placeholders"] = placeholders or []
        answer = publish(client, content_id, manifest)
        assert answer.status_code == 201, answer.text
    return content_id


def workflows_of(client: httpx.Client, workspace: str = "default") -> list[dict[str, Any]]:
    answer = client.get(f"/workspaces/{workspace}/workflows")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_one_call_imports_the_latest_version_and_starts_it_then_reuses_it(
    runtime: Runtime,
) -> None:
    user = runtime.gallery.user("runner")
    content_id = workflow_asset(user, [{"name": "epochs", "type": "int", "default": 3}], versions=2)
    first = user.post(f"/assets/{content_id}/run")
    assert first.status_code == 201, first.text
    body = first.json()
    workflow, execution = body["workflow"], body["execution"]
    assert body["missing"] == [] and body["reused"] is False
    assert (workflow["workspace"], workflow["source_content_id"]) == ("default", content_id)
    assert workflow["source_version"] == "1.0.1"  # the latest
    assert workflow["name"] == user.get(f"/assets/{content_id}").json()["name"]
    assert execution["workflow_id"] == workflow["id"] and execution["name"] == "execution-001"
    assert execution["parameters"] == {"epochs": 3}
    assert wait_for(user, execution["id"])["status"] == "succeeded"

    # Again: the workflow imported from that version is used, not a second import.
    again = user.post(f"/assets/{content_id}/run", json={"parameters": {"epochs": 7}})
    assert again.status_code == 201, again.text
    assert again.json()["reused"] is True
    assert again.json()["workflow"]["id"] == workflow["id"]
    second = again.json()["execution"]
    assert second["name"] == "execution-002" and second["parameters"] == {"epochs": 7}
    assert [w["id"] for w in workflows_of(user)] == [workflow["id"]]
    assert wait_for(user, second["id"])["status"] == "succeeded"

    # An older version, into another workspace, under a name: a new import.
    assert user.post("/workspaces", json={"name": "team"}).status_code == 201
    older = user.post(
        f"/assets/{content_id}/run",
        json={"version": "1.0.0", "workspace": "team", "name": "older"},
    )
    assert older.status_code == 201, older.text
    made = older.json()["workflow"]
    assert (made["workspace"], made["name"], made["source_version"]) == ("team", "older", "1.0.0")
    assert older.json()["reused"] is False
    assert wait_for(user, older.json()["execution"]["id"])["status"] == "succeeded"


def test_missing_values_are_named_and_nothing_starts_until_they_are_given(
    runtime: Runtime,
) -> None:
    user = runtime.gallery.user("runner")
    placeholders = [
        {"name": "epochs", "type": "int"},
        {"name": "rate", "type": "float", "default": 0.5},
        {"name": "note", "type": "str", "required": False},
        {"name": "answer", "type": "int", "delay": True},
        {"name": "mode", "type": "enum", "enum_list": ["a", "b"]},
    ]
    content_id = workflow_asset(user, placeholders)
    first = user.post(f"/assets/{content_id}/run")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["execution"] is None and body["missing"] == ["epochs", "mode"]
    workflow_id = body["workflow"]["id"]
    assert user.get(f"/workflows/{workflow_id}/executions").json() == []

    # Nothing was created this time: 200; the saved configuration counts.
    saved = user.put(f"/workflows/{workflow_id}/config", json={"placeholders": {"mode": "b"}})
    assert saved.status_code == 200, saved.text
    still = user.post(f"/assets/{content_id}/run", json={})
    assert still.status_code == 200, still.text
    assert still.json()["missing"] == ["epochs"] and still.json()["reused"] is True

    # Typed values for this run fill the rest: it starts, with an int that stays an int.
    started = user.post(f"/assets/{content_id}/run", json={"parameters": {"epochs": 4}})
    assert started.status_code == 201, started.text
    execution = started.json()["execution"]
    assert execution["parameters"] == {"epochs": 4, "rate": 0.5, "mode": "b"}
    assert wait_for(user, execution["id"])["status"] == "succeeded"


def test_bad_input_is_a_problem_naming_the_field_and_imports_nothing(runtime: Runtime) -> None:
    user = runtime.gallery.user("runner")
    content_id = workflow_asset(user, [{"name": "epochs", "type": "int"}])
    url = f"/assets/{content_id}/run"
    body = problem(user.post(url, json={"parameters": {"epochs": "many"}}), 422)
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [
        ("parameters.epochs", "placeholder")
    ]
    body = problem(user.post(url, json={"parameters": {"nope": 1}}), 422)
    assert body["errors"][0]["field"] == "parameters.nope"
    problem(user.post(url, json={"name": "1 bad"}), 422)
    problem(user.post(url, json={"surprise": True}), 422)
    assert workflows_of(user) == []  # refused runs imported nothing
    algorithm = str(new_asset(user)["content_id"])
    assert publish(user, algorithm, {}).status_code == 201
    body = problem(user.post(f"/assets/{algorithm}/run"), 422)
    assert body["errors"][0]["field"] == "content_id"
    problem(user.post(url, json={"version": "9.9.9"}), 404)
    problem(user.post(url, json={"workspace": "nowhere"}), 404)


def test_access_is_the_import_s_and_the_start_s(runtime: Runtime) -> None:
    owner, other = runtime.gallery.user("owner"), runtime.gallery.user("other")
    private = workflow_asset(owner)
    body = problem(other.post(f"/assets/{private}/run"), 404)
    assert private in body["detail"]
    assert workflows_of(other) == []
    problem(runtime.gallery.client().post(f"/assets/{private}/run"), 401)

    # A public workflow whose algorithm its owner takes back: a 403 naming it.
    algorithm = str(new_asset(owner, visibility="public")["content_id"])
    assert publish(owner, algorithm, {}).status_code == 201
    shared = str(new_asset(owner, kind="workflow", visibility="public")["content_id"])
    manifest = workflow_manifest([{"content_id": algorithm, "version": "1.0.0"}])
    assert publish(owner, shared, manifest).status_code == 201
    owner.patch(f"/assets/{algorithm}", json={"visibility": "private"})
    body = problem(other.post(f"/assets/{shared}/run"), 403)
    assert algorithm in body["detail"]
    assert workflows_of(other) == []


def test_a_yanked_version_is_not_the_default(runtime: Runtime) -> None:
    user = runtime.gallery.user("runner")
    content_id = workflow_asset(user, versions=2)
    yanked = user.patch(f"/assets/{content_id}/versions/1.0.1", json={"status": "yanked"})
    assert yanked.status_code == 200, yanked.text
    done = user.post(f"/assets/{content_id}/run")
    assert done.status_code == 201, done.text
    assert done.json()["workflow"]["source_version"] == "1.0.0"
    assert wait_for(user, done.json()["execution"]["id"])["status"] == "succeeded"
