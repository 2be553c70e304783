"""Whitelists of versions: who is on one (for the owner), and edits that cascade to the
dependency versions the owner also owns (DESIGN.md §2)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion, VersionDependency, VersionWhitelist
from registry.assets.principals import resolve_principals, whitelist_names
from registry.assets.schemas import DependencyRef, WhitelistRead
from registry.assets.version_reads import walk_dependencies


async def _still_needed(
    session: AsyncSession, target: AssetVersion, kind: str, principal_id: int, exclude: set[Any]
) -> bool:
    """Whether another version shared with the principal depends on ``target``."""
    query = (
        select(col(VersionDependency.version_id))
        .join(
            VersionWhitelist,
            col(VersionWhitelist.version_id) == col(VersionDependency.version_id),
        )
        .where(
            col(VersionDependency.depends_on_id) == target.id,
            col(VersionDependency.version_id).not_in(exclude),
            col(VersionWhitelist.principal_kind) == kind,
            col(VersionWhitelist.principal_id) == principal_id,
        )
        .limit(1)
    )
    return (await session.exec(query)).first() is not None


async def change_whitelist(
    session: AsyncSession,
    *,
    asset: Asset,
    version: AssetVersion,
    names: list[str],
    add: bool,
    principal: Principal | None,
) -> WhitelistRead:
    """Add or remove principals; the change cascades to dependency versions the caller owns."""
    actor = access.require_owner(asset, principal)
    principals = await resolve_principals(session, names)
    cascaded: list[DependencyRef] = []
    skipped: list[DependencyRef] = []
    targets = [version]

    async def visit(dep_version: AssetVersion, dep_asset: Asset) -> bool:
        ref = DependencyRef(content_id=dep_asset.content_id, version=dep_version.version)
        owned = access.is_owner(dep_asset, actor)
        if owned:
            targets.append(dep_version)
            cascaded.append(ref)
        else:
            skipped.append(ref)
        return owned

    await walk_dependencies(session, version, visit)
    for target in targets:
        assert target.id is not None
        for kind, principal_id in principals:
            key = (target.id, kind, principal_id)
            row = await session.get(VersionWhitelist, key)
            if add and row is None:
                session.add(
                    VersionWhitelist(
                        version_id=target.id,
                        principal_kind=kind,
                        principal_id=principal_id,
                        asset_id=target.asset_id,
                    )
                )
            elif not add and row is not None:
                if target is not version and await _still_needed(
                    session, target, kind, principal_id, exclude={t.id for t in targets}
                ):
                    continue
                await session.delete(row)
    await session.flush()
    assert version.id is not None
    current_names = (await whitelist_names(session, [version.id]))[version.id]
    return WhitelistRead(
        content_id=asset.content_id,
        version=version.version,
        principals=current_names,
        cascaded_to=cascaded,
        not_cascaded=skipped,
        warning=_whitelist_warning(asset),
    )


async def read_whitelist(
    session: AsyncSession, *, asset: Asset, version: AssetVersion, principal: Principal | None
) -> WhitelistRead:
    """Who is on the version's whitelist: for the owner (and admins) only."""
    access.require_owner(
        asset, principal, sign_in="sign in to see whitelists", action="see its whitelists"
    )
    assert version.id is not None
    names = (await whitelist_names(session, [version.id]))[version.id]
    return WhitelistRead(
        content_id=asset.content_id,
        version=version.version,
        principals=names,
        cascaded_to=[],
        not_cascaded=[],
        warning=_whitelist_warning(asset),
    )


def _whitelist_warning(asset: Asset) -> str | None:
    if access.whitelist_applies(asset):
        return None
    return (
        f"asset is {asset.visibility}: whitelisted principals gain access only while its "
        "visibility is 'group'"
    )
