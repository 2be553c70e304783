"""Per-version whitelists: edits, who sees them, the cascade to dependencies, import pre-check."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.gallery import (
    Client,
    Gallery,
    make_package,
    new_asset,
    publish,
    workflow_manifest,
)

PROBLEM = "application/problem+json"


def whitelist(
    client: httpx.Client, cid: str, version: str, principals: list[str], *, add: bool = True
) -> httpx.Response:
    return client.request(
        "POST" if add else "DELETE",
        f"/assets/{cid}/versions/{version}/whitelist",
        json={"principals": principals},
    )


def published(
    client: httpx.Client,
    *,
    kind: str = "algorithm",
    visibility: str = "group",
    version: str = "1.0.0",
    dependencies: list[dict[str, str]] | None = None,
    package: bytes | None = None,
) -> str:
    """A new asset of ``client`` with one published version; returns its content id."""
    cid = str(new_asset(client, kind=kind, visibility=visibility)["content_id"])
    manifest: dict[str, Any] = {"version": version}
    if kind == "workflow":
        manifest = workflow_manifest(dependencies, version=version)
    elif dependencies:
        manifest["dependencies"] = dependencies
    answer = publish(client, cid, manifest, package or make_package())
    assert answer.status_code == 201, answer.text
    return cid


def ref(cid: str, version: str = "1.0.0") -> dict[str, str]:
    return {"content_id": cid, "version": version}


def refs(items: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((item["content_id"], item["version"]) for item in items)


def listed_on(owner: httpx.Client, cid: str, version: str = "1.0.0") -> list[str]:
    answer = owner.get(f"/assets/{cid}/versions/{version}")
    assert answer.status_code == 200, answer.text
    names: list[str] = answer.json()["whitelist"]
    return names


def catalog_ids(client: httpx.Client, **params: str) -> set[str]:
    answer = client.get("/assets", params={"page_size": "100", **params})
    assert answer.status_code == 200, answer.text
    return {item["content_id"] for item in answer.json()["items"]}


def name(client: Client) -> str:
    assert client.username is not None
    return client.username


# --- editing the list -----------------------------------------------------------------------


def test_unknown_principal_is_named_and_nothing_changes(gallery: Gallery) -> None:
    owner, bob = gallery.user("owner"), gallery.user("bob")
    cid = published(owner)
    ghost, no_group = "ghost" + uuid.uuid4().hex[:8], "group:nogroup" + uuid.uuid4().hex[:8]

    answer = whitelist(owner, cid, "1.0.0", [name(bob), ghost, no_group])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body = answer.json()
    assert ghost in body["detail"]
    assert no_group in body["detail"]
    assert name(bob) not in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["principals"]
    assert listed_on(owner, cid) == []
    assert bob.get(f"/assets/{cid}").status_code == 404

    assert whitelist(owner, cid, "1.0.0", [name(bob)]).status_code == 200
    removal = whitelist(owner, cid, "1.0.0", [name(bob), ghost], add=False)
    assert removal.status_code == 422, removal.text
    assert ghost in removal.json()["detail"]
    assert listed_on(owner, cid) == [name(bob)]
    assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 200


def test_whitelist_edits_are_idempotent_and_list_users_and_groups(gallery: Gallery) -> None:
    owner, bob = gallery.user("owner"), gallery.user("bob")
    team = gallery.group("team")
    cid = published(owner)
    first = whitelist(owner, cid, "1.0.0", [name(bob), f"group:{team}", name(bob)])
    assert first.status_code == 200, first.text
    again = whitelist(owner, cid, "1.0.0", [f"group:{team}", name(bob)])
    assert again.status_code == 200, again.text
    expected = sorted([name(bob), f"group:{team}"])
    assert first.json()["principals"] == again.json()["principals"] == expected
    assert first.json()["warning"] is None
    assert listed_on(owner, cid) == expected

    gone = whitelist(owner, cid, "1.0.0", [f"group:{team}"], add=False)
    assert gone.status_code == 200, gone.text
    assert gone.json()["principals"] == [name(bob)]
    assert listed_on(owner, cid) == [name(bob)]


def test_empty_principal_list_is_refused(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = published(owner)
    answer = whitelist(owner, cid, "1.0.0", [])
    assert answer.status_code == 422, answer.text
    assert "principals" in answer.json()["detail"]


def test_only_the_owner_sees_the_whitelist(gallery: Gallery) -> None:
    owner, bob, carol = gallery.user("owner"), gallery.user("bob"), gallery.user("carol")
    team = gallery.group("team")
    member = gallery.user("member", groups=(team,))
    cid = published(owner)
    assert whitelist(owner, cid, "1.0.0", [name(bob), f"group:{team}"]).status_code == 200
    expected = sorted([name(bob), f"group:{team}"])

    assert listed_on(owner, cid) == expected
    assert owner.get(f"/assets/{cid}/versions").json()[0]["whitelist"] == expected
    assert gallery.admin.get(f"/assets/{cid}/versions/1.0.0").json()["whitelist"] == expected
    for reader in (bob, member):
        version = reader.get(f"/assets/{cid}/versions/1.0.0")
        assert version.status_code == 200, version.text
        assert version.json()["whitelist"] is None
        assert reader.get(f"/assets/{cid}/versions").json()[0]["whitelist"] is None
        assert name(carol) not in version.text
    assert carol.get(f"/assets/{cid}/versions/1.0.0").status_code == 404

    public = published(owner, visibility="public")
    assert whitelist(owner, public, "1.0.0", [name(bob)]).status_code == 200
    seen = carol.get(f"/assets/{public}/versions/1.0.0")
    assert seen.status_code == 200, seen.text
    assert seen.json()["whitelist"] is None
    assert name(bob) not in seen.text


def test_only_the_owner_edits_the_whitelist(gallery: Gallery) -> None:
    owner, bob, carol = gallery.user("owner"), gallery.user("bob"), gallery.user("carol")
    cid = published(owner)
    assert whitelist(owner, cid, "1.0.0", [name(bob)]).status_code == 200

    assert whitelist(bob, cid, "1.0.0", [name(carol)]).status_code == 403
    assert whitelist(bob, cid, "1.0.0", [name(bob)], add=False).status_code == 403
    assert whitelist(carol, cid, "1.0.0", [name(carol)]).status_code == 404
    with gallery.client() as anonymous:
        assert whitelist(anonymous, cid, "1.0.0", [name(carol)]).status_code == 404
        public = published(owner, visibility="public")
        assert whitelist(anonymous, public, "1.0.0", [name(carol)]).status_code == 401
    assert listed_on(owner, cid) == [name(bob)]
    assert carol.get(f"/assets/{cid}").status_code == 404

    by_admin = whitelist(gallery.admin, cid, "1.0.0", [name(carol)])
    assert by_admin.status_code == 200, by_admin.text
    assert carol.get(f"/assets/{cid}/versions/1.0.0").status_code == 200


# --- who gets in ----------------------------------------------------------------------------


def test_group_whitelist_follows_group_membership(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    team = gallery.group("team")
    member = gallery.user("member", groups=(team,))
    cid = published(owner)
    assert member.get(f"/assets/{cid}").status_code == 404
    assert whitelist(owner, cid, "1.0.0", [f"group:{team}"]).status_code == 200
    assert member.get(f"/assets/{cid}/versions/1.0.0/package").status_code == 200
    assert cid in catalog_ids(member, owner=name(owner))

    left = gallery.admin.request(
        "DELETE", f"/groups/{team}/members", json={"usernames": [name(member)]}
    )
    assert left.status_code == 200, left.text
    assert member.get(f"/assets/{cid}").status_code == 404
    assert member.get(f"/assets/{cid}/versions/1.0.0/package").status_code == 404
    assert cid not in catalog_ids(member, owner=name(owner))


def test_whitelist_is_per_version(gallery: Gallery) -> None:
    owner, bob = gallery.user("owner"), gallery.user("bob")
    first, second = make_package({"v.txt": b"1.0.0"}), make_package({"v.txt": b"1.0.1"})
    cid = published(owner, package=first)
    assert publish(owner, cid, {"version": "1.0.1"}, second).status_code == 201
    assert whitelist(owner, cid, "1.0.0", [name(bob)]).status_code == 200
    assert listed_on(owner, cid, "1.0.1") == []

    asset = bob.get(f"/assets/{cid}")
    assert asset.status_code == 200, asset.text
    assert cid in catalog_ids(bob, owner=name(owner))
    assert [v["version"] for v in bob.get(f"/assets/{cid}/versions").json()] == ["1.0.0"]
    assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 200
    assert bob.get(f"/assets/{cid}/versions/1.0.0/package").content == first

    for suffix in ("", "/package", "/import-check"):
        hidden = bob.get(f"/assets/{cid}/versions/1.0.1{suffix}")
        absent = bob.get(f"/assets/{cid}/versions/9.9.9{suffix}")
        assert hidden.status_code == absent.status_code == 404, hidden.text
        assert hidden.json()["title"] == absent.json()["title"]
        assert hidden.json()["detail"].replace("1.0.1", "X") == absent.json()["detail"].replace(
            "9.9.9", "X"
        )
        assert second not in hidden.content
    assert [v["version"] for v in owner.get(f"/assets/{cid}/versions").json()] == [
        "1.0.1",
        "1.0.0",
    ]


def test_whitelist_on_a_private_asset_warns_and_waits_for_group(gallery: Gallery) -> None:
    owner, bob = gallery.user("owner"), gallery.user("bob")
    cid = published(owner, visibility="private")
    answer = whitelist(owner, cid, "1.0.0", [name(bob)])
    assert answer.status_code == 200, answer.text
    assert answer.json()["principals"] == [name(bob)]
    assert "group" in answer.json()["warning"]
    assert bob.get(f"/assets/{cid}").status_code == 404
    assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 404
    assert cid not in catalog_ids(bob, owner=name(owner))

    assert owner.patch(f"/assets/{cid}", json={"visibility": "group"}).status_code == 200
    assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 200
    assert cid in catalog_ids(bob, owner=name(owner))

    assert owner.patch(f"/assets/{cid}", json={"visibility": "private"}).status_code == 200
    assert bob.get(f"/assets/{cid}").status_code == 404
    assert cid not in catalog_ids(bob, owner=name(owner))


# --- the cascade ----------------------------------------------------------------------------


def test_whitelist_cascades_to_the_owners_dependency_versions(gallery: Gallery) -> None:
    owner, stranger, bob = gallery.user("owner"), gallery.user("other"), gallery.user("bob")
    algo_package = make_package({"algo.py": b"print('train')\n"})
    first = published(owner, package=algo_package)
    second = published(owner, package=algo_package)
    foreign = published(stranger, visibility="public")
    dependencies = [ref(first), ref(second), ref(foreign)]
    flow = published(owner, kind="workflow", dependencies=dependencies)
    assert refs(owner.get(f"/assets/{flow}/versions/1.0.0").json()["dependencies"]) == refs(
        dependencies
    )
    for cid in (flow, first, second):
        assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 404

    added = whitelist(owner, flow, "1.0.0", [name(bob)])
    assert added.status_code == 200, added.text
    assert refs(added.json()["cascaded_to"]) == refs([ref(first), ref(second)])
    assert refs(added.json()["not_cascaded"]) == refs([ref(foreign)])
    assert listed_on(owner, first) == listed_on(owner, second) == [name(bob)]
    assert listed_on(stranger, foreign) == []

    for cid in (first, second):
        assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 200
        download = bob.get(f"/assets/{cid}/versions/1.0.0/package")
        assert download.status_code == 200, download.text
        assert download.content == algo_package
    check = bob.get(f"/assets/{flow}/versions/1.0.0/import-check")
    assert check.status_code == 200, check.text
    assert check.json()["importable"] is True
    assert check.json()["blockers"] == []

    removed = whitelist(owner, flow, "1.0.0", [name(bob)], add=False)
    assert removed.status_code == 200, removed.text
    assert removed.json()["principals"] == []
    assert refs(removed.json()["cascaded_to"]) == refs([ref(first), ref(second)])
    assert refs(removed.json()["not_cascaded"]) == refs([ref(foreign)])
    assert listed_on(owner, first) == listed_on(owner, second) == []
    for cid in (flow, first, second):
        assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 404
        assert bob.get(f"/assets/{cid}/versions/1.0.0/package").status_code == 404
    assert bob.get(f"/assets/{foreign}/versions/1.0.0").status_code == 200


def test_cascade_touches_only_the_depended_on_versions(gallery: Gallery) -> None:
    owner, bob = gallery.user("owner"), gallery.user("bob")
    algo = published(owner)
    assert publish(owner, algo, {"version": "1.1.0"}, make_package()).status_code == 201
    flow = published(owner, kind="workflow", dependencies=[ref(algo, "1.1.0")])
    added = whitelist(owner, flow, "1.0.0", [name(bob)])
    assert refs(added.json()["cascaded_to"]) == [(algo, "1.1.0")]
    assert listed_on(owner, algo, "1.1.0") == [name(bob)]
    assert listed_on(owner, algo, "1.0.0") == []
    assert bob.get(f"/assets/{algo}/versions/1.1.0").status_code == 200
    assert bob.get(f"/assets/{algo}/versions/1.0.0").status_code == 404


def test_cascade_stops_at_versions_of_other_owners(gallery: Gallery) -> None:
    alice, bob, carol = gallery.user("alice"), gallery.user("bob"), gallery.user("carol")
    algo = published(alice)
    hidden = publish(
        bob, str(new_asset(bob, kind="workflow")["content_id"]), workflow_manifest([ref(algo)])
    )
    absent_ref = ref(str(uuid.uuid4()))
    absent = publish(
        bob, str(new_asset(bob, kind="workflow")["content_id"]), workflow_manifest([absent_ref])
    )
    assert hidden.status_code == absent.status_code == 422, hidden.text
    assert hidden.json()["detail"].replace(algo, "X") == absent.json()["detail"].replace(
        absent_ref["content_id"], "X"
    )

    assert whitelist(alice, algo, "1.0.0", [name(bob)]).status_code == 200
    flow = published(bob, kind="workflow", dependencies=[ref(algo)])
    shared = whitelist(bob, flow, "1.0.0", [name(carol)])
    assert shared.status_code == 200, shared.text
    assert shared.json()["cascaded_to"] == []
    assert refs(shared.json()["not_cascaded"]) == [(algo, "1.0.0")]
    assert listed_on(alice, algo) == [name(bob)]
    assert carol.get(f"/assets/{flow}/versions/1.0.0").status_code == 200
    assert carol.get(f"/assets/{algo}/versions/1.0.0").status_code == 404
    check = carol.get(f"/assets/{flow}/versions/1.0.0/import-check").json()
    assert check["importable"] is False
    assert [b["content_id"] for b in check["blockers"]] == [algo]


# --- import pre-check -----------------------------------------------------------------------


def test_import_check_names_unreadable_and_yanked_dependencies(gallery: Gallery) -> None:
    owner, bob = gallery.user("owner"), gallery.user("bob")
    hidden = published(owner, visibility="group")
    open_algo = published(owner, visibility="public")
    flow = published(
        owner, kind="workflow", visibility="public", dependencies=[ref(hidden), ref(open_algo)]
    )
    assert bob.get(f"/assets/{hidden}/versions/1.0.0").status_code == 404
    check = bob.get(f"/assets/{flow}/versions/1.0.0/import-check")
    assert check.status_code == 200, check.text
    assert check.json()["importable"] is False
    assert [(b["content_id"], b["version"]) for b in check.json()["blockers"]] == [
        (hidden, "1.0.0")
    ]
    assert check.json()["blockers"][0]["reason"]

    yanked = owner.patch(f"/assets/{open_algo}/versions/1.0.0", json={"status": "yanked"})
    assert yanked.status_code == 200, yanked.text
    blockers = bob.get(f"/assets/{flow}/versions/1.0.0/import-check").json()["blockers"]
    by_id = {b["content_id"]: b["reason"] for b in blockers}
    assert set(by_id) == {hidden, open_algo}
    assert "yanked" in by_id[open_algo]
    assert "yanked" not in by_id[hidden]

    mine = owner.get(f"/assets/{flow}/versions/1.0.0/import-check").json()
    assert mine["importable"] is False
    assert [(b["content_id"], b["reason"]) for b in mine["blockers"]] == [(open_algo, "yanked")]

    assert whitelist(owner, hidden, "1.0.0", [name(bob)]).status_code == 200
    blockers = bob.get(f"/assets/{flow}/versions/1.0.0/import-check").json()["blockers"]
    assert [b["content_id"] for b in blockers] == [open_algo]

    restored = owner.patch(f"/assets/{open_algo}/versions/1.0.0", json={"status": "active"})
    assert restored.status_code == 200, restored.text
    final = bob.get(f"/assets/{flow}/versions/1.0.0/import-check").json()
    assert final == {"content_id": flow, "version": "1.0.0", "importable": True, "blockers": []}


def test_import_check_of_a_yanked_version(gallery: Gallery) -> None:
    owner, bob = gallery.user("owner"), gallery.user("bob")
    flow = published(owner, kind="workflow", visibility="public")
    assert owner.patch(f"/assets/{flow}/versions/1.0.0", json={"status": "yanked"}).is_success
    check = bob.get(f"/assets/{flow}/versions/1.0.0/import-check")
    assert check.status_code == 200, check.text
    assert check.json()["importable"] is False
    assert [(b["content_id"], b["reason"]) for b in check.json()["blockers"]] == [(flow, "yanked")]


# --- the "Done when" ----------------------------------------------------------------


def test_done_when_private_then_shared_with_one_user(gallery: Gallery) -> None:
    alice, bob = gallery.user("alice"), gallery.user("bob")
    asset = new_asset(alice, title="Tumour segmentation", visibility="private")
    cid, asset_name = asset["content_id"], asset["name"]
    package = make_package({"segment.py": b"print('segment')\n"})
    version = publish(alice, cid, {}, package)
    assert version.status_code == 201, version.text
    assert version.json()["version"] == "1.0.0"

    absent = bob.get(f"/assets/{uuid.uuid4()}")
    hidden = bob.get(f"/assets/{cid}")
    assert hidden.status_code == 404
    assert hidden.json()["title"] == absent.json()["title"]
    assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 404
    assert cid not in catalog_ids(bob, q=asset_name)
    assert cid in catalog_ids(alice, q=asset_name)

    shared = alice.patch(f"/assets/{cid}", json={"visibility": "group"})
    assert shared.status_code == 200, shared.text
    assert bob.get(f"/assets/{cid}").status_code == 404
    assert cid not in catalog_ids(bob, q=asset_name)
    listed = whitelist(alice, cid, "1.0.0", [name(bob)])
    assert listed.status_code == 200, listed.text
    assert listed.json()["warning"] is None

    read = bob.get(f"/assets/{cid}")
    assert read.status_code == 200, read.text
    assert read.json()["name"] == asset_name
    assert read.json()["owner"] == alice.username
    assert bob.get(f"/assets/{cid}/versions/1.0.0").status_code == 200
    assert bob.get(f"/assets/{cid}/versions/1.0.0/package").content == package
    found = bob.get("/assets", params={"q": asset_name}).json()
    assert [item["content_id"] for item in found["items"]] == [cid]
    assert found["total"] == 1

    with gallery.user("carol") as carol:
        assert carol.get(f"/assets/{cid}").status_code == 404
        assert cid not in catalog_ids(carol, q=asset_name)


def test_latest_version_is_the_latest_the_caller_may_read(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    reader = gallery.user("reader")
    cid = published(owner)
    assert publish(owner, cid, {"version": "1.1.0"}, make_package()).status_code == 201
    assert whitelist(owner, cid, "1.0.0", [name(reader)]).status_code == 200

    assert owner.get(f"/assets/{cid}").json()["latest_version"] == "1.1.0"
    assert reader.get(f"/assets/{cid}").json()["latest_version"] == "1.0.0"
    listed = reader.get("/assets", params={"owner": name(owner)}).json()["items"]
    assert [item["latest_version"] for item in listed] == ["1.0.0"]
    subscribed = reader.post(f"/assets/{cid}/subscription", json={"accept_terms": True})
    assert subscribed.json()["latest_version"] == "1.0.0"
    assert publish(owner, cid, {"version": "1.2.0"}, make_package()).status_code == 201
    mine = reader.get("/subscriptions").json()
    assert [(s["latest_version"], s["new_versions"]) for s in mine] == [("1.0.0", 0)]
    assert whitelist(owner, cid, "1.2.0", [name(reader)]).status_code == 200
    mine = reader.get("/subscriptions").json()
    assert [(s["latest_version"], s["new_versions"]) for s in mine] == [("1.2.0", 1)]


def test_removing_a_workflow_share_keeps_what_another_shared_workflow_needs(
    gallery: Gallery,
) -> None:
    owner = gallery.user("owner")
    bob = gallery.user("bob")
    algorithm = published(owner)
    first = published(owner, kind="workflow", dependencies=[ref(algorithm)])
    second = published(owner, kind="workflow", dependencies=[ref(algorithm)])
    for workflow in (first, second):
        assert whitelist(owner, workflow, "1.0.0", [name(bob)]).status_code == 200

    assert whitelist(owner, first, "1.0.0", [name(bob)], add=False).status_code == 200
    assert bob.get(f"/assets/{first}/versions/1.0.0").status_code == 404
    check = bob.get(f"/assets/{second}/versions/1.0.0/import-check").json()
    assert check["importable"] is True, check
    assert bob.get(f"/assets/{algorithm}/versions/1.0.0/package").status_code == 200

    assert whitelist(owner, second, "1.0.0", [name(bob)], add=False).status_code == 200
    assert bob.get(f"/assets/{algorithm}/versions/1.0.0").status_code == 404


def test_nul_characters_in_names_are_refused_not_crashed_on(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = published(owner)
    answer = whitelist(owner, cid, "1.0.0", ["bad\x00name"])
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "principals[0]"
    token = gallery.client().post(
        "/auth/token",
        data={"grant_type": "password", "username": "ad\x00min", "password": "x" * 10},
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"
    assert gallery.admin.get("/groups/g%00x").status_code == 404
    members = gallery.admin.post(
        f"/groups/{gallery.group()}/members", json={"usernames": ["a\x00b"]}
    )
    assert members.status_code == 422
