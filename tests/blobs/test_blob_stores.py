"""Both blob stores against the same behavioural tests (S3 via moto over real HTTP)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from registry.blobs import BlobNotFound, BlobStore, open_blob_store
from registry.blobs.base import CHUNK
from registry.blobs.local import LocalBlobStore
from registry.blobs.s3 import S3BlobStore
from registry.settings import Settings
from tests.support.moto import moto_server

ACCESS_KEY = SECRET_KEY = "testing"
INVALID_KEYS = ["", "/abs", "a//b", "a/./b", "../x", "a/..", "a/", ".", ".."]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def fresh_bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


def s3_store(endpoint: str, **kwargs: Any) -> S3BlobStore:
    return S3BlobStore(endpoint, ACCESS_KEY, SECRET_KEY, fresh_bucket(), **kwargs)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    return s3_store(request.getfixturevalue("moto_endpoint"))


@pytest.fixture
def write(tmp_path: Path) -> Iterator[Any]:
    src = tmp_path / "src"
    src.mkdir()

    def write(data: bytes) -> Path:
        path = src / uuid.uuid4().hex
        path.write_bytes(data)
        return path

    yield write


def read(store: BlobStore, key: str, chunk_size: int = CHUNK) -> bytes:
    return b"".join(store.open(key, chunk_size))


def test_roundtrip_of_a_multi_chunk_blob(store: BlobStore, write: Any) -> None:
    data = os.urandom(3 * CHUNK + CHUNK // 2)
    store.put_file("packages/abc/blob.tar.gz", write(data))

    chunks = list(store.open("packages/abc/blob.tar.gz"))
    assert len(chunks) >= 4
    assert all(0 < len(c) <= CHUNK for c in chunks)
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(data).digest()

    small = list(store.open("packages/abc/blob.tar.gz", chunk_size=64 * 1024))
    assert all(len(c) <= 64 * 1024 for c in small)
    assert b"".join(small) == data


def test_overwrite_replaces_the_blob(store: BlobStore, write: Any) -> None:
    store.put_file("k/v", write(b"first version, rather long"))
    store.put_file("k/v", write(b"second"))
    assert read(store, "k/v") == b"second"
    assert store.stat("k/v").size == 6
    assert [b.key for b in store.list("k/")] == ["k/v"]


def test_stat_reports_size_and_utc_mtime(store: BlobStore, write: Any) -> None:
    store.put_file("a/b.bin", write(b"x" * 12345))
    info = store.stat("a/b.bin")
    assert info.key == "a/b.bin"
    assert info.size == 12345
    assert info.modified.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - info.modified) < timedelta(minutes=5)

    store.put_file("a/empty", write(b""))
    assert store.stat("a/empty").size == 0
    assert read(store, "a/empty") == b""


def test_missing_key_raises_blob_not_found(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.stat("no/such/blob")
    with pytest.raises(BlobNotFound):
        read(store, "no/such/blob")
    with pytest.raises(KeyError):  # BlobNotFound is a KeyError
        store.stat("no/such/blob")


def test_delete_is_idempotent(store: BlobStore, write: Any) -> None:
    store.put_file("d/x", write(b"data"))
    store.put_file("d/y", write(b"keep"))
    store.delete("d/x")
    with pytest.raises(BlobNotFound):
        store.stat("d/x")
    store.delete("d/x")
    store.delete("never/existed")
    assert read(store, "d/y") == b"keep"
    assert [b.key for b in store.list("d/")] == ["d/y"]


def test_list_returns_exactly_the_matching_keys(store: BlobStore, write: Any) -> None:
    blobs = {
        "packages/a/1.tar.gz": b"1",
        "packages/a/deep/2.tar.gz": b"22",
        "packages/ab/3.tar.gz": b"333",
        "other/4": b"4444",
    }
    for key, data in blobs.items():
        store.put_file(key, write(data))

    def listed(prefix: str) -> dict[str, int]:
        return {b.key: b.size for b in store.list(prefix)}

    assert listed("packages/a/") == {"packages/a/1.tar.gz": 1, "packages/a/deep/2.tar.gz": 2}
    assert listed("packages/a") == {k: len(v) for k, v in blobs.items() if k.startswith("pack")}
    assert listed("") == {k: len(v) for k, v in blobs.items()}
    assert listed("nothing/") == {}
    assert all(b.modified.utcoffset() == timedelta(0) for b in store.list(""))


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_are_rejected(store: BlobStore, write: Any, key: str) -> None:
    src = write(b"data")
    with pytest.raises(ValueError, match="invalid blob key"):
        store.put_file(key, src)
    with pytest.raises(ValueError, match="invalid blob key"):
        read(store, key)
    with pytest.raises(ValueError, match="invalid blob key"):
        store.stat(key)
    with pytest.raises(ValueError, match="invalid blob key"):
        store.delete(key)
    assert list(store.list("")) == []


def test_open_blob_store_picks_local_without_endpoint(tmp_path: Path, write: Any) -> None:
    store = open_blob_store(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalBlobStore)
    store.put_file("x/y", write(b"local"))
    assert (tmp_path / "blobs" / "x" / "y").read_bytes() == b"local"


def test_open_blob_store_picks_s3_with_endpoint(
    tmp_path: Path, write: Any, moto_endpoint: str
) -> None:
    bucket = fresh_bucket()
    settings = Settings(
        data_dir=tmp_path,
        s3_endpoint=f"http://{moto_endpoint}",
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
        s3_bucket=bucket,
    )
    store = open_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    store.put_file("x/y", write(b"remote"))

    client = Minio(moto_endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
    assert client.bucket_exists(bucket)
    response = client.get_object(bucket, "x/y")
    try:
        assert response.read() == b"remote"
    finally:
        response.close()
        response.release_conn()
    assert not (tmp_path / "blobs").exists()


def test_s3_reuses_an_existing_bucket(moto_endpoint: str, write: Any) -> None:
    first = s3_store(moto_endpoint)
    first.put_file("kept", write(b"still here"))
    second = S3BlobStore(moto_endpoint, ACCESS_KEY, SECRET_KEY, first.bucket)
    assert read(second, "kept") == b"still here"


def test_s3_tolerates_a_bucket_created_concurrently(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = fresh_bucket()
    S3BlobStore(moto_endpoint, ACCESS_KEY, SECRET_KEY, bucket, region="eu-west-1")
    # The existence check says "no", as if another process created it right after.
    monkeypatch.setattr(Minio, "bucket_exists", lambda self, name: False)
    store = S3BlobStore(moto_endpoint, ACCESS_KEY, SECRET_KEY, bucket, region="eu-west-1")
    assert list(store.list("")) == []


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("minio:9000", False, ("minio:9000", False)),
        ("minio:9000", True, ("minio:9000", True)),
        ("http://minio:9000", False, ("minio:9000", False)),
        ("https://minio:9000", False, ("minio:9000", True)),
        ("https://minio:9000/", False, ("minio:9000", True)),
    ],
)
def test_s3_endpoint_may_be_a_url(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, secure: bool, expected: tuple[str, bool]
) -> None:
    seen: list[tuple[str, bool]] = []

    class FakeMinio:
        def __init__(self, endpoint: str, *, secure: bool, **_: Any) -> None:
            seen.append((endpoint, secure))

        def bucket_exists(self, name: str) -> bool:
            return True

    monkeypatch.setattr("registry.blobs.s3.Minio", FakeMinio)
    S3BlobStore(endpoint, ACCESS_KEY, SECRET_KEY, "bucket", secure=secure)
    assert seen == [expected]


def test_read_range_reads_only_the_part_asked_for(store: BlobStore, write: Any) -> None:
    data = os.urandom(2 * CHUNK + 123)
    store.put_file("logs/a/step.log", write(data))

    assert store.read_range("logs/a/step.log", 0, 10) == data[:10]
    assert store.read_range("logs/a/step.log", CHUNK - 5, 10) == data[CHUNK - 5 : CHUNK + 5]
    assert store.read_range("logs/a/step.log", 2 * CHUNK, CHUNK) == data[2 * CHUNK :]  # the end
    assert store.read_range("logs/a/step.log", 0, len(data)) == data
    assert store.read_range("logs/a/step.log", len(data) - 1, 5) == data[-1:]
    assert store.read_range("logs/a/step.log", len(data), 5) == b""  # at the end: nothing
    assert store.read_range("logs/a/step.log", len(data) + 100, 5) == b""  # past it: nothing
    assert store.read_range("logs/a/step.log", 7, 0) == b""

    store.put_file("logs/a/empty", write(b""))
    assert store.read_range("logs/a/empty", 0, 10) == b""


def test_read_range_of_a_missing_or_invalid_key(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.read_range("no/such/blob", 0, 10)
    with pytest.raises(BlobNotFound):
        store.read_range("no/such/blob", 0, 0)
    for key in INVALID_KEYS:
        with pytest.raises(ValueError, match="invalid blob key"):
            store.read_range(key, 0, 10)
    with pytest.raises(ValueError, match="invalid range"):
        store.read_range("any/key", -1, 10)


def test_s3_read_range_asks_the_server_for_the_range_only(
    moto_endpoint: str, write: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = s3_store(moto_endpoint)
    store.put_file("big", write(os.urandom(3 * CHUNK)))
    asked: list[tuple[int, int]] = []
    real = Minio.get_object

    def spy(self: Minio, bucket: str, key: str, offset: int = 0, length: int = 0, **kw: Any) -> Any:
        asked.append((offset, length))
        return real(self, bucket, key, offset=offset, length=length, **kw)

    monkeypatch.setattr(Minio, "get_object", spy)
    assert len(store.read_range("big", CHUNK, 100)) == 100
    assert asked == [(CHUNK, 100)]
