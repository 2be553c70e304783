"""Publish uploads: bad input gets a clear 4xx and loses nothing; downloads carry their checksum."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import sqlite_url
from tests.support.gallery import (
    Gallery,
    fast_settings,
    make_package,
    new_asset,
    publish,
    running_gallery,
)

PROBLEM = "application/problem+json"
BOUNDARY = "gallery-test-boundary"


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def first_error(answer: httpx.Response, status: int = 422) -> dict[str, str]:
    body = assert_problem(answer, status)
    assert body["errors"], body
    error: dict[str, str] = body["errors"][0]
    assert error["message"]
    return error


def versions_of(client: httpx.Client, content_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/assets/{content_id}/versions")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def leftovers(gallery: Gallery) -> list[str]:
    tmp = gallery.settings.data_dir / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def multipart(parts: list[tuple[str, bytes, str | None]], *, close: bool = True) -> bytes:
    """A hand-made multipart/form-data body: (name, data, filename) parts."""
    out = io.BytesIO()
    for name, data, filename in parts:
        out.write(f"--{BOUNDARY}\r\n".encode())
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.write(f"Content-Disposition: {disposition}\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    if close:
        out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def post_raw(
    client: httpx.Client, content_id: str, body: bytes, content_type: str
) -> httpx.Response:
    return client.post(
        f"/assets/{content_id}/versions", content=body, headers={"content-type": content_type}
    )


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def owner(gallery: Gallery) -> Iterator[tuple[httpx.Client, str]]:
    """A signed-in owner and an asset that already has version 1.0.0.

    After the test: the refused uploads left no new version and no temp file behind.
    """
    client = gallery.user("owner")
    content_id = new_asset(client, visibility="public")["content_id"]
    assert publish(client, content_id, {}, make_package()).status_code == 201
    before = versions_of(client, content_id)
    yield client, content_id
    assert versions_of(client, content_id) == before
    assert leftovers(gallery) == []
    stored = gallery.settings.data_dir / "blobs" / "packages" / content_id
    assert len([p for p in stored.iterdir() if p.is_file()]) == 1


def tar_with(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


# --- body shape --------------------------------------------------------------------------------


def test_json_body_is_refused_naming_content_type(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    answer = client.post(f"/assets/{cid}/versions", json={"version": "2.0.0"})
    error = first_error(answer)
    assert error["field"] == "content-type"
    assert "multipart/form-data" in error["message"]


def test_multipart_without_boundary_is_refused(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    body = multipart([("manifest", b"{}", None)])
    assert first_error(post_raw(client, cid, body, "multipart/form-data"))["field"] == (
        "content-type"
    )


def test_missing_manifest_part_is_refused(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    answer = client.post(
        f"/assets/{cid}/versions",
        files={"package": ("p.tar.gz", make_package(), "application/gzip")},
    )
    error = first_error(answer)
    assert error["field"] == "manifest"
    assert error["rule"] == "required"


def test_empty_multipart_body_is_refused(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    error = first_error(post_raw(client, cid, f"--{BOUNDARY}--\r\n".encode(), MULTIPART))
    assert error["field"] == "manifest"


@pytest.mark.parametrize(
    ("manifest", "field", "rule"),
    [
        (b"{not json", "manifest", "json"),
        (b"\xff\xfe\x00garbage", "manifest", "json"),
        (b"", "manifest", "json"),
        (b"[1, 2]", "manifest", "object"),
        (b'"1.0.0"', "manifest", "object"),
        (b"null", "manifest", "object"),
        (b'{"verison": "2.0.0"}', "manifest.verison", "extra_forbidden"),
        (b'{"description": 5}', "manifest.description", "string_type"),
        (b'{"version": 2}', "manifest.version", "string_type"),
        (b'{"dependencies": "abc"}', "manifest.dependencies", "list_type"),
        (b'{"metadata": []}', "manifest.metadata", "dict_type"),
        (b'{"package_sha256": "XYZ"}', "manifest.package_sha256", "string_pattern_mismatch"),
        (
            b'{"dependencies": [{"content_id": "x", "version": "1.0.0", "extra": 1}]}',
            "manifest.dependencies[0].extra",
            "extra_forbidden",
        ),
        (
            b'{"dependencies": [{"content_id": "x"}]}',
            "manifest.dependencies[0].version",
            "missing",
        ),
        (b'{"description": "a\\u0000b"}', "manifest.description", "no_nul"),
        (
            b'{"dependencies": [{"content_id": "\\u0000", "version": "1.0.0"}]}',
            "manifest.dependencies[0].content_id",
            "no_nul",
        ),
    ],
)
def test_bad_manifest_is_refused_naming_the_field(
    owner: tuple[httpx.Client, str], manifest: bytes, field: str, rule: str
) -> None:
    client, cid = owner
    body = multipart([("manifest", manifest, None), ("package", make_package(), "p.tar.gz")])
    error = first_error(post_raw(client, cid, body, MULTIPART))
    assert (error["field"], error["rule"]) == (field, rule)


@pytest.mark.parametrize("order", ["before", "after"])
def test_unknown_form_part_is_refused(owner: tuple[httpx.Client, str], order: str) -> None:
    client, cid = owner
    parts: list[tuple[str, bytes, str | None]] = [
        ("manifest", b"{}", None),
        ("package", make_package(), "p.tar.gz"),
    ]
    extra = ("readme", b"hello", "README.md")
    parts = [extra, *parts] if order == "before" else [*parts, extra]
    error = first_error(post_raw(client, cid, multipart(parts), MULTIPART))
    assert error["field"] == "readme"
    assert error["rule"] == "known_part"


@pytest.mark.parametrize("name", ["manifest", "package"])
def test_a_part_sent_twice_is_refused(owner: tuple[httpx.Client, str], name: str) -> None:
    client, cid = owner
    parts: list[tuple[str, bytes, str | None]] = [
        ("manifest", b"{}", None),
        ("package", make_package(), "p.tar.gz"),
        (name, b"{}" if name == "manifest" else make_package(), None),
    ]
    error = first_error(post_raw(client, cid, multipart(parts), MULTIPART))
    assert error["field"] == name


def test_truncated_upload_publishes_nothing(owner: tuple[httpx.Client, str]) -> None:
    """A body cut off inside the package must not publish a version without its package."""
    client, cid = owner
    package = make_package({"big.bin": os.urandom(20_000)})
    whole = multipart([("manifest", b"{}", None), ("package", package, "p.tar.gz")], close=False)
    cut = whole[: len(whole) - len(package) // 2]
    error = first_error(post_raw(client, cid, cut, MULTIPART))
    assert (error["field"], error["rule"]) == ("body", "multipart")


def test_garbage_multipart_is_refused(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    answer = post_raw(client, cid, b"\x00\x01 not multipart at all \r\n\r\n", MULTIPART)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)


# --- package checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "package",
    [b"just some text", b"", b"\x1f\x8b\x08\x00truncated gzip", b"PK\x03\x04 a zip file"],
)
def test_package_that_is_not_tar_gz_is_refused(
    owner: tuple[httpx.Client, str], package: bytes
) -> None:
    client, cid = owner
    error = first_error(publish(client, cid, {}, package))
    assert (error["field"], error["rule"]) == ("package", "tar_gz")


def test_plain_tar_without_gzip_is_refused(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("a.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    error = first_error(publish(client, cid, {}, buffer.getvalue()))
    assert (error["field"], error["rule"]) == ("package", "tar_gz")


def _hardlink_archive() -> bytes:
    return tar_with(
        (member("train.py"), b"print(1)\n"),
        (member("copy.py", tarfile.LNKTYPE, "train.py"), None),
    )


def _device(kind: bytes, name: str) -> bytes:
    info = member(name, kind)
    info.devmajor, info.devminor = 1, 3
    return tar_with((member("ok.py"), b"x\n"), (info, None))


@pytest.mark.parametrize(
    ("package", "name", "rule"),
    [
        (
            tar_with((member("/etc/cron.d/evil"), b"* * * * * root sh\n")),
            "/etc/cron.d/evil",
            "relative_paths",
        ),
        (tar_with((member("../escape.py"), b"x\n")), "../escape.py", "relative_paths"),
        (
            tar_with((member("src/../../escape.py"), b"x\n")),
            "src/../../escape.py",
            "relative_paths",
        ),
        (
            tar_with((member("C:/windows/evil.dll"), b"x\n")),
            "C:/windows/evil.dll",
            "relative_paths",
        ),
        (
            tar_with((member("link", tarfile.SYMTYPE, "/etc/passwd"), None)),
            "link",
            "no_links",
        ),
        (
            tar_with((member("inside", tarfile.SYMTYPE, "train.py"), None)),
            "inside",
            "no_links",
        ),
        (_hardlink_archive(), "copy.py", "no_links"),
        (_device(tarfile.CHRTYPE, "dev/null"), "dev/null", "plain_files"),
        (_device(tarfile.BLKTYPE, "dev/sda"), "dev/sda", "plain_files"),
        (_device(tarfile.FIFOTYPE, "pipe"), "pipe", "plain_files"),
    ],
    ids=[
        "absolute",
        "dotdot",
        "nested-dotdot",
        "drive-letter",
        "symlink-out",
        "symlink-in",
        "hardlink",
        "chardev",
        "blockdev",
        "fifo",
    ],
)
def test_unsafe_archive_members_are_refused(
    owner: tuple[httpx.Client, str], package: bytes, name: str, rule: str
) -> None:
    client, cid = owner
    error = first_error(publish(client, cid, {}, package))
    assert (error["field"], error["rule"]) == ("package", rule)
    assert name in error["message"]


def test_safe_archive_with_directories_is_accepted(gallery: Gallery) -> None:
    client = gallery.user("owner")
    cid = new_asset(client)["content_id"]
    folder = member("src", tarfile.DIRTYPE)
    package = tar_with((folder, None), (member("src/train.py"), b"x\n"), (member("a..b.py"), b""))
    answer = publish(client, cid, {}, package)
    assert answer.status_code == 201, answer.text


def test_package_hash_mismatch_is_refused(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    package = make_package()
    wrong = hashlib.sha256(package + b"!").hexdigest()
    error = first_error(publish(client, cid, {"package_sha256": wrong}, package))
    assert (error["field"], error["rule"]) == ("package", "sha256")
    assert wrong in error["message"]


def test_package_hash_without_package_is_refused(owner: tuple[httpx.Client, str]) -> None:
    client, cid = owner
    error = first_error(publish(client, cid, {"package_sha256": "a" * 64}))
    assert error["field"] == "package"


def test_matching_package_hash_is_accepted(gallery: Gallery) -> None:
    client = gallery.user("owner")
    cid = new_asset(client)["content_id"]
    package = make_package()
    digest = hashlib.sha256(package).hexdigest()
    answer = publish(client, cid, {"package_sha256": digest}, package)
    assert answer.status_code == 201, answer.text
    assert answer.json()["package_sha256"] == digest
    assert answer.json()["package_size"] == len(package)


# --- size limits (a server of its own with small limits) ---------------------------------------


def test_oversized_uploads_are_refused_without_leftovers(tmp_path: Path) -> None:
    settings = fast_settings(
        data_dir=tmp_path,
        database_url=sqlite_url(tmp_path),
        max_upload_bytes=64 * 1024,
        max_manifest_bytes=1024,
    )
    with running_gallery(settings, "sqlite") as small:
        client = small.user("owner")
        cid = new_asset(client)["content_id"]

        answer = publish(client, cid, {}, os.urandom(200 * 1024))
        body = assert_problem(answer, 413)
        assert body["field"] == "package"
        assert "package" in body["detail"]
        assert versions_of(client, cid) == []
        assert leftovers(small) == []

        answer = publish(client, cid, {"description": "x" * 4096}, make_package())
        body = assert_problem(answer, 413)
        assert body["field"] == "manifest"
        assert versions_of(client, cid) == []
        assert leftovers(small) == []

        # Just under the limit is fine.
        fits = make_package({"weights.bin": os.urandom(60 * 1024)})
        assert len(fits) < 64 * 1024
        answer = publish(client, cid, {}, fits)
        assert answer.status_code == 201, answer.text
        assert [v["version"] for v in versions_of(client, cid)] == ["1.0.0"]
        assert leftovers(small) == []


# --- who may publish ---------------------------------------------------------------------------


def test_non_owner_is_refused_before_the_body_is_read(
    gallery: Gallery, owner: tuple[httpx.Client, str]
) -> None:
    _, cid = owner
    bob = gallery.user("bob")
    # A body that would fail validation: the answer is still 403, so it was never parsed.
    garbage = post_raw(bob, cid, b"\x00" * 10_000, "application/octet-stream")
    assert_problem(garbage, 403)
    assert_problem(publish(bob, cid, {"version": "9.0.0"}, make_package()), 403)


def test_non_owner_of_private_asset_gets_404(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    bob = gallery.user("bob")
    missing = publish(bob, "00000000-0000-0000-0000-000000000000", {}, make_package())
    hidden = publish(bob, cid, {}, make_package())
    assert_problem(hidden, 404)
    assert_problem(missing, 404)
    assert versions_of(alice, cid) == []


def test_anonymous_cannot_publish(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    public = new_asset(alice, visibility="public")["content_id"]
    private = new_asset(alice)["content_id"]
    anonymous = gallery.client()
    for cid in (public, private, "00000000-0000-0000-0000-000000000000"):
        answer = publish(anonymous, cid, {}, make_package())
        assert_problem(answer, 401)
        assert "bearer" in answer.headers["www-authenticate"].lower()
    assert versions_of(alice, public) == []
    assert versions_of(alice, private) == []


def test_admin_may_publish_for_the_owner(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    answer = publish(gallery.admin, cid, {}, make_package())
    assert answer.status_code == 201, answer.text
    assert answer.json()["published_by"] == "admin"


# --- downloads ---------------------------------------------------------------------------------


def test_download_carries_checksum_length_and_filename(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    asset = new_asset(alice, visibility="public")
    cid = asset["content_id"]
    package = make_package({"model.py": b"weights = [1, 2, 3]\n"})
    assert publish(alice, cid, {"version": "1.2.3"}, package).status_code == 201
    reader = gallery.user("reader")
    answer = reader.get(f"/assets/{cid}/versions/1.2.3/package")
    assert answer.status_code == 200
    assert answer.content == package
    assert answer.headers["x-content-sha256"] == hashlib.sha256(package).hexdigest()
    assert answer.headers["content-length"] == str(len(package))
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment")
    assert f'filename="{asset["name"]}-1.2.3.tar.gz"' in disposition
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as tar:
        extracted = tar.extractfile("model.py")
        assert extracted is not None
        assert extracted.read() == b"weights = [1, 2, 3]\n"


def test_download_access(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    public = new_asset(alice, visibility="public")["content_id"]
    private = new_asset(alice)["content_id"]
    for cid in (public, private):
        assert publish(alice, cid, {}, make_package()).status_code == 201
    anonymous = gallery.client()
    assert_problem(anonymous.get(f"/assets/{public}/versions/1.0.0/package"), 401)
    assert_problem(anonymous.get(f"/assets/{private}/versions/1.0.0/package"), 404)
    bob = gallery.user("bob")
    assert_problem(bob.get(f"/assets/{private}/versions/1.0.0/package"), 404)
    assert_problem(bob.get(f"/assets/{public}/versions/9.9.9/package"), 404)
    for odd in ("1.0.0%00", "%00", "..%2F..%2Fetc", "1.0.0 OR 1=1"):
        assert_problem(bob.get(f"/assets/{public}/versions/{odd}/package"), 404)
    for odd in ("%00", "x" * 500, "%27%20OR%201%3D1"):
        assert_problem(bob.get(f"/assets/{odd}/versions/1.0.0/package"), 404)
    assert bob.get(f"/assets/{public}/versions/1.0.0/package").status_code == 200


def test_version_without_package_has_no_download(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    answer = publish(alice, cid, {"description": "manifest only"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["package_sha256"] is None
    assert answer.json()["package_size"] is None
    body = assert_problem(alice.get(f"/assets/{cid}/versions/1.0.0/package"), 404)
    assert "no package" in body["detail"]


def test_manifest_is_stored_as_sent(gallery: Gallery) -> None:
    alice = gallery.user("alice")
    cid = new_asset(alice)["content_id"]
    manifest = {
        "description": "résumé 模型",
        "interface": {"inputs": [{"name": "data", "type": "dataset"}]},
        "metadata": {"framework": "pytorch", "nested": {"k": [1, 2]}},
    }
    answer = publish(alice, cid, manifest, make_package())
    assert answer.status_code == 201, answer.text
    read = alice.get(f"/assets/{cid}/versions/1.0.0").json()
    assert read["description"] == "résumé 模型"
    for key in ("interface", "metadata"):
        assert read["manifest"][key] == manifest[key]
    assert json.loads(json.dumps(read["manifest"]))["description"] == "résumé 模型"
