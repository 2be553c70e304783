"""Algorithm packages on a worker: access checked, fetched from the registry, checked against
the package limits, unpacked into the size-bounded code cache (``runner.codecache``).

Access is checked at every use, cached or not (DESIGN.md §2): the owner of the execution's
workspace must still be allowed to use the version now (not deleted, still shared with them,
not yanked, and the same for what it depends on). Only the package's key and sha are
remembered per process, since versions are immutable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tarfile
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_
from sqlmodel import col, select

from registry.accounts.models import User
from registry.assets.models import Asset, AssetVersion, VersionDependency
from registry.assets.service import use_check
from registry.blobs import BlobNotFound
from registry.errors import InvalidInput
from registry.versions.archives import PackageLimits, check_archive, human
from registry.workspaces.storage import package_key
from runner.codecache import CodeCache, Hold
from runner.steps.base import StepContext, StepFailure
from sdk import spec as ir

CHUNK = 1024 * 1024

_SETTINGS = {
    "unpacked_size": "GALLERY_PACKAGE_MAX_UNPACKED_BYTES",
    "member_count": "GALLERY_PACKAGE_MAX_MEMBERS",
    "compression_ratio": "GALLERY_PACKAGE_MAX_RATIO",
}

# "<content id>@<version>" → (package blob key, sha256), per worker process.
_PACKAGES: dict[str, tuple[str, str]] = {}


async def install(
    ctx: StepContext, algorithm: ir.AlgorithmSpec, put: Callable[[Path], Awaitable[None]]
) -> None:
    """Put the algorithm's code in place with ``put(tree)`` (copy or link from the unpacked
    tree, held against eviction meanwhile), and check that the workspace's owner may use the
    version. Nothing is fetched before the check passes; a tree already in the cache is put in
    place while it runs. Returns once both are done, so the job may run; raises StepFailure
    when the owner may not use the version (any more), or its package is missing, corrupt or
    over a limit (what was put in place then never runs)."""
    if algorithm.source == "workspace":
        assert algorithm.package
        # Only the execution's own workspace is looked in: the key is made of its id.
        where = f"workspace package {algorithm.package[:12]}"
        checked = asyncio.ensure_future(_owner_active(ctx, where))
        known: tuple[str, str] | None = (
            package_key(ctx.tenant.workspace_id, algorithm.package),
            algorithm.package,
        )
    elif algorithm.source != "gallery":
        raise StepFailure(
            "this step runs local code (code_dir); publish it first (release_to_gallery or "
            "release) so a worker can fetch it",
            non_retryable=True,
        )
    else:
        assert algorithm.content_id and algorithm.version
        pin = f"{algorithm.content_id}@{algorithm.version}"
        where = f"algorithm {pin}"
        checked = asyncio.ensure_future(
            _check_use(ctx, algorithm.content_id, algorithm.version, where)
        )
        known = _PACKAGES.get(pin)
    try:
        if known is None:
            await checked
            known = await _package_of(ctx, algorithm, where)
            if len(_PACKAGES) > 10_000:
                _PACKAGES.clear()
            _PACKAGES[pin] = known
        key, sha = known
        cache = CodeCache(ctx.code_cache, ctx.settings.code_cache_bytes)
        hold = await cache.hold(sha)
        try:
            if hold.tree.is_dir():
                hold.touch()
            else:
                await checked
                await asyncio.to_thread(_unpack, ctx, cache, hold, key, where)
                await asyncio.to_thread(cache.evict)
            await put(hold.tree)
        finally:
            hold.release()
        await checked
    finally:
        if not checked.done():
            checked.cancel()
            with contextlib.suppress(BaseException):
                await checked


async def _owner_active(ctx: StepContext, where: str) -> None:
    """A workspace package is the workspace's own: its owner need only still be active."""
    if await ctx.tenants.owner(ctx.tenant) is None:
        raise StepFailure(
            f"{where} cannot run: the workspace's owner is deactivated or gone",
            non_retryable=True,
        )


async def _check_use(ctx: StepContext, content_id: str, version: str, where: str) -> None:
    if await _plainly_usable(ctx, content_id, version):
        return
    owner = await ctx.tenants.owner(ctx.tenant)
    if owner is None:
        raise StepFailure(
            f"{where} cannot run: the workspace's owner is deactivated or gone",
            non_retryable=True,
        )
    async with ctx.db.read() as session:
        blockers = await use_check(session, pins=[(content_id, version)], principal=owner)
    if blockers:
        reasons = "; ".join(
            b.reason
            if (b.content_id, b.version) == (content_id, version)
            else f"its dependency {b.content_id}@{b.version} is {b.reason}"
            for b in blockers
        )
        raise StepFailure(f"{where} cannot run: {reasons}", non_retryable=True)


def _plainly_usable_query() -> Any:
    owner_id: Any = bindparam("owner_id")
    return (
        select(
            and_(
                col(User.is_active),
                col(AssetVersion.status) != "yanked",
                ~exists().where(col(VersionDependency.version_id) == col(AssetVersion.id)),
                or_(
                    col(Asset.visibility) == "public",
                    col(User.is_admin),
                    col(Asset.owner_id) == owner_id,
                ),
            )
        )
        .select_from(Asset)
        .join(AssetVersion, col(AssetVersion.asset_id) == col(Asset.id))
        .join(User, col(User.id) == owner_id)
        .where(
            col(Asset.content_id) == bindparam("content_id"),
            col(AssetVersion.version) == bindparam("version"),
        )
    )


