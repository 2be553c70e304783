"""The registry with its blobs in S3 (moto over real HTTP): publish, download, no leftovers."""

from __future__ import annotations

import hashlib
import io
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio

from tests.support.databases import sqlite_url
from tests.support.gallery import (
    Gallery,
    fast_settings,
    make_package,
    new_asset,
    publish,
    running_gallery,
)
from tests.support.moto import moto_server


@pytest.fixture(scope="module")
def s3_gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gallery, Minio, str]]:
    data: Path = tmp_path_factory.mktemp("s3-gallery")
    bucket = f"gallery-{uuid.uuid4().hex[:8]}"
    with moto_server() as endpoint:
        settings = fast_settings(
            data_dir=data,
            database_url=sqlite_url(data),
            s3_endpoint=f"http://{endpoint}",
            s3_access_key="testing",
            s3_secret_key="testing",
            s3_bucket=bucket,
        )
        client = Minio(endpoint, access_key="testing", secret_key="testing", secure=False)
        with running_gallery(settings, "sqlite") as gallery:
            yield gallery, client, bucket


def test_package_round_trip_through_s3(s3_gallery: tuple[Gallery, Minio, str]) -> None:
    gallery, client, bucket = s3_gallery
    alice = gallery.user("alice")
    asset = new_asset(alice)
    package = make_package({"model/weights.bin": bytes(range(256)) * 4096})
    answer = publish(
        alice, asset["content_id"], {"package_sha256": hashlib.sha256(package).hexdigest()}, package
    )
    assert answer.status_code == 201, answer.text

    stored = [
        o.object_name for o in client.list_objects(bucket, prefix="packages/", recursive=True)
    ]
    assert len(stored) == 1 and stored[0].startswith(f"packages/{asset['content_id']}/")
    assert not (gallery.settings.data_dir / "blobs").exists(), "blobs must not go to the local dir"

    download = alice.get(f"/assets/{asset['content_id']}/versions/1.0.0/package")
    assert download.status_code == 200
    assert download.content == package
    assert download.headers["x-content-sha256"] == hashlib.sha256(package).hexdigest()


def test_refused_publish_leaves_nothing_in_s3(s3_gallery: tuple[Gallery, Minio, str]) -> None:
    gallery, client, bucket = s3_gallery
    bob = gallery.user("bob")
    asset = new_asset(bob)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("escape")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    refused = publish(bob, asset["content_id"], {}, buffer.getvalue())
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "field": "package",
        "rule": "no_links",
        "message": "member 'escape' is a link; links are refused",
    }
    prefix = f"packages/{asset['content_id']}/"
    assert list(client.list_objects(bucket, prefix=prefix, recursive=True)) == []
    assert bob.get(f"/assets/{asset['content_id']}/versions").json() == []


def test_deleting_an_asset_removes_its_packages(s3_gallery: tuple[Gallery, Minio, str]) -> None:
    gallery, client, bucket = s3_gallery
    carol = gallery.user("carol")
    asset = new_asset(carol)
    for _ in range(2):
        assert publish(carol, asset["content_id"], {}, make_package()).status_code == 201
    prefix = f"packages/{asset['content_id']}/"
    assert len(list(client.list_objects(bucket, prefix=prefix, recursive=True))) == 2
    assert carol.delete(f"/assets/{asset['content_id']}").status_code == 204
    assert list(client.list_objects(bucket, prefix=prefix, recursive=True)) == []
    assert carol.get(f"/assets/{asset['content_id']}").status_code == 404
