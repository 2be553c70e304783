"""Algorithm packages on a worker: fetched from the registry, checked, unpacked into a cache.

The cache is keyed by the package's sha256 (an unpacked tree is never changed in place: jobs get
a private copy of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from sqlmodel import col, select

from registry.assets.models import Asset, AssetVersion
from registry.blobs import BlobNotFound
from runner.steps.base import StepContext, StepFailure
from sdk import spec as ir

# "algorithm <content id>@<version>" → (package blob key, sha256), per worker process.
_PACKAGES: dict[str, tuple[str, str]] = {}


async def code_dir(ctx: StepContext, algorithm: ir.AlgorithmSpec) -> Path:
    """The algorithm's code directory: its package from the registry, unpacked once per sha."""
    if algorithm.source != "gallery":
        raise StepFailure(
            "this step runs local code (code_dir); publish it first (release_to_gallery or "
            "release) so a worker can fetch it",
            non_retryable=True,
        )
    where = f"algorithm {algorithm.content_id}@{algorithm.version}"
    known = _PACKAGES.get(where)  # versions are immutable: ask the database once
    if known is not None:
        key, sha = known
        target = ctx.code_cache / sha
        if target.is_dir():
            return target
        await asyncio.to_thread(_unpack, ctx, key, sha, target, where)
        return target
    async with ctx.db.read() as session:
        row = (
            await session.exec(
                select(AssetVersion.package_key, AssetVersion.package_sha256)
                .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
                .where(Asset.content_id == algorithm.content_id)
                .where(AssetVersion.version == algorithm.version)
            )
        ).first()
    if row is None or row[0] is None or row[1] is None:
        raise StepFailure(f"{where} has no package in this registry", non_retryable=True)
    key, sha = row[0], row[1]
    if len(_PACKAGES) > 10_000:
        _PACKAGES.clear()
    _PACKAGES[where] = (key, sha)
    target = ctx.code_cache / sha
    if not target.is_dir():
        await asyncio.to_thread(_unpack, ctx, key, sha, target, where)
    return target


def _unpack(ctx: StepContext, key: str, sha: str, target: Path, where: str) -> None:
    ctx.code_cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=ctx.code_cache))
    try:
        archive = staging / "package.tar.gz"
        digest = hashlib.sha256()
        try:
            with archive.open("wb") as handle:
                for chunk in ctx.blobs.open(key):
                    digest.update(chunk)
                    handle.write(chunk)
        except BlobNotFound:
            raise StepFailure(f"{where}: its package is missing", non_retryable=True) from None
        if digest.hexdigest() != sha:
            raise StepFailure(f"{where}: its package fails its sha256 check", non_retryable=True)
        tree = staging / "tree"
        with tarfile.open(archive, mode="r:gz") as tar:
            tar.extractall(tree, filter="data")
        with contextlib.suppress(OSError):  # another step unpacked it first: keep theirs
            os.replace(tree, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