# Built once (the statement and its compiled form are reused; only the values change).
_PLAINLY_USABLE = _plainly_usable_query()


async def _plainly_usable(ctx: StepContext, content_id: str, version: str) -> bool:
    """The common case in one query: the version exists, is not yanked, depends on nothing,
    and the workspace's owner is active and may read it (public, or theirs). Only a sufficient
    condition: when it does not hold, ``use_check`` says why, or finds it fine after all (a
    whitelist)."""
    values = {"owner_id": ctx.tenant.owner_id, "content_id": content_id, "version": version}
    return bool(await ctx.reads.scalar(_PLAINLY_USABLE, values))


async def _package_of(ctx: StepContext, algorithm: ir.AlgorithmSpec, where: str) -> tuple[str, str]:
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
    return row[0], row[1]


def _unpack(ctx: StepContext, cache: CodeCache, hold: Hold, key: str, where: str) -> None:
    """Fetch, verify, check and extract the package, then install it in the cache."""
    limits = PackageLimits.from_settings(ctx.settings)
    staging = cache.staging(hold.sha)
    try:
        archive = staging / "package.tar.gz"
        _fetch_checked(ctx, key, hold.sha, archive, limits, where)
        tree = staging / "tree"
        size = extract(archive, tree, limits, where)
        hold.install(tree, size)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch_checked(
    ctx: StepContext, key: str, sha: str, archive: Path, limits: PackageLimits, where: str
) -> None:
    """Fetch the package at ``key`` into ``archive``; StepFailure unless it is there, has its
    sha256 and passes the package limits (read before anything is unpacked)."""
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
    try:
        check_archive(archive, limits)
    except InvalidInput as exc:
        rule, why = (exc.errors[0].rule, exc.errors[0].message) if exc.errors else ("", "")
        setting = f" (the worker's {_SETTINGS[rule]})" if rule in _SETTINGS else ""
        raise StepFailure(
            f"{where}: its package is refused before unpacking: {why or exc.detail}{setting}",
            non_retryable=True,
        ) from None


def extract(archive: Path, tree: Path, limits: PackageLimits, where: str) -> int:
    """Unpack a checked archive into ``tree`` (plain files and directories only), counting the
    bytes actually written: past ``limits.unpacked_bytes`` it stops, whatever the headers
    said. Returns the bytes written."""
    written = 0
    members = 0
    tree.mkdir()
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                members += 1
                if members > limits.members:
                    raise StepFailure(
                        f"{where}: its package has more than {limits.members} members, the "
                        "limit (GALLERY_PACKAGE_MAX_MEMBERS)",
                        non_retryable=True,
                    )
                safe = tarfile.data_filter(member, str(tree))
                target = tree / safe.name
                if safe.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not safe.isfile():
                    raise StepFailure(
                        f"{where}: its package holds {safe.name!r}, not a plain file",
                        non_retryable=True,
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with source, target.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        written += len(chunk)
                        if written > limits.unpacked_bytes:
                            raise StepFailure(
                                f"{where}: its package unpacks to more than "
                                f"{human(limits.unpacked_bytes)}, the limit "
                                "(GALLERY_PACKAGE_MAX_UNPACKED_BYTES); unpacking stopped",
                                non_retryable=True,
                            )
                        out.write(chunk)
                # Readable by the step's own uid (the tree is linked into its sandbox), never
                # writable by it: 0o755 for executables, else 0o644.
                os.chmod(target, 0o755 if (safe.mode or 0) & 0o111 else 0o644)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise StepFailure(
            f"{where}: its package cannot be unpacked ({exc})", non_retryable=True
        ) from None
    return written


async def install_version(ctx: StepContext, pin: str, tree: Path, where: str) -> None:
    """Put the files of asset version ``pin`` (``CONTENT_ID@VERSION``: a model, a dataset) in
    ``tree``, once the workspace's owner is found still allowed to use it (as for an
    algorithm: not yanked, not deleted, still visible to them). Raises StepFailure saying why
    not."""
    content_id, _, version = pin.partition("@")
    if not content_id or not version:
        raise StepFailure(f"{where}: {pin!r} is not a version CONTENT_ID@VERSION")
    await _check_use(ctx, content_id, version, where)
    spec = ir.AlgorithmSpec(source="gallery", content_id=content_id, version=version)
    key, sha = await _package_of(ctx, spec, where)
    await asyncio.to_thread(_fetch_and_extract, ctx, key, sha, tree, where)


def _fetch_and_extract(ctx: StepContext, key: str, sha: str, tree: Path, where: str) -> None:
    limits = PackageLimits.from_settings(ctx.settings)
    tree.parent.mkdir(parents=True, exist_ok=True)
    staging = tree.parent / f".{tree.name}.tar.gz"
    try:
        _fetch_checked(ctx, key, sha, staging, limits, where)
        extract(staging, tree, limits, where)
    finally:
        staging.unlink(missing_ok=True)
