"""A workspace's workflow list is a list of summaries: no spec, no configuration, filters by the
status of the latest execution and by tag; the spec is in the workflow's own read."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.executions import record_runs
from tests.support.gallery import Gallery, new_asset, publish, workflow_manifest

PROBLEM = "application/problem+json"
SUMMARY_KEYS = {
    "id",
    "workspace",
    "name",
    "source_content_id",
    "source_version",
    "development",
    "status",
    "latest_execution",
    "latest_execution_id",
    "latest_started_at",
    "latest_finished_at",
    "tags",
    "created_at",
    "updated_at",
}


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    return body


def big_workflow(client: httpx.Client) -> str:
    """A published workflow asset whose spec is large (twenty steps, a long description)."""
    content_id = new_asset(client, kind="workflow")["content_id"]
    manifest = workflow_manifest()
    check = manifest["spec"]["steps"][0]
    manifest["spec"]["steps"] = [{**check, "name": f"check{i:02d}"} for i in range(20)]
    manifest["spec"]["description"] = "words " * 2000
    manifest["spec"]["placeholders"] = [{"name": "epochs", "type": "int", "default": 3}]
    assert publish(client, content_id, manifest).status_code == 201
    return content_id


def imported(client: httpx.Client, content_id: str, name: str, tags: list[str]) -> str:
    made = client.post(
        "/workspaces/default/workflows", json={"content_id": content_id, "name": name}
    )
    assert made.status_code == 201, made.text
    workflow_id = str(made.json()["id"])
    if tags:
        tagged = client.patch(f"/workflows/{workflow_id}", json={"tags": tags})
        assert tagged.status_code == 200, tagged.text
    return workflow_id


def names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(row["name"] for row in answer.json())


def test_the_list_holds_summaries_and_the_read_holds_the_spec(gallery: Gallery) -> None:
    owner = gallery.user("sum")
    content_id = big_workflow(owner)
    ids = [imported(owner, content_id, f"flow{i:02d}", []) for i in range(5)]
    record_runs(gallery, ids[0], ["failed", "succeeded"])

    listed = owner.get("/workspaces/default/workflows")
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert {row["id"] for row in rows} == set(ids)
    for row in rows:
        assert set(row) == SUMMARY_KEYS, row  # no spec, no config
        assert (row["source_content_id"], row["source_version"]) == (content_id, "1.0.0")
        assert row["workspace"] == "default"
    # Each summary is small, however large the spec (this one is over 12 KB).
    one = owner.get(f"/workflows/{ids[0]}")
    assert one.status_code == 200
    assert len(one.content) > 12_000
    assert len(listed.content) < 5 * 700, len(listed.content)

    by_id = {row["id"]: row for row in rows}
    assert by_id[ids[0]]["status"] == "succeeded"
    assert by_id[ids[0]]["latest_execution"] == "execution-002"
    assert by_id[ids[1]]["status"] is None and by_id[ids[1]]["latest_execution"] is None

    # The single read has the spec and the configuration, and the latest status too.
    read = one.json()
    assert len(read["spec"]["steps"]) == 20
    assert read["config"] == {"placeholders": {}, "storages": {}, "scene": None}
    assert read["status"] == "succeeded"
    assert owner.get(f"/workflows/{ids[1]}").json()["status"] is None


def test_filters_by_latest_status_tag_and_name(gallery: Gallery) -> None:
    owner = gallery.user("filt")
    content_id = big_workflow(owner)
    alpha = imported(owner, content_id, "alpha", ["vision", "demo"])
    beta = imported(owner, content_id, "beta", ["vision"])
    imported(owner, content_id, "gamma", ["demo-2", "x9y"])
    record_runs(gallery, alpha, ["failed", "succeeded"])
    record_runs(gallery, beta, ["running"])
    url = "/workspaces/default/workflows"

    def listed(**params: str) -> list[str]:
        return names(owner.get(url, params=params))

    assert listed() == ["alpha", "beta", "gamma"]
    assert listed(status="succeeded") == ["alpha"]
    assert listed(status="failed") == []  # only the latest execution counts
    assert listed(status="running") == ["beta"]
    assert listed(status="none") == ["gamma"]
    assert listed(tag="vision") == ["alpha", "beta"]
    assert listed(tag="Vision") == ["alpha", "beta"]  # tags are stored in lower case
    assert listed(tag="demo") == ["alpha"]  # a whole tag, not a part of one
    assert listed(tag="demo-2") == ["gamma"]
    assert listed(tag="x_y") == []  # '_' is a character, not LIKE's "any one character"
    assert listed(tag="vision", status="running") == ["beta"]
    assert listed(tag="vision", status="none") == []
    assert listed(q="amm") == ["gamma"]
    assert listed(q="a", status="succeeded", tag="demo") == ["alpha"]
    assert listed(q="%") == [] and listed(q="_") == []

    for params, field, rule in (
        ({"status": "bogus"}, "status", "enum"),
        ({"tag": "two words"}, "tag", "tag"),
        ({"tag": "+plus"}, "tag", "tag"),
    ):
        body = problem(owner.get(url, params=params), 422)
        assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == (field, rule), body
        assert field in body["detail"]
    for params in ({"tag": "x" * 33}, {"q": "x" * 65}):
        answer = owner.get(url, params=params)
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM)
    assert owner.get(url, params={"q": "a\x00"}).json() == []


def test_other_users_see_no_summary(gallery: Gallery) -> None:
    owner, other = gallery.user("own"), gallery.user("other")
    content_id = big_workflow(owner)
    imported(owner, content_id, "mine", ["secret"])
    assert other.get("/workspaces/default/workflows").json() == []
    assert other.get("/workspaces/default/workflows", params={"tag": "secret"}).json() == []
    assert owner.post("/workspaces", json={"name": "team"}).status_code == 201
    problem(other.get("/workspaces/team/workflows"), 404)
    problem(gallery.client().get("/workspaces/default/workflows"), 401)


def test_copy_takes_a_name(gallery: Gallery) -> None:
    owner = gallery.user("copy")
    content_id = big_workflow(owner)
    workflow_id = imported(owner, content_id, "base", ["kept"])
    url = f"/workflows/{workflow_id}/copy"
    twin = owner.post(url, json={"name": "twin"})
    assert twin.status_code == 201, twin.text
    assert (twin.json()["name"], twin.json()["tags"]) == ("twin", ["kept"])
    assert owner.post(url).json()["name"] == "base_copy"  # no body: the default name
    assert problem(owner.post(url, json={"name": "twin"}), 409)["detail"]
    body = problem(owner.post(url, json={"name": "2twin"}), 422)
    assert body["errors"][0]["field"] == "name", body
    problem(owner.post(url, json={"name": "ok", "extra": 1}), 422)
    assert names(owner.get("/workspaces/default/workflows")) == ["base", "base_copy", "twin"]
    problem(gallery.user("stranger").post(url, json={"name": "theirs"}), 404)
