"""Versions: semver numbering, immutability, status and latest, concurrency, atomic visibility."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.accounts.models import User
from registry.assets.models import Asset, AssetVersion
from registry.blobs.local import LocalBlobStore
from registry.db import Database
from registry.migrate import upgrade
from registry.versions.service import sweep_orphans
from tests.conftest import require_postgres
from tests.support.databases import postgres_database, sqlite_url
from tests.support.gallery import Gallery, make_package, new_asset, publish, workflow_manifest

PROBLEM = "application/problem+json"


def token_of(client: httpx.Client) -> str:
    return str(client.headers["authorization"]).split(" ", 1)[1]


def versions_of(client: httpx.Client, content_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/assets/{content_id}/versions")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def version_numbers(client: httpx.Client, content_id: str) -> list[str]:
    return [v["version"] for v in versions_of(client, content_id)]


def blob_files(gallery: Gallery, content_id: str) -> list[Path]:
    folder = gallery.settings.data_dir / "blobs" / "packages" / content_id
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def assert_blobs_match_versions(gallery: Gallery, client: httpx.Client, content_id: str) -> None:
    """Every package file on disk belongs to a visible version, and every package is there."""
    files = blob_files(gallery, content_id)
    on_disk = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in files)
    referenced = sorted(
        v["package_sha256"] for v in versions_of(client, content_id) if v["package_sha256"]
    )
    assert on_disk == referenced, [p.name for p in files]


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def set_status(client: httpx.Client, content_id: str, version: str, status: str) -> httpx.Response:
    return client.patch(f"/assets/{content_id}/versions/{version}", json={"status": status})


def latest_of(client: httpx.Client, content_id: str) -> str | None:
    answer = client.get(f"/assets/{content_id}")
    assert answer.status_code == 200, answer.text
    latest: str | None = answer.json()["latest_version"]
    return latest


# --- numbering ---------------------------------------------------------------------------------


def test_versions_without_number_count_up_from_1_0_0(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    assert latest_of(alice, cid) is None
    got = [publish(alice, cid, {}, make_package()) for _ in range(3)]
    assert [a.status_code for a in got] == [201, 201, 201]
    assert [a.json()["version"] for a in got] == ["1.0.0", "1.0.1", "1.0.2"]
    assert version_numbers(alice, cid) == ["1.0.2", "1.0.1", "1.0.0"]
    assert latest_of(alice, cid) == "1.0.2"


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0-rc.1", "0.1.0", "10.20.30+build.7"])
def test_explicit_valid_semver_is_accepted(gallery: Gallery, version: str) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    answer = publish(alice, cid, {"version": version}, make_package())
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == version
    assert alice.get(f"/assets/{cid}/versions/{version}").json()["version"] == version


def test_explicit_duplicate_version_is_a_conflict(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    first = publish(alice, cid, {"version": "2.0.0", "description": "original"}, make_package())
    assert first.status_code == 201, first.text
    again = publish(alice, cid, {"version": "2.0.0", "description": "changed"}, make_package())
    body = assert_problem(again, 409)
    assert "2.0.0" in body["detail"]
    # The original is untouched and still the only one.
    assert version_numbers(alice, cid) == ["2.0.0"]
    kept = alice.get(f"/assets/{cid}/versions/2.0.0").json()
    assert kept["description"] == "original"
    assert kept["package_sha256"] == first.json()["package_sha256"]
    assert_blobs_match_versions(gallery, alice, cid)


@pytest.mark.parametrize(
    "version", ["1.0", "v1.0.0", "01.0.0", "abc", "1.0.0.0", "", "1.0.0-", " 1.0.0"]
)
def test_invalid_version_is_refused_with_semver_rule(gallery: Gallery, version: str) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    answer = publish(alice, cid, {"version": version}, make_package())
    body = assert_problem(answer, 422)
    assert body["errors"][0]["field"] == "version"
    assert body["errors"][0]["rule"] == "semver"
    assert version_numbers(alice, cid) == []
    assert blob_files(gallery, cid) == []


def test_auto_version_finalises_a_prerelease_top(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    assert publish(alice, cid, {"version": "1.0.0"}).status_code == 201
    rc = publish(alice, cid, {"version": "2.1.0-rc.1"})
    assert rc.status_code == 201, rc.text
    # A pre-release never becomes the latest by itself.
    assert latest_of(alice, cid) == "1.0.0"
    final = publish(alice, cid, {})
    assert final.status_code == 201, final.text
    assert final.json()["version"] == "2.1.0"
    assert latest_of(alice, cid) == "2.1.0"
    assert publish(alice, cid, {}).json()["version"] == "2.1.1"
    assert version_numbers(alice, cid) == ["2.1.1", "2.1.0", "2.1.0-rc.1", "1.0.0"]


# --- immutability and status -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"description": "rewritten"},
        {"status": "active", "description": "rewritten"},
        {"version": "9.9.9"},
        {"package_sha256": "0" * 64},
        {"status": "deleted"},
        {},
    ],
)
def test_published_version_cannot_be_edited(gallery: Gallery, change: dict[str, Any]) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    published = publish(alice, cid, {"description": "original"}, make_package())
    assert published.status_code == 201
    answer = alice.patch(f"/assets/{cid}/versions/1.0.0", json=change)
    assert_problem(answer, 422)
    after = alice.get(f"/assets/{cid}/versions/1.0.0").json()
    assert after["description"] == "original"
    assert after["status"] == "active"
    assert after["package_sha256"] == published.json()["package_sha256"]


def test_status_changes_move_latest_version(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice, visibility="public")["content_id"]
    for _ in range(3):
        assert publish(alice, cid, {}, make_package()).status_code == 201
    assert latest_of(alice, cid) == "1.0.2"

    yanked = set_status(alice, cid, "1.0.2", "yanked")
    assert yanked.status_code == 200, yanked.text
    assert yanked.json()["status"] == "yanked"
    assert latest_of(alice, cid) == "1.0.1"

    assert set_status(alice, cid, "1.0.1", "yanked").status_code == 200
    assert latest_of(alice, cid) == "1.0.0"

    deprecated = set_status(alice, cid, "1.0.0", "deprecated")
    assert deprecated.status_code == 200
    assert alice.get(f"/assets/{cid}/versions/1.0.0").json()["status"] == "deprecated"

    assert set_status(alice, cid, "1.0.0", "yanked").status_code == 200
    assert latest_of(alice, cid) is None

    assert set_status(alice, cid, "1.0.2", "active").status_code == 200
    assert latest_of(alice, cid) == "1.0.2"
    assert {v["version"]: v["status"] for v in versions_of(alice, cid)} == {
        "1.0.2": "active",
        "1.0.1": "yanked",
        "1.0.0": "yanked",
    }
    # A yanked version stays readable and downloadable for those who pinned it.
    assert alice.get(f"/assets/{cid}/versions/1.0.1/package").status_code == 200
    # Yanking does not free the number: the next publish goes on from the top.
    assert publish(alice, cid, {}).json()["version"] == "1.0.3"


def test_only_the_owner_changes_status(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    bob = gallery.user("bob")
    public = new_asset(alice, visibility="public")["content_id"]
    private = new_asset(alice)["content_id"]
    for cid in (public, private):
        assert publish(alice, cid, {}).status_code == 201
    assert_problem(set_status(bob, public, "1.0.0", "yanked"), 403)
    assert_problem(set_status(bob, private, "1.0.0", "yanked"), 404)
    assert_problem(set_status(gallery.client(), public, "1.0.0", "yanked"), 401)
    assert alice.get(f"/assets/{public}/versions/1.0.0").json()["status"] == "active"
    assert latest_of(alice, public) == "1.0.0"
    # An admin may.
    assert set_status(gallery.admin, public, "1.0.0", "deprecated").status_code == 200


def test_status_of_unknown_version_is_404(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    assert_problem(set_status(alice, cid, "1.0.0", "yanked"), 404)


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_publishes_get_distinct_gapless_versions(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    token = token_of(alice)
    count = 50
    packages = [make_package({"n.txt": f"package {i}\n".encode()}) for i in range(count)]

    def one(i: int) -> tuple[int, str, str]:
        with gallery.client(token) as client:
            answer = publish(client, cid, {"description": f"#{i}"}, packages[i])
            body = answer.json()
            return answer.status_code, body.get("version", ""), body.get("package_sha256", "")

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))

    assert [status for status, _, _ in results] == [201] * count, results
    published = {version: sha for _, version, sha in results}
    expected = {f"1.0.{i}" for i in range(count)}
    assert set(published) == expected
    for i, (_, _, sha) in enumerate(results):
        assert sha == hashlib.sha256(packages[i]).hexdigest()

    listed = versions_of(alice, cid)
    assert sorted(v["version"] for v in listed) == sorted(expected)
    assert len(listed) == count
    with gallery.client(token) as client:
        for version in listed:
            download = client.get(f"/assets/{cid}/versions/{version['version']}/package")
            assert download.status_code == 200
            digest = hashlib.sha256(download.content).hexdigest()
            assert digest == version["package_sha256"] == published[version["version"]]
            assert download.headers["x-content-sha256"] == digest
    assert latest_of(alice, cid) == f"1.0.{count - 1}"
    assert_blobs_match_versions(gallery, alice, cid)


def test_concurrent_explicit_same_version_one_wins(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    token = token_of(alice)
    packages = [make_package({"n.txt": f"{i}".encode()}) for i in range(8)]

    def one(i: int) -> int:
        with gallery.client(token) as client:
            return publish(client, cid, {"version": "3.0.0"}, packages[i]).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(one, range(8)))
    assert statuses == [201] + [409] * 7
    assert version_numbers(alice, cid) == ["3.0.0"]
    assert_blobs_match_versions(gallery, alice, cid)


# --- nothing half-visible ----------------------------------------------------------------------


def _bad_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        data = b"print('out')\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("manifest", "package"),
    [
        ({}, b"this is not a tarball"),
        ({}, "bad-archive"),
        ({"version": "1.0.0"}, "good"),  # duplicate of the existing version
        ({"dependencies": [{"content_id": "nope", "version": "1.0.0"}]}, "good"),
        ({"package_sha256": "0" * 64}, "good"),
    ],
)
def test_failed_publish_leaves_no_version_and_no_blob(
    gallery: Gallery, manifest: dict[str, Any], package: bytes | str
) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    assert publish(alice, cid, {}, make_package()).status_code == 201
    before = versions_of(alice, cid)
    body = {"bad-archive": _bad_archive(), "good": make_package({"x.py": b"x = 1\n"})}.get(
        package, package
    )
    assert isinstance(body, bytes)
    answer = publish(alice, cid, manifest, body)
    assert answer.status_code in (409, 422), answer.text
    assert versions_of(alice, cid) == before
    assert latest_of(alice, cid) == "1.0.0"
    assert_blobs_match_versions(gallery, alice, cid)
    assert len(blob_files(gallery, cid)) == 1
    # The failure did not use up a number.
    assert publish(alice, cid, {}, make_package()).json()["version"] == "1.0.1"


# --- dependencies ------------------------------------------------------------------------------


def test_dependencies_are_recorded(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    algo = new_asset(alice, kind="algorithm")["content_id"]
    other = new_asset(alice, kind="algorithm")["content_id"]
    flow = new_asset(alice, kind="workflow")["content_id"]
    assert publish(alice, algo, {}).status_code == 201
    assert publish(alice, algo, {}).status_code == 201
    assert publish(alice, other, {"version": "0.3.0"}).status_code == 201
    deps = [{"content_id": algo, "version": "1.0.0"}, {"content_id": other, "version": "0.3.0"}]
    answer = publish(alice, flow, workflow_manifest(deps), make_package())
    assert answer.status_code == 201, answer.text
    assert sorted(answer.json()["dependencies"], key=str) == sorted(deps, key=str)
    read = alice.get(f"/assets/{flow}/versions/1.0.0").json()
    assert sorted(read["dependencies"], key=str) == sorted(deps, key=str)
    # A dependency in use cannot be deleted from under the workflow.
    assert_problem(alice.delete(f"/assets/{algo}"), 409)


def test_dependency_on_missing_version_is_refused(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    algo = new_asset(alice)["content_id"]
    flow = new_asset(alice, kind="workflow")["content_id"]
    assert publish(alice, algo, {}).status_code == 201
    cases = [
        [{"content_id": algo, "version": "9.9.9"}],
        [{"content_id": "00000000-0000-0000-0000-000000000000", "version": "1.0.0"}],
        [{"content_id": algo, "version": "1.0.0"}, {"content_id": algo, "version": "2.0.0"}],
    ]
    for index, deps in zip((0, 0, 1), cases, strict=True):
        answer = publish(alice, flow, workflow_manifest(deps), make_package())
        body = assert_problem(answer, 422)
        assert body["errors"][0]["field"] == f"manifest.dependencies[{index}]"
    assert version_numbers(alice, flow) == []
    assert blob_files(gallery, flow) == []


def test_dependency_on_unreadable_version_is_refused_like_a_missing_one(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    bob = gallery.user("bob")
    secret = new_asset(bob)["content_id"]
    assert publish(bob, secret, {}).status_code == 201
    flow = new_asset(alice, kind="workflow")["content_id"]
    answer = publish(alice, flow, workflow_manifest([{"content_id": secret, "version": "1.0.0"}]))
    body = assert_problem(answer, 422)
    assert body["errors"][0]["field"] == "manifest.dependencies[0]"
    missing = publish(
        alice, flow, workflow_manifest([{"content_id": secret, "version": "7.0.0"}])
    ).json()
    # Same answer whether it exists or not: existence does not leak.
    assert body["errors"][0]["rule"] == missing["errors"][0]["rule"]
    assert version_numbers(alice, flow) == []


def test_dependency_on_a_readable_public_version_of_someone_else(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    bob = gallery.user("bob")
    shared = new_asset(bob, visibility="public")["content_id"]
    assert publish(bob, shared, {}).status_code == 201
    flow = new_asset(alice, kind="workflow")["content_id"]
    deps = [{"content_id": shared, "version": "1.0.0"}]
    answer = publish(alice, flow, workflow_manifest(deps))
    assert answer.status_code == 201, answer.text
    assert answer.json()["dependencies"] == deps


def test_yanked_dependency_is_refused(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    algo = new_asset(alice)["content_id"]
    flow = new_asset(alice, kind="workflow")["content_id"]
    assert publish(alice, algo, {}).status_code == 201
    assert set_status(alice, algo, "1.0.0", "yanked").status_code == 200
    answer = publish(alice, flow, workflow_manifest([{"content_id": algo, "version": "1.0.0"}]))
    body = assert_problem(answer, 422)
    assert body["errors"][0]["field"] == "manifest.dependencies[0]"
    assert "yanked" in body["detail"]
    # Deprecated is still allowed.
    assert set_status(alice, algo, "1.0.0", "deprecated").status_code == 200
    answer = publish(alice, flow, workflow_manifest([{"content_id": algo, "version": "1.0.0"}]))
    assert answer.status_code == 201, answer.text


def test_dependency_on_own_asset_is_refused(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    assert publish(alice, cid, {}).status_code == 201
    answer = publish(alice, cid, {"dependencies": [{"content_id": cid, "version": "1.0.0"}]})
    assert assert_problem(answer, 422)["errors"][0]["field"] == "manifest.dependencies[0]"
    assert version_numbers(alice, cid) == ["1.0.0"]


# --- orphan sweep ------------------------------------------------------------------------------


async def _sweep_scenario(url: str, root: Path) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        blobs = LocalBlobStore(root / "blobs")
        source = root / "src.tar.gz"
        source.write_bytes(make_package())
        referenced = "packages/c1/referenced.tar.gz"
        orphan = "packages/c1/orphan.tar.gz"
        fresh = "packages/c1/fresh.tar.gz"
        unrelated = "other/old.bin"
        for key in (referenced, orphan, fresh, unrelated):
            blobs.put_file(key, source)
        old = time.time() - 3 * 3600
        for key in (referenced, orphan, unrelated):
            os.utime(root / "blobs" / key, (old, old))
        async with db.write() as session:
            user = User(username="sweeper", password_hash="x")
            session.add(user)
            await session.flush()
            assert user.id is not None
            asset = Asset(content_id="c1", kind="algorithm", name="a", owner_id=user.id)
            session.add(asset)
            await session.flush()
            assert asset.id is not None
            session.add(
                AssetVersion(
                    asset_id=asset.id,
                    version="1.0.0",
                    major=1,
                    minor=0,
                    patch=0,
                    manifest={},
                    package_key=referenced,
                    package_sha256="0" * 64,
                    package_size=1,
                    published_by=user.id,
                )
            )
        removed = await sweep_orphans(db, blobs, older_than=timedelta(hours=1))
        assert removed == 1
        keys = {b.key for b in blobs.list("")}
        assert keys == {referenced, fresh, unrelated}
        # Nothing more to do the second time.
        assert await sweep_orphans(db, blobs, older_than=timedelta(hours=1)) == 0
    finally:
        await db.dispose()


def test_sweep_orphans_deletes_only_old_unreferenced_packages(tmp_path: Path) -> None:
    asyncio.run(_sweep_scenario(sqlite_url(tmp_path), tmp_path))


@pytest.mark.postgres
def test_sweep_orphans_on_postgres(tmp_path: Path) -> None:
    require_postgres()
    with postgres_database() as url:
        asyncio.run(_sweep_scenario(url, tmp_path))
