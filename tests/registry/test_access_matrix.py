"""The access matrix of DESIGN.md "Access rules", cell by cell, over HTTP.

Actors: the owner, a user on the version's whitelist, a member of a whitelisted group, another
signed-in user, an anonymous caller and an administrator. Assets: one per visibility, each with
one version whose whitelist names the whitelisted user and group (whitelists only matter while
the visibility is ``group``). Unreadable always answers 404, exactly like an absent asset.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.gallery import Client, Gallery, make_package, new_asset, publish

ACTORS = ["owner", "whitelisted", "group_member", "other", "anonymous", "admin"]
VISIBILITIES = ["public", "group", "private"]
VERSION = "1.0.0"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


@dataclass
class World:
    """What every cell of the matrix runs against, built once per backend."""

    clients: dict[str, Client]
    owner_name: str
    content_ids: dict[str, str]
    package: bytes

    def cid(self, visibility: str) -> str:
        return self.content_ids[visibility]


@pytest.fixture(scope="module")
def world(gallery: Gallery) -> Iterator[World]:
    owner = gallery.user("owner")
    whitelisted = gallery.user("listed")
    team = gallery.group("team")
    member = gallery.user("member", groups=(team,))
    other = gallery.user("other")
    anonymous = gallery.client()
    package = make_package({"model.py": b"WEIGHTS = [1, 2, 3]\n"})
    content_ids: dict[str, str] = {}
    for visibility in VISIBILITIES:
        asset = new_asset(owner, visibility=visibility, title=f"matrix {visibility}")
        cid = asset["content_id"]
        answer = publish(owner, cid, {"version": VERSION}, package)
        assert answer.status_code == 201, answer.text
        listed = owner.post(
            f"/assets/{cid}/versions/{VERSION}/whitelist",
            json={"principals": [whitelisted.username, f"group:{team}"]},
        )
        assert listed.status_code == 200, listed.text
        content_ids[visibility] = cid
    clients = {
        "owner": owner,
        "whitelisted": whitelisted,
        "group_member": member,
        "other": other,
        "anonymous": anonymous,
        "admin": gallery.admin,
    }
    assert owner.username is not None
    yield World(clients, owner.username, content_ids, package)
    for name, client in clients.items():
        if name != "admin":
            client.close()


def can_read(actor: str, visibility: str) -> bool:
    if visibility == "public" or actor in ("owner", "admin"):
        return True
    if visibility == "group":
        return actor in ("whitelisted", "group_member")
    return False


def signed_in_read(actor: str, visibility: str) -> int:
    """Expected status of package download and import pre-check (signed-in users only)."""
    if not can_read(actor, visibility):
        return 404
    return 401 if actor == "anonymous" else 200


def write_status(actor: str, visibility: str) -> int:
    if not can_read(actor, visibility):
        return 404
    if actor == "anonymous":
        return 401
    return 200 if actor in ("owner", "admin") else 403


def assert_problem(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status
    assert body.keys() >= PROBLEM_KEYS


MATRIX = pytest.mark.parametrize(
    ("visibility", "actor"), [(v, a) for v in VISIBILITIES for a in ACTORS]
)


@MATRIX
def test_read_metadata_and_version(world: World, visibility: str, actor: str) -> None:
    client, cid = world.clients[actor], world.cid(visibility)
    asset = client.get(f"/assets/{cid}")
    version = client.get(f"/assets/{cid}/versions/{VERSION}")
    versions = client.get(f"/assets/{cid}/versions")
    if can_read(actor, visibility):
        assert asset.status_code == 200, asset.text
        assert asset.json()["content_id"] == cid
        assert asset.json()["visibility"] == visibility
        assert asset.json()["owner"] == world.owner_name
        assert version.status_code == 200, version.text
        assert version.json()["version"] == VERSION
        assert version.json()["package_sha256"] == hashlib.sha256(world.package).hexdigest()
        assert versions.status_code == 200, versions.text
        assert [v["version"] for v in versions.json()] == [VERSION]
    else:
        assert_problem(asset, 404)
        assert_problem(version, 404)
        assert_problem(versions, 404)


@MATRIX
def test_download_package(world: World, visibility: str, actor: str) -> None:
    client, cid = world.clients[actor], world.cid(visibility)
    answer = client.get(f"/assets/{cid}/versions/{VERSION}/package")
    expected = signed_in_read(actor, visibility)
    if expected == 200:
        assert answer.status_code == 200, answer.text
        assert answer.content == world.package
        assert answer.headers["x-content-sha256"] == hashlib.sha256(world.package).hexdigest()
    else:
        assert_problem(answer, expected)
        assert world.package not in answer.content
    if expected == 401:
        assert "www-authenticate" in answer.headers


@MATRIX
def test_import_check(world: World, visibility: str, actor: str) -> None:
    client, cid = world.clients[actor], world.cid(visibility)
    answer = client.get(f"/assets/{cid}/versions/{VERSION}/import-check")
    expected = signed_in_read(actor, visibility)
    if expected == 200:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["content_id"] == cid
        assert body["version"] == VERSION
        assert body["importable"] is True
        assert body["blockers"] == []
    else:
        assert_problem(answer, expected)


@MATRIX
def test_write_title(world: World, visibility: str, actor: str) -> None:
    client, cid = world.clients[actor], world.cid(visibility)
    owner = world.clients["owner"]
    before = owner.get(f"/assets/{cid}").json()["title"]
    new_title = f"renamed by {actor} {uuid.uuid4().hex[:6]}"
    answer = client.patch(f"/assets/{cid}", json={"title": new_title})
    expected = write_status(actor, visibility)
    after = owner.get(f"/assets/{cid}").json()
    if expected == 200:
        assert answer.status_code == 200, answer.text
        assert answer.json()["title"] == new_title
        assert after["title"] == new_title
    else:
        assert_problem(answer, expected)
        assert after["title"] == before
    assert after["visibility"] == visibility


@pytest.mark.parametrize("actor", ACTORS)
def test_catalog_lists_exactly_the_readable_assets(world: World, actor: str) -> None:
    answer = world.clients[actor].get(
        "/assets", params={"owner": world.owner_name, "page_size": 100}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = {world.cid(v) for v in VISIBILITIES if can_read(actor, v)}
    assert {item["content_id"] for item in body["items"]} == expected
    assert body["total"] == len(expected)
    assert all(item["owner"] == world.owner_name for item in body["items"])


def _comparable(answer: httpx.Response, content_id: str) -> dict[str, Any]:
    body = answer.json()
    return {
        "status_code": answer.status_code,
        "content_type": answer.headers["content-type"],
        "www_authenticate": answer.headers.get("www-authenticate"),
        "keys": sorted(body),
        "type": body["type"],
        "title": body["title"],
        "status": body["status"],
        "detail": body["detail"].replace(content_id, "<id>"),
        "instance": body["instance"].replace(content_id, "<id>"),
    }


REQUESTS = [
    ("GET", ""),
    ("GET", "/versions"),
    ("GET", f"/versions/{VERSION}"),
    ("GET", f"/versions/{VERSION}/package"),
    ("GET", f"/versions/{VERSION}/import-check"),
    ("PATCH", ""),
]


@pytest.mark.parametrize(
    ("visibility", "actor"),
    [(v, a) for v in VISIBILITIES for a in ACTORS if not can_read(a, v)],
)
@pytest.mark.parametrize(("method", "suffix"), REQUESTS, ids=[f"{m}{s}" for m, s in REQUESTS])
def test_unreadable_looks_exactly_like_absent(
    world: World, visibility: str, actor: str, method: str, suffix: str
) -> None:
    client, cid = world.clients[actor], world.cid(visibility)
    absent = str(uuid.uuid4())
    body = {"title": "probe"} if method == "PATCH" else None
    hidden = client.request(method, f"/assets/{cid}{suffix}", json=body)
    missing = client.request(method, f"/assets/{absent}{suffix}", json=body)
    assert hidden.status_code == 404, hidden.text
    assert _comparable(hidden, cid) == _comparable(missing, absent)
    assert world.clients["owner"].get(f"/assets/{cid}").json()["title"] != "probe"
