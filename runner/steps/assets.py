"""What the steps that publish asset versions share (model and dataset steps): the
workspace owner's asset of a name, publishing a folder as a version, finding a version by
name, and the ``CONTENT_ID@VERSION`` references their outputs are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import semver
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.assets.crud import create_asset
from registry.assets.models import Asset, AssetVersion
from registry.assets.schemas import AssetCreate
from registry.errors import GalleryError
from registry.versions.archives import PackageLimits
from registry.versions.service import publish_version
from registry.versions.uploads import PackageFile, PublishUpload
from runner.messages import StepTask
from runner.steps.base import StepContext, StepFailure
from sdk import spec as ir
from sdk._errors import WorkflowDefinitionError
from sdk._packaging import pack
from sdk.vocabulary import Kind


async def owner_of(ctx: StepContext) -> Principal:
    owner = await ctx.tenants.owner(ctx.tenant)
    if owner is None:
        raise StepFailure(
            "the workspace's owner is deactivated or gone: nothing is registered",
            non_retryable=True,
        )
    return owner


def asset_name(step: str, setting: str, value: Any) -> str:
    if not isinstance(value, str) or not ir.NAME_RE.fullmatch(value):
        raise StepFailure(
            f"step {step!r}: {setting} {value!r} is not a name ({ir.NAME_RULE})",
            non_retryable=True,
        )
    return value


async def _owned(session: AsyncSession, owner: Principal, kind: Kind, name: str) -> Asset | None:
    """The owner's asset of that kind and name, if there is one."""
    found = await session.exec(
        select(Asset).where(Asset.owner_id == owner.user_id, Asset.kind == kind, Asset.name == name)
    )
    return found.first()


async def own_asset(
    ctx: StepContext, owner: Principal, kind: Kind, name: str, description: str = ""
) -> Asset:
    """The owner's asset of that kind and name, made (private) when missing."""
    async with ctx.db.write() as session:
        found = await _owned(session, owner, kind, name)
        if found is not None:
            return found
        data = AssetCreate(kind=kind, name=name, title=name, description=description)
        return await create_asset(session, data=data, principal=owner)


async def versions_of(ctx: StepContext, asset: Asset) -> list[semver.Version]:
    async with ctx.db.read() as session:
        rows = await session.exec(
            select(AssetVersion.version).where(AssetVersion.asset_id == asset.id)
        )
        return [semver.Version.parse(v) for v in rows.all()]


def package_of(step: str, folder: Path, limit: int) -> PackageFile:
    """``folder`` packed as code is (sorted, zeroed times), checked against the upload limit."""
    try:
        package = pack(folder)
    except WorkflowDefinitionError as exc:
        raise StepFailure(f"step {step!r}: {exc}", non_retryable=True) from None
    if len(package.data) > limit:
        raise StepFailure(
            f"step {step!r}: the files pack to {len(package.data)} bytes, over the "
            f"{limit}-byte package limit (GALLERY_MAX_UPLOAD_BYTES)",
            non_retryable=True,
        )
    path = folder.parent / f"{folder.name}.tar.gz"
    path.write_bytes(package.data)
    return PackageFile(path, len(package.data), package.sha256)


async def publish(
    ctx: StepContext,
    task: StepTask,
    owner: Principal,
    asset: Asset,
    package: PackageFile,
    manifest: dict[str, Any],
) -> str:
    """Publish ``package`` as a version of ``asset`` (as its owner); ``CONTENT_ID@VERSION``."""
    manifest = {**manifest, "package_sha256": package.sha256}
    try:
        published = await publish_version(
            ctx.db,
            ctx.blobs,
            asset=asset,
            upload=PublishUpload(json.dumps(manifest).encode(), package),
            principal=owner,
            limits=PackageLimits.from_settings(ctx.settings),
        )
    except GalleryError as exc:
        raise StepFailure(
            f"step {task.step.name!r}: publishing {asset.kind} {asset.name!r}: {exc.detail}",
            non_retryable=exc.status < 500,
        ) from None
    return f"{asset.content_id}@{published.version.version}"


async def named_version(
    ctx: StepContext, owner: Principal, kind: Kind, name: str, version: str | None, where: str
) -> str:
    """``CONTENT_ID@VERSION`` of the owner's asset ``name`` (its latest release, or
    ``version``); StepFailure saying which is missing."""
    async with ctx.db.read() as session:
        asset = await _owned(session, owner, kind, name)
        if asset is None:
            raise StepFailure(f"{where}: you have no {kind} named {name!r}", non_retryable=True)
        if version is None:
            if asset.latest_version is None:
                newest = (
                    await session.exec(
                        select(AssetVersion.version)
                        .where(AssetVersion.asset_id == asset.id)
                        .order_by(col(AssetVersion.id).desc())
                    )
                ).first()
                if newest is None:
                    raise StepFailure(
                        f"{where}: {kind} {name!r} has no version yet", non_retryable=True
                    )
                return f"{asset.content_id}@{newest}"
            return f"{asset.content_id}@{asset.latest_version}"
        found = (
            await session.exec(
                select(AssetVersion.id).where(
                    AssetVersion.asset_id == asset.id, AssetVersion.version == version
                )
            )
        ).first()
        if found is None:
            raise StepFailure(
                f"{where}: {kind} {name!r} has no version {version!r}", non_retryable=True
            )
        return f"{asset.content_id}@{version}"
