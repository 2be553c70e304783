"""Reading an asset's versions: one, the list the caller may read (with interface changes),
the latest readable per asset, and what a version depends on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import semver
from pydantic import TypeAdapter, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion, VersionDependency
from registry.assets.principals import usernames, whitelist_names
from registry.assets.schemas import DependencyRef, Interface, VersionRead
from registry.errors import NotFound
from sdk.interface import bump_for, diff


async def find_version(
    session: AsyncSession, asset: Asset, version: str, principal: Principal | None
) -> AssetVersion:
    row = (
        await session.exec(
            select(AssetVersion).where(
                AssetVersion.asset_id == asset.id, AssetVersion.version == version
            )
        )
    ).first()
    if row is None or not await access.can_read_version(session, asset, row, principal):
        raise NotFound(f"no version {version!r} of asset {asset.content_id}")
    return row


async def list_versions(
    session: AsyncSession, asset: Asset, principal: Principal | None
) -> list[AssetVersion]:
    query: Any = (
        select(AssetVersion)
        .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
        .where(col(AssetVersion.asset_id) == asset.id, access.readable_versions(principal))
        .order_by(
            col(AssetVersion.major).desc(),
            col(AssetVersion.minor).desc(),
            col(AssetVersion.patch).desc(),
            col(AssetVersion.id).desc(),
        )
    )
    return list((await session.exec(query)).all())


async def versions_read(
    session: AsyncSession,
    asset: Asset,
    versions: Sequence[AssetVersion],
    principal: Principal | None,
) -> list[VersionRead]:
    ids = [v.id for v in versions if v.id is not None]
    deps: dict[int, list[DependencyRef]] = {i: [] for i in ids}
    if ids:
        rows = await session.exec(
            select(VersionDependency.version_id, Asset.content_id, AssetVersion.version)
            .join(AssetVersion, col(AssetVersion.id) == col(VersionDependency.depends_on_id))
            .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
            .where(col(VersionDependency.version_id).in_(ids))
        )
        for version_id, content_id, version in rows.all():
            deps[version_id].append(DependencyRef(content_id=content_id, version=version))
    whitelists: dict[int, list[str]] | None = None
    if access.is_owner(asset, principal):
        whitelists = await whitelist_names(session, ids)
    publishers = await usernames(session, (v.published_by for v in versions))
    return [
        VersionRead(
            content_id=asset.content_id,
            version=v.version,
            status=v.status,  # type: ignore[arg-type]
            description=v.description,
            manifest=v.manifest,
            dependencies=deps.get(v.id or 0, []),
            package_sha256=v.package_sha256,
            package_size=v.package_size,
            published_by=publishers.get(v.published_by, "?"),
            created_at=v.created_at,
            whitelist=None if whitelists is None else whitelists.get(v.id or 0, []),
        )
        for v in versions
    ]


async def partly_readable_versions(
    session: AsyncSession, assets: Sequence[Asset], principal: Principal | None
) -> dict[int, list[AssetVersion]]:
    """For the assets whose versions' whitelists decide what the principal may read: the
    versions they may read.

    Other assets are absent from the answer: every one of their versions is readable (or none).
    """
    partial = [
        a.id for a in assets if a.id is not None and access.depends_on_whitelist(a, principal)
    ]
    if not partial:
        return {}
    rows = await session.exec(
        select(AssetVersion)
        .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
        .where(col(AssetVersion.asset_id).in_(partial), access.readable_versions(principal))
    )
    found: dict[int, list[AssetVersion]] = {asset_id: [] for asset_id in partial}
    for version in rows.all():
        found[version.asset_id].append(version)
    return found


async def visible_latest(
    session: AsyncSession, assets: Sequence[Asset], principal: Principal | None
) -> dict[int, str | None]:
    """Latest version per asset among those the principal may read (only where it differs)."""
    return latest_of(await partly_readable_versions(session, assets, principal))


def latest_of(partial: dict[int, list[AssetVersion]]) -> dict[int, str | None]:
    """The highest released, unyanked version of each partly readable asset."""
    latest: dict[int, str | None] = {}
    for asset_id, versions in partial.items():
        candidates = [
            semver.Version.parse(v.version)
            for v in versions
            if v.status != "yanked" and v.prerelease is None
        ]
        latest[asset_id] = str(max(candidates)) if candidates else None
    return latest


async def direct_dependencies(
    session: AsyncSession, version: AssetVersion
) -> list[tuple[AssetVersion, Asset]]:
    rows = await session.exec(
        select(AssetVersion, Asset)
        .join(VersionDependency, col(VersionDependency.depends_on_id) == col(AssetVersion.id))
        .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
        .where(VersionDependency.version_id == version.id)
    )
    return list(rows.all())


async def walk_dependencies(
    session: AsyncSession,
    version: AssetVersion,
    visit: Callable[[AssetVersion, Asset], Awaitable[bool]],
) -> None:
    """``visit`` every version ``version`` depends on, transitively and once each; below a
    dependency it is only taken when ``visit`` returned True for that one."""
    seen: set[int | None] = {version.id}
    queue = [version]
    while queue:
        current = queue.pop()
        for dep_version, dep_asset in await direct_dependencies(session, current):
            if dep_version.id in seen:
                continue
            seen.add(dep_version.id)
            if await visit(dep_version, dep_asset):
                queue.append(dep_version)


def with_changes(versions: list[VersionRead]) -> list[VersionRead]:
    """Versions (newest first, as ``list_versions`` orders them) with the interface changes
    against the next older one in the list, where both interfaces can be compared."""
    result = []
    for index, read in enumerate(versions):
        newer = comparable(read.manifest.get("interface"))
        older = None
        if index + 1 < len(versions):
            older = comparable(versions[index + 1].manifest.get("interface"))
        if newer is None or older is None:
            result.append(read)
            continue
        changes = diff(older, newer)
        result.append(
            read.model_copy(
                update={"bump": bump_for(changes), "changes": [c.as_dict() for c in changes]}
            )
        )
    return result


_INTERFACE: TypeAdapter[Interface] = TypeAdapter(Interface)


def comparable(interface: Any) -> Interface | None:
    """``interface`` if it has the shape the diff reads; a publisher's own claim (a model's)
    or a row stored before that shape was checked may not, and is then not compared."""
    try:
        return _INTERFACE.validate_python(interface) if interface is not None else None
    except ValidationError:
        return None
