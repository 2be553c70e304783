"""Blobs as objects in an S3-compatible bucket, through the ``minio`` client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from minio import Minio
from minio.error import S3Error

from registry.blobs.base import CHUNK, BlobInfo, BlobNotFound

_MISSING = ("NoSuchKey", "NoSuchObject")


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(f"invalid blob key {key!r}")
    return key


def _info(key: str, size: int | None, modified: datetime | None) -> BlobInfo:
    if size is None or modified is None:  # S3 always sends both; minio types them optional
        raise RuntimeError(f"S3 reported no size or date for {key!r}")
    return BlobInfo(key, size, modified.astimezone(UTC))


class S3BlobStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str | None = None,
        secure: bool = False,
    ) -> None:
        if "://" in endpoint:
            url = urlsplit(endpoint)
            endpoint, secure = url.netloc, secure or url.scheme == "https"
        self.bucket = bucket
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region
        )
        if not self.client.bucket_exists(bucket):
            try:
                self.client.make_bucket(bucket)
            except S3Error as exc:  # somebody else created it in the meantime
                if exc.code != "BucketAlreadyOwnedByYou":
                    raise

    def put_file(self, key: str, path: Path) -> None:
        self.client.fput_object(self.bucket, _check_key(key), str(path))

    def open(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, _check_key(key))
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobNotFound(key) from None
            raise
        try:
            yield from response.stream(chunk_size)
        finally:
            response.close()
            response.release_conn()

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"invalid range: offset {offset}, length {length}")
        _check_key(key)
        if length == 0:  # minio reads a length of 0 as "to the end"
            self.stat(key)
            return b""
        try:
            response = self.client.get_object(self.bucket, key, offset=offset, length=length)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobNotFound(key) from None
            if exc.code == "InvalidRange":  # the offset is at or past the end
                return b""
            raise
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def stat(self, key: str) -> BlobInfo:
        try:
            obj = self.client.stat_object(self.bucket, _check_key(key))
        except S3Error as exc:
            if exc.code in _MISSING:
                raise BlobNotFound(key) from None
            raise
        return _info(key, obj.size, obj.last_modified)

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, _check_key(key))

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
            if not obj.is_dir:
                yield _info(obj.object_name, obj.size, obj.last_modified)
