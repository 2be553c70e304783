"""Package limits at publish: a compression bomb, too many members, a too high ratio or a
monstrous header is refused with a 422 naming ``package``, the rule and the numbers, and
nothing is stored. The archive is streamed, never extracted."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.errors import InvalidInput
from registry.versions.archives import (
    MAX_HEADER_BYTES,
    RATIO_FLOOR_BYTES,
    PackageLimits,
    check_archive,
)
from tests.support.databases import sqlite_url
from tests.support.gallery import (
    Gallery,
    fast_settings,
    make_package,
    new_asset,
    publish,
    running_gallery,
)

MiB = 1024 * 1024
LOW = PackageLimits(unpacked_bytes=8 * MiB, members=50, ratio=100)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gallery]:
    """A Gallery whose package limits are low, so the bombs stay small."""
    data: Path = tmp_path_factory.mktemp("limited")
    settings = fast_settings(
        data_dir=data,
        database_url=sqlite_url(data),
        package_max_unpacked_bytes=LOW.unpacked_bytes,
        package_max_members=LOW.members,
        package_max_ratio=LOW.ratio,
    )
    with running_gallery(settings, "sqlite") as gallery:
        yield gallery


def zeros(size: int, name: str = "weights.bin") -> bytes:
    """A tar.gz holding one file of ``size`` zero bytes (it compresses about 1000-fold)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(bytes(size)))
    return buffer.getvalue()


def refused(gallery: Gallery, package: bytes, rule: str) -> dict[str, Any]:
    """Publish ``package`` as a new asset's first version: a 422 for ``rule``, nothing kept."""
    alice = gallery.user("alice")
    asset = new_asset(alice)
    answer = publish(alice, asset["content_id"], {}, package)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["errors"][0]["field"] == "package"
    assert body["errors"][0]["rule"] == rule, body
    assert body["detail"].startswith("package: ")
    assert_nothing_stored(gallery, alice, asset["content_id"])
    return body


def assert_nothing_stored(gallery: Gallery, client: httpx.Client, content_id: str) -> None:
    versions = client.get(f"/assets/{content_id}/versions")
    assert versions.status_code == 200 and versions.json() == []
    packages = gallery.settings.data_dir / "blobs" / "packages" / content_id
    assert not packages.exists() or not any(packages.iterdir())
    tmp = gallery.settings.data_dir / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir()), "the upload's temporary file is left"


def test_a_gzip_bomb_is_refused_by_its_unpacked_size(limited: Gallery) -> None:
    bomb = zeros(50 * MiB)
    assert len(bomb) < 100_000  # 50 MB of zeros in about 50 KB
    body = refused(limited, bomb, "unpacked_size")
    assert body["limit"] == 8 * MiB
    assert body["found"] == 50 * MiB
    assert "8 MiB" in body["detail"] and str(8 * MiB) in body["detail"]


def test_too_many_members_are_refused(limited: Gallery) -> None:
    package = make_package({f"src/file{i}.py": b"x = 1\n" for i in range(60)})
    body = refused(limited, package, "member_count")
    assert body["limit"] == 50
    assert body["found"] == 51  # it stops at the first member over the limit
    assert "50 members" in body["detail"]


def test_a_high_compression_ratio_is_refused(limited: Gallery) -> None:
    package = zeros(4 * MiB)  # under the size limit, but a ratio of about 1000
    body = refused(limited, package, "compression_ratio")
    assert body["limit"] == 100
    assert body["found"] > 100
    assert f"from {len(package)} compressed bytes" in body["detail"]


def test_a_small_repetitive_package_is_not_held_to_the_ratio(limited: Gallery) -> None:
    alice = limited.user("alice")
    asset = new_asset(alice)
    package = zeros(RATIO_FLOOR_BYTES // 2, "table.csv")  # ratio far above 100, but tiny
    answer = publish(alice, asset["content_id"], {}, package)
    assert answer.status_code == 201, answer.text


def test_a_package_within_every_limit_is_published(limited: Gallery) -> None:
    alice = limited.user("alice")
    asset = new_asset(alice)
    files = {f"src/file{i}.py": b"print('hello')\n" * 100 for i in range(49)}
    answer = publish(alice, asset["content_id"], {}, make_package(files))
    assert answer.status_code == 201, answer.text


def test_the_default_limits_refuse_the_attackers_bomb(gallery: Gallery) -> None:
    """With the defaults (no settings given): 50 MB from 50 KB is a ratio of about 1000."""
    body = refused(gallery, zeros(50 * MiB), "compression_ratio")
    assert body["limit"] == 100


# --- the check itself, without a server ---------------------------------------------------


def write_gz(path: Path, *blocks: bytes) -> Path:
    with gzip.open(path, "wb") as out:
        for block in blocks:
            out.write(block)
    return path


def header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    return info.tobuf(tarfile.USTAR_FORMAT)


def refusal(path: Path, limits: PackageLimits = LOW) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check_archive(path, limits)
    return caught.value


def rule_of(path: Path, limits: PackageLimits = LOW) -> str:
    return refusal(path, limits).errors[0].rule


def test_a_monstrous_extended_header_is_refused_unread(tmp_path: Path) -> None:
    """tarfile reads a PAX record whole: 100 MB of it would be 100 MB of memory."""
    size = 100 * MiB
    bomb = write_gz(tmp_path / "pax.tar.gz", header("pax", size, tarfile.XHDTYPE), bytes(size))
    refused = refusal(bomb)
    assert refused.errors[0].rule == "tar_gz"
    assert f"a member header of {size} bytes" in refused.detail
    assert size > MAX_HEADER_BYTES


def test_a_stream_longer_than_its_members_can_make_is_refused(tmp_path: Path) -> None:
    """Valid but long extended headers: no file data, yet 20 MB to decompress."""
    path = tmp_path / "long.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for i in range(40):
            info = tarfile.TarInfo(f"f{i}")
            info.pax_headers = {"comment": "x" * (512 * 1024)}
            tar.addfile(info, io.BytesIO(b""))
    generous = PackageLimits(unpacked_bytes=100 * MiB, members=1000, ratio=1e9)
    assert check_archive(path, generous).members == 40  # a valid archive
    limits = PackageLimits(unpacked_bytes=1 * MiB, members=1000, ratio=1e9)
    refused = refusal(path, limits)
    assert refused.errors[0].rule == "unpacked_size"
    assert "tar stream is longer than" in refused.detail


def test_the_check_stops_at_the_first_member_over_a_limit(tmp_path: Path) -> None:
    """A 4 GiB member is refused from its header: its data is never decompressed."""
    huge = write_gz(tmp_path / "huge.tar.gz", header("big", 4 * 1024 * MiB), bytes(1024))
    assert rule_of(huge) == "unpacked_size"


def test_links_and_paths_are_still_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    path = tmp_path / "link.tar.gz"
    path.write_bytes(buffer.getvalue())
    assert rule_of(path) == "no_links"
    path.write_bytes(make_package({"../escape.py": b""}))
    assert rule_of(path) == "relative_paths"
