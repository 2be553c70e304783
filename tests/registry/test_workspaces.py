"""Workspaces and runtime workflows: import with access checks, typed configuration, isolation."""

from __future__ import annotations

import re
from typing import Any

import pytest

import sdk as wf
from sdk.examples.digits.workflow import workflow as digits
from tests.sdk.support import token_of
from tests.support.gallery import Client, Gallery

PROBLEM = "application/problem+json"


def release(gallery: Gallery, owner: Client, **kwargs: Any) -> wf.Release:
    session = wf.Session(gallery.base_url, token_of(owner))
    example = wf.Workflow(
        name=digits.name,
        desc=digits.desc,
        steps=digits.steps,
        storages=digits.storages,
        policy=digits.policy,
        session=session,
    )
    return example.release_to_gallery(**kwargs)


def problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def imported(gallery: Gallery) -> tuple[Client, dict[str, Any], wf.Release]:
    owner = gallery.user("owner")
    published = release(gallery, owner)
    answer = owner.post(
        "/workspaces/default/workflows",
        json={"content_id": published.content_id, "version": published.version, "name": "digits"},
    )
    assert answer.status_code == 201, answer.text
    return owner, answer.json(), published


def test_every_user_has_a_default_workspace(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    assert [w["name"] for w in alice.get("/workspaces").json()] == ["default"]
    assert alice.post("/workspaces", json={"name": "team"}).status_code == 201
    assert [w["name"] for w in alice.get("/workspaces").json()] == ["default", "team"]
    problem(alice.post("/workspaces", json={"name": "team"}), 409)
    problem(alice.post("/workspaces", json={"name": "9team"}), 422)
    assert gallery.client().get("/workspaces").status_code == 401


def test_import_freezes_the_spec_of_the_chosen_version(
    imported: tuple[Client, dict[str, Any], wf.Release],
) -> None:
    owner, workflow, published = imported
    assert workflow["name"] == "digits" and workflow["workspace"] == "default"
    assert (workflow["source_content_id"], workflow["source_version"]) == (
        published.content_id,
        published.version,
    )
    assert [s["name"] for s in workflow["spec"]["steps"]] == [
        "prepare",
        "train",
        "good_enough",
        "export",
        "report",
    ]
    listed = owner.get("/workspaces/default/workflows").json()
    assert [w["id"] for w in listed] == [workflow["id"]]


def test_import_rules(
    gallery: Gallery, imported: tuple[Client, dict[str, Any], wf.Release]
) -> None:
    owner, _, published = imported
    source = {"content_id": published.content_id}
    problem(owner.post("/workspaces/default/workflows", json={**source, "name": "digits"}), 409)
    body = problem(owner.post("/workspaces/default/workflows", json={**source, "name": "1x"}), 422)
    assert "name" in body["detail"]
    made = owner.post("/workspaces/default/workflows", json=source)
    assert made.status_code == 201, made.text
    assert re.fullmatch(r"workflow_[0-9a-f]{4}", made.json()["name"])
    problem(owner.post("/workspaces/nope/workflows", json=source), 404)
    algorithm = published.algorithms[0].content_id
    body = problem(owner.post("/workspaces/default/workflows", json={"content_id": algorithm}), 422)
    assert body["errors"][0]["field"] == "content_id"


def test_import_needs_access_to_the_workflow_and_its_algorithms(gallery: Gallery) -> None:
    owner, stranger, friend = (
        gallery.user("owner"),
        gallery.user("stranger"),
        gallery.user("friend"),
    )
    published = release(gallery, owner, visibility="group", group_users=[friend.username or ""])
    source = {"content_id": published.content_id, "version": published.version}
    # Not shared with the stranger: they cannot tell it exists.
    problem(stranger.post("/workspaces/default/workflows", json=source), 404)
    # The friend is whitelisted (and, by the cascade, on every algorithm version) ...
    check = friend.get(f"/assets/{published.content_id}/versions/{published.version}/import-check")
    assert check.json()["importable"] is True, check.text
    # ... until the owner takes one algorithm back: the import is refused, naming it.
    train = next(a for a in published.algorithms if a.name == "digits_train")
    owner.patch(f"/assets/{train.content_id}", json={"visibility": "private"})
    body = problem(friend.post("/workspaces/default/workflows", json=source), 403)
    assert train.content_id in body["detail"]
    assert [b["content_id"] for b in body["blockers"]] == [train.content_id]
    assert friend.get("/workspaces/default/workflows").json() == []
    owner.patch(f"/assets/{train.content_id}", json={"visibility": "group"})
    assert friend.post("/workspaces/default/workflows", json=source).status_code == 201


def test_configuration_is_typed_and_names_what_is_wrong(
    imported: tuple[Client, dict[str, Any], wf.Release],
) -> None:
    owner, workflow, _ = imported
    url = f"/workflows/{workflow['id']}/config"
    space = next(w for w in owner.get("/workspaces").json() if w["name"] == "default")["storage"]
    assert space == f"/{owner.get('/me').json()['username']}/default/"
    good = {
        "placeholders": {"c": 2.5, "model_type": "logreg", "test_size": 0.2},
        "storages": {"output": f"{space}results/digits/"},
        "scene": "train_and_export",
    }
    saved = owner.put(url, json=good)
    assert saved.status_code == 200, saved.text
    assert saved.json()["config"] == good
    cases = [
        ({"placeholders": {"c": "high"}}, "placeholders.c", "float"),
        ({"placeholders": {"model_type": "forest"}}, "placeholders.model_type", "enum"),
        ({"placeholders": {"nope": 1}}, "placeholders.nope", "exists"),
        ({"storages": {"output": "results"}}, "storages.output", "root"),
        ({"storages": {"other": "/a/b/"}}, "storages.other", "exists"),
        # Another workspace's namespace, another user's, the bucket itself, a look-alike.
        ({"storages": {"output": "/results/digits/"}}, "storages.output", "namespace"),
        ({"storages": {"output": "/admin/default/x/"}}, "storages.output", "namespace"),
        ({"storages": {"output": space.rsplit("/", 2)[0] + "/"}}, "storages.output", "namespace"),
        ({"storages": {"output": space[:-1] + "2/x/"}}, "storages.output", "namespace"),
        ({"scene": "everything"}, "scene", "exists"),
    ]
    for config, field, rule in cases:
        body = problem(owner.put(url, json=config), 422)
        assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == (field, rule), body
    # Refused configurations change nothing.
    assert owner.get(f"/workflows/{workflow['id']}").json()["config"] == good


def test_rename_tag_copy_and_delete(imported: tuple[Client, dict[str, Any], wf.Release]) -> None:
    owner, workflow, _ = imported
    url = f"/workflows/{workflow['id']}"
    renamed = owner.patch(url, json={"name": "digits_v2", "tags": ["Vision", "demo"]})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["tags"]) == ("digits_v2", ["vision", "demo"])
    problem(owner.patch(url, json={"name": "bad name"}), 422)
    twin = owner.post(f"{url}/copy")
    assert twin.status_code == 201 and twin.json()["name"] == "digits_v2_copy"
    assert owner.post(f"{url}/copy").json()["name"] == "digits_v2_copy2"
    names = [
        w["name"] for w in owner.get("/workspaces/default/workflows", params={"q": "copy"}).json()
    ]
    assert sorted(names) == ["digits_v2_copy", "digits_v2_copy2"]
    tagged = owner.get("/workspaces/default/workflows", params={"tag": "vision"}).json()
    assert len(tagged) == 3
    assert owner.delete(url).status_code == 204
    problem(owner.get(url), 404)


def test_other_users_see_nothing_of_my_workspace(
    gallery: Gallery, imported: tuple[Client, dict[str, Any], wf.Release]
) -> None:
    _, workflow, _ = imported
    other = gallery.user("other")
    url = f"/workflows/{workflow['id']}"
    for answer in (
        other.get(url),
        other.patch(url, json={"name": "mine"}),
        other.put(f"{url}/config", json={}),
        other.post(f"{url}/copy"),
        other.delete(url),
    ):
        problem(answer, 404)
    assert other.get("/workspaces/default/workflows").json() == []
    problem(gallery.client().get(url), 401)
