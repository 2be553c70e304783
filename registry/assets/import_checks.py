"""Whether a principal may use (import, run, fetch the package of) a version now: it and
everything it depends on, checked at every use (DESIGN.md §2)."""

from __future__ import annotations

from typing import Literal

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion
from registry.assets.schemas import ImportBlocker, ImportCheck
from registry.assets.version_reads import walk_dependencies
from registry.errors import Unauthenticated

NOT_SHARED = "not shared with you; ask its owner to whitelist you"
NO_LONGER_SHARED = "no longer shared with the workspace's owner"


async def _why_not(
    session: AsyncSession, asset: Asset, version: AssetVersion, principal: Principal
) -> Literal["unreadable", "yanked"] | None:
    """None when the principal may use the version itself now; otherwise why not."""
    if await access.can_use_version(session, asset, version, principal):
        return None
    if not await access.can_read_version(session, asset, version, principal):
        return "unreadable"
    return "yanked"  # readable by a signed-in principal: only its status stands in the way


async def _dependency_blockers(
    session: AsyncSession, version: AssetVersion, principal: Principal
) -> list[ImportBlocker]:
    """What stops the principal from using what the version depends on, transitively (below
    a dependency they cannot use, nothing more is looked at)."""
    blockers: list[ImportBlocker] = []

    async def visit(dep_version: AssetVersion, dep_asset: Asset) -> bool:
        why = await _why_not(session, dep_asset, dep_version, principal)
        if why is not None:
            blockers.append(
                ImportBlocker(
                    content_id=dep_asset.content_id,
                    version=dep_version.version,
                    reason=NOT_SHARED if why == "unreadable" else why,
                )
            )
        return why is None

    await walk_dependencies(session, version, visit)
    return blockers


async def import_check(
    session: AsyncSession, *, asset: Asset, version: AssetVersion, principal: Principal | None
) -> ImportCheck:
    """Whether the principal may import this version (one they can read): it and every
    dependency usable."""
    if principal is None:
        raise Unauthenticated("sign in to import")
    blockers: list[ImportBlocker] = []
    why = await _why_not(session, asset, version, principal)
    if why is not None:
        reason = NOT_SHARED if why == "unreadable" else why
        blockers.append(
            ImportBlocker(content_id=asset.content_id, version=version.version, reason=reason)
        )
    blockers.extend(await _dependency_blockers(session, version, principal))
    return ImportCheck(
        content_id=asset.content_id,
        version=version.version,
        importable=not blockers,
        blockers=blockers,
    )


async def use_check(
    session: AsyncSession, *, pins: list[tuple[str, str]], principal: Principal
) -> list[ImportBlocker]:
    """What stops the principal from using these pinned versions (and what they depend on)
    now: a deleted asset or version, one no longer shared with them, or a yanked one.

    Access is checked when it is used (DESIGN.md §2): every start of an execution, and every
    package a worker fetches, asks again.
    """
    blockers: list[ImportBlocker] = []
    for content_id, number in dict.fromkeys(pins):
        asset = (await session.exec(select(Asset).where(Asset.content_id == content_id))).first()
        version = None
        if asset is not None:
            version = (
                await session.exec(
                    select(AssetVersion).where(
                        AssetVersion.asset_id == asset.id, AssetVersion.version == number
                    )
                )
            ).first()
        if asset is None or version is None:
            blockers.append(ImportBlocker(content_id=content_id, version=number, reason="deleted"))
            continue
        why = await _why_not(session, asset, version, principal)
        if why is not None:
            reason = NO_LONGER_SHARED if why == "unreadable" else why
            blockers.append(ImportBlocker(content_id=content_id, version=number, reason=reason))
        if why != "unreadable":
            blockers.extend(await _dependency_blockers(session, version, principal))
    return blockers
