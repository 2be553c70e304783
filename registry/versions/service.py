"""Publishing versions: semver rules, verified packages, atomic visibility, status changes."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import anyio
import semver
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.service import Principal
from registry.assets.crud import find_asset
from registry.assets.models import Asset, AssetVersion, VersionDependency
from registry.assets.schemas import Manifest, VersionStatus
from registry.assets.version_reads import comparable
from registry.blobs import BlobStore
from registry.db import Database
from registry.documents import DocumentError, loads
from registry.errors import Conflict, FieldError, InvalidInput, pydantic_errors
from registry.models_base import utcnow
from registry.versions.archives import PackageLimits, check_archive
from registry.versions.specs import check_spec
from registry.versions.uploads import PublishUpload
from sdk.interface import Bump, Change, bump_for, diff

log = logging.getLogger(__name__)
PACKAGES = "packages/"
_RETRIES = 8


def parse_version(value: str, field: str = "version") -> semver.Version:
    try:
        return semver.Version.parse(value)
    except (ValueError, TypeError):
        raise InvalidInput.field(
            field,
            "semver",
            f"{value!r} is not a valid semantic version (MAJOR.MINOR.PATCH, e.g. '1.2.0')",
        ) from None


def parse_manifest(raw: bytes) -> Manifest:
    try:
        data = loads(raw)
    except DocumentError as exc:
        dot = "." if exc.where and not exc.where.startswith("[") else ""
        field = f"manifest{dot}{exc.where}"
        message = exc.message
        if exc.rule in ("utf8", "json"):
            message = f"not valid UTF-8 JSON ({message})"
        raise InvalidInput.field(field, exc.rule, message) from None
    if not isinstance(data, dict):
        raise InvalidInput.field("manifest", "object", "must be a JSON object")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.of("manifest", pydantic_errors(exc, "manifest")) from None


def next_version(existing: list[str], bump: Bump = "patch") -> semver.Version:
    """The highest version bumped (a pre-release is finalised); 1.0.0 when there is none."""
    if not existing:
        return semver.Version(1, 0, 0)
    top = max(semver.Version.parse(v) for v in existing)
    if top.prerelease and bump == "patch":
        return top.finalize_version()
    return {"major": top.bump_major, "minor": top.bump_minor, "patch": top.bump_patch}[bump]()


@dataclass(frozen=True)
class Published:
    asset: Asset
    version: AssetVersion
    bump: Bump | None
    changes: list[Change]


@dataclass(frozen=True)
class StoredPackage:
    key: str
    sha256: str
    size: int


async def store_package(
    blobs: BlobStore,
    *,
    asset: Asset,
    upload: PublishUpload,
    manifest: Manifest,
    limits: PackageLimits,
) -> StoredPackage | None:
    """Check the uploaded archive and put it in the blob store under a fresh key."""
    package = upload.package
    if package is None:
        if manifest.package_sha256:
            raise InvalidInput.field(
                "package", "required", "manifest names a package_sha256 but no package was sent"
            )
        return None
    if manifest.package_sha256 and manifest.package_sha256 != package.sha256:
        raise InvalidInput.field(
            "package",
            "sha256",
            f"content hash {package.sha256} does not match manifest.package_sha256 "
            f"{manifest.package_sha256}; the upload was corrupted or the wrong file was sent",
        )
    await anyio.to_thread.run_sync(check_archive, package.path, limits)
    key = f"{PACKAGES}{asset.content_id}/{uuid.uuid4().hex}.tar.gz"
    await anyio.to_thread.run_sync(blobs.put_file, key, package.path)
    return StoredPackage(key, package.sha256, package.size)


async def publish_version(
    db: Database,
    blobs: BlobStore,
    *,
    asset: Asset,
    upload: PublishUpload,
    principal: Principal,
    limits: PackageLimits,
) -> Published:
    """Publish one version of an asset the principal owns (checked again in the transaction).

    The version becomes visible only with its package stored and checked.
    """
    content_id = asset.content_id
    try:
        manifest = parse_manifest(upload.manifest)
        explicit = parse_version(manifest.version) if manifest.version is not None else None
        interface = check_spec(asset.kind, manifest)
        if interface is not None:  # the server's own reading, not the publisher's claim
            manifest = manifest.model_copy(update={"interface": interface})
        stored = await store_package(
            blobs, asset=asset, upload=upload, manifest=manifest, limits=limits
        )
    finally:
        upload.discard()
    try:
        for _attempt in range(_RETRIES):
            try:
                async with db.write() as session:
                    return await _insert_version(
                        session, content_id, manifest, explicit, stored, principal
                    )
            except IntegrityError:
                if explicit is not None:
                    raise Conflict(
                        f"version {explicit} of asset {content_id} already exists"
                    ) from None
                # Another publish took the number between our read and insert: go again.
        raise Conflict(f"too many concurrent publishes to asset {content_id}; try again")
    except BaseException:
        if stored is not None:
            await anyio.to_thread.run_sync(blobs.delete, stored.key)
        raise


async def _insert_version(
    session: AsyncSession,
    content_id: str,
    manifest: Manifest,
    explicit: semver.Version | None,
    stored: StoredPackage | None,
    principal: Principal,
) -> Published:
    asset = await find_asset(session, content_id, principal, for_update=True)
    access.require_owner(asset, principal)
    assert asset.id is not None
    if explicit is not None:
        taken = await session.exec(
            select(AssetVersion.id).where(
                AssetVersion.asset_id == asset.id, AssetVersion.version == str(explicit)
            )
        )
        if taken.first() is not None:
            raise Conflict(
                f"version {explicit} of asset {content_id} already exists; published versions "
                "are immutable, publish a new version instead"
            )
    top = await session.exec(
        select(AssetVersion.version)
        .where(AssetVersion.asset_id == asset.id)
        .order_by(
            col(AssetVersion.major).desc(),
            col(AssetVersion.minor).desc(),
            col(AssetVersion.patch).desc(),
        )
        .limit(50)
    )
    existing = [semver.Version.parse(v) for v in top.all()]
    before = [v for v in existing if explicit is None or v < explicit]
    previous = max(before) if before else None
    changes: list[Change] = []
    bump: Bump | None = None
    new_interface = comparable(manifest.interface)
    if previous is not None and new_interface is not None:
        old = await session.exec(
            select(AssetVersion.manifest).where(
                AssetVersion.asset_id == asset.id, AssetVersion.version == str(previous)
            )
        )
        previous_manifest = old.first()
        old_interface = comparable(
            previous_manifest.get("interface") if isinstance(previous_manifest, dict) else None
        )
        if old_interface is not None:
            changes = diff(old_interface, new_interface)
            bump = bump_for(changes)
    if explicit is None:
        version = next_version([str(v) for v in existing], bump or "patch")
    else:
        version = explicit
        breaking = [c for c in changes if c.impact == "breaking"]
        if previous is not None and breaking and version.major == previous.major:
            raise InvalidInput(
                f"version {version} keeps major version {version.major} of {previous} but "
                f"breaks its interface: "
                + "; ".join(c.message for c in breaking)
                + f"; publish {previous.bump_major()} instead",
                [FieldError("version", "breaking_change", c.message) for c in breaking],
            )
    dependency_ids = await _resolve_dependencies(session, manifest, principal, asset)
    row = AssetVersion(
        asset_id=asset.id,
        version=str(version),
        major=version.major,
        minor=version.minor,
        patch=version.patch,
        prerelease=version.prerelease,
        description=manifest.description,
        manifest=manifest.model_dump(mode="json", exclude={"version"}),
        package_key=stored.key if stored else None,
        package_sha256=stored.sha256 if stored else None,
        package_size=stored.size if stored else None,
        published_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    for dep_id in dependency_ids:
        session.add(VersionDependency(version_id=row.id, depends_on_id=dep_id))
    if not version.prerelease and (
        asset.latest_version is None or version > semver.Version.parse(asset.latest_version)
    ):
        asset.latest_version = str(version)
    asset.updated_at = utcnow()
    session.add(asset)
    await session.flush()
    return Published(asset, row, bump, changes)


async def _resolve_dependencies(
    session: AsyncSession, manifest: Manifest, principal: Principal, asset: Asset
) -> list[int]:
    ids: list[int] = []
    for index, dep in enumerate(manifest.dependencies):
        field = f"manifest.dependencies[{index}]"
        row = (
            await session.exec(
                select(AssetVersion, Asset)
                .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
                .where(Asset.content_id == dep.content_id, AssetVersion.version == dep.version)
            )
        ).first()
        readable = row is not None and await access.can_read_version(
            session, row[1], row[0], principal
        )
        if row is None or not readable:
            raise InvalidInput.field(
                field, "exists", f"no readable asset version {dep.content_id}@{dep.version}"
            )
        dep_version, dep_asset = row
        if dep_asset.id == asset.id:
            raise InvalidInput.field(field, "not_self", "a version cannot depend on its own asset")
        if not await access.can_use_version(session, dep_asset, dep_version, principal):
            raise InvalidInput.field(  # readable (above), so yanked
                field, "not_yanked", f"{dep.content_id}@{dep.version} is yanked"
            )
        assert dep_version.id is not None
        if dep_version.id not in ids:
            ids.append(dep_version.id)
    return ids


async def set_status(
    session: AsyncSession,
    *,
    asset: Asset,
    version: AssetVersion,
    status: VersionStatus,
    principal: Principal | None,
) -> AssetVersion:
    access.require_owner(asset, principal)
    version.status = status
    session.add(version)
    await session.flush()
    remaining = await session.exec(
        select(AssetVersion.version).where(
            AssetVersion.asset_id == asset.id,
            AssetVersion.status != "yanked",
            col(AssetVersion.prerelease).is_(None),
        )
    )
    candidates = [semver.Version.parse(v) for v in remaining.all()]
    asset.latest_version = str(max(candidates)) if candidates else None
    asset.updated_at = utcnow()
    session.add(asset)
    await session.flush()
    return version


async def sweep_orphans(db: Database, blobs: BlobStore, *, older_than: timedelta) -> int:
    """Delete package blobs no version refers to (a publish that died before its commit)."""
    cutoff = utcnow() - older_than
    candidates = await anyio.to_thread.run_sync(
        lambda: [b.key for b in blobs.list(PACKAGES) if b.modified < cutoff]
    )
    if not candidates:
        return 0
    async with db.read() as session:
        known = set(
            (
                await session.exec(
                    select(AssetVersion.package_key).where(
                        col(AssetVersion.package_key).in_(candidates)
                    )
                )
            ).all()
        )
    orphans = [key for key in candidates if key not in known]
    for key in orphans:
        await anyio.to_thread.run_sync(blobs.delete, key)
    if orphans:
        log.info("removed %d orphaned package blob(s)", len(orphans))
    return len(orphans)
