"""Blob storage behind one interface: a local directory or an S3 bucket."""

from registry.blobs.base import BlobInfo, BlobNotFound, BlobStore, open_blob_store

__all__ = ["BlobInfo", "BlobNotFound", "BlobStore", "open_blob_store"]
