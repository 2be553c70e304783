"""Blob storage behind one interface: a local directory or an S3 bucket."""

from __future__ import annotations

from registry.blobs.base import BlobInfo, BlobNotFound, BlobStore
from registry.settings import Settings

__all__ = ["BlobInfo", "BlobNotFound", "BlobStore", "open_blob_store"]


def open_blob_store(settings: Settings) -> BlobStore:
    """The S3 store when an endpoint is configured, else a directory in the data dir."""
    if settings.s3_endpoint:
        from registry.blobs.s3 import S3BlobStore

        return S3BlobStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key or "",
            secret_key=settings.s3_secret_key or "",
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            secure=settings.s3_secure,
        )
    from registry.blobs.local import LocalBlobStore

    return LocalBlobStore(settings.data_dir / "blobs")
