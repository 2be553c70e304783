"""Assets themselves: create, find (if readable), edit, delete, and their API shape."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.service import Principal
from registry.assets.models import (
    Asset,
    AssetTag,
    AssetVersion,
    Subscription,
    VersionDependency,
    VersionWhitelist,
)
from registry.assets.principals import usernames
from registry.assets.schemas import AssetCreate, AssetRead, AssetUpdate
from registry.assets.version_reads import visible_latest
from registry.errors import Conflict
from registry.models_base import utcnow


async def create_asset(session: AsyncSession, *, data: AssetCreate, principal: Principal) -> Asset:
    duplicate = await session.exec(
        select(Asset.id).where(
            Asset.owner_id == principal.user_id, Asset.kind == data.kind, Asset.name == data.name
        )
    )
    if duplicate.first() is not None:
        raise Conflict(f"you already have a {data.kind} named {data.name!r}")
    asset = Asset(
        content_id=str(uuid.uuid4()),
        kind=data.kind,
        name=data.name,
        title=data.title or data.name,
        description=data.description,
        terms=data.terms,
        tags_text=" ".join(data.tags),
        owner_id=principal.user_id,
        visibility=data.visibility,
    )
    session.add(asset)
    await session.flush()
    assert asset.id is not None
    for tag in data.tags:
        session.add(AssetTag(asset_id=asset.id, tag=tag))
    await session.flush()
    return asset


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def find_asset(
    session: AsyncSession, content_id: str, principal: Principal | None, *, for_update: bool = False
) -> Asset:
    """The asset if the principal may read it; 404 otherwise."""
    query = select(Asset).where(Asset.content_id == content_id)
    if for_update and dialect_name(session) != "sqlite":
        query = query.with_for_update()
    asset = (await session.exec(query)).first()
    if asset is None or not await access.can_read_asset(session, asset, principal):
        raise access.not_found_asset(content_id)
    return asset


async def update_asset(
    session: AsyncSession, *, asset: Asset, data: AssetUpdate, principal: Principal | None
) -> Asset:
    access.require_owner(asset, principal)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    tags = changes.pop("tags", None)
    for key, value in changes.items():
        setattr(asset, key, value)
    if tags is not None:
        assert asset.id is not None
        await session.exec(delete(AssetTag).where(col(AssetTag.asset_id) == asset.id))  # type: ignore[call-overload]
        for tag in tags:
            session.add(AssetTag(asset_id=asset.id, tag=tag))
        asset.tags_text = " ".join(tags)
    asset.updated_at = utcnow()
    session.add(asset)
    await session.flush()
    return asset


async def delete_asset(
    session: AsyncSession, *, asset: Asset, principal: Principal | None
) -> list[str]:
    """Delete the asset and its versions; returns the blob keys to remove after commit."""
    access.require_owner(asset, principal)
    version_ids = select(AssetVersion.id).where(AssetVersion.asset_id == asset.id)
    dependents = await session.exec(
        select(func.count())
        .select_from(VersionDependency)
        .where(
            col(VersionDependency.depends_on_id).in_(version_ids),
            col(VersionDependency.version_id).not_in(version_ids),
        )
    )
    in_use = dependents.one()
    if in_use:
        raise Conflict(
            f"asset {asset.content_id} is used by {in_use} version(s) of other assets; "
            "deprecate it instead"
        )
    keys = [
        key
        for key in (
            await session.exec(
                select(AssetVersion.package_key).where(AssetVersion.asset_id == asset.id)
            )
        ).all()
        if key
    ]
    statements = [
        delete(VersionWhitelist).where(col(VersionWhitelist.version_id).in_(version_ids)),
        delete(VersionDependency).where(col(VersionDependency.version_id).in_(version_ids)),
        delete(AssetVersion).where(col(AssetVersion.asset_id) == asset.id),
        delete(AssetTag).where(col(AssetTag.asset_id) == asset.id),
        delete(Subscription).where(col(Subscription.asset_id) == asset.id),
    ]
    for statement in statements:
        await session.exec(statement)
    await session.delete(asset)
    await session.flush()
    return keys


async def asset_read(session: AsyncSession, asset: Asset, principal: Principal | None) -> AssetRead:
    owner = (await usernames(session, [asset.owner_id]))[asset.owner_id]
    latest = await visible_latest(session, [asset], principal)
    return to_asset_read(asset, owner, latest)


def to_asset_read(
    asset: Asset, owner: str, latest: dict[int, str | None] | None = None
) -> AssetRead:
    """``latest`` overrides ``latest_version`` for assets only partly readable by the caller."""
    return AssetRead(
        content_id=asset.content_id,
        kind=asset.kind,  # type: ignore[arg-type]
        name=asset.name,
        title=asset.title,
        description=asset.description,
        terms=asset.terms,
        tags=asset.tags_text.split(),
        owner=owner,
        visibility=asset.visibility,  # type: ignore[arg-type]
        subscription_count=asset.subscription_count,
        latest_version=(latest or {}).get(asset.id or 0, asset.latest_version),
        created_at=asset.created_at,
        updated_at=asset.updated_at,
    )
