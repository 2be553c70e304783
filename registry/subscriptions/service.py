"""Subscriptions: explicit acceptance of terms, popularity counts, news of versions."""

from __future__ import annotations

import semver
from sqlalchemy import and_, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.models import User
from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion, Subscription
from registry.assets.schemas import SubscriptionRead
from registry.assets.version_reads import latest_of, partly_readable_versions
from registry.errors import InvalidInput, Unauthenticated


def _signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated("sign in to subscribe")
    return principal


async def subscribe(
    session: AsyncSession, *, asset: Asset, accept_terms: bool, principal: Principal | None
) -> tuple[Subscription, bool]:
    """Subscribe (idempotent); returns the subscription and whether it is new."""
    user = _signed_in(principal)
    if not accept_terms:
        raise InvalidInput.field(
            "accept_terms", "must_accept", "read the asset's terms and send accept_terms: true"
        )
    existing = await session.get(Subscription, (user.user_id, asset.id))
    if existing is not None:
        return existing, False
    assert asset.id is not None
    row = Subscription(user_id=user.user_id, asset_id=asset.id)
    session.add(row)
    await session.exec(
        update(Asset)  # type: ignore[call-overload]
        .where(col(Asset.id) == asset.id)
        .values(subscription_count=Asset.subscription_count + 1)
    )
    await session.flush()
    return row, True


async def unsubscribe(session: AsyncSession, *, asset: Asset, principal: Principal | None) -> None:
    user = _signed_in(principal)
    existing = await session.get(Subscription, (user.user_id, asset.id))
    if existing is None:
        return
    await session.delete(existing)
    await session.exec(
        update(Asset)  # type: ignore[call-overload]
        .where(col(Asset.id) == asset.id, col(Asset.subscription_count) > 0)
        .values(subscription_count=Asset.subscription_count - 1)
    )
    await session.flush()


async def my_subscriptions(
    session: AsyncSession, principal: Principal | None
) -> list[SubscriptionRead]:
    user = _signed_in(principal)
    newer = (
        select(func.count())
        .select_from(AssetVersion)
        .where(
            col(AssetVersion.asset_id) == col(Subscription.asset_id),
            col(AssetVersion.created_at) > col(Subscription.created_at),
        )
        .scalar_subquery()
    )
    rows = await session.exec(
        select(Asset, User.username, Subscription.created_at, newer)  # type: ignore[call-overload]
        .join(Subscription, col(Subscription.asset_id) == col(Asset.id))
        .join(User, col(User.id) == col(Asset.owner_id))
        .where(col(Subscription.user_id) == user.user_id, access.readable_assets(user))
        .order_by(col(Subscription.created_at).desc())
    )
    found = list(rows.all())
    assets = [asset for asset, *_ in found]
    partial = await partly_readable_versions(session, assets, user)
    latest = latest_of(partial)
    earlier = await _released_before_subscribing(session, user, [a.id for a in assets])
    result = []
    for asset, owner, subscribed_at, new_versions in found:
        assert asset.id is not None
        if asset.id in partial:  # count only the versions shared with this subscriber
            new_versions = sum(v.created_at > subscribed_at for v in partial[asset.id])
            before = [
                v.version
                for v in partial[asset.id]
                if v.created_at <= subscribed_at and v.status != "yanked" and not v.prerelease
            ]
        else:
            before = earlier.get(asset.id, [])
        subscribed_version = _highest(before)
        latest_version = latest.get(asset.id, asset.latest_version)
        result.append(
            SubscriptionRead(
                content_id=asset.content_id,
                kind=asset.kind,
                name=asset.name,
                title=asset.title,
                owner=owner,
                latest_version=latest_version,
                subscribed_at=subscribed_at,
                subscribed_version=subscribed_version,
                new_versions=new_versions,
                update_available=_newer(latest_version, subscribed_version),
            )
        )
    return result


async def _released_before_subscribing(
    session: AsyncSession, user: Principal, asset_ids: list[int | None]
) -> dict[int, list[str]]:
    """Per asset: its released, unyanked versions published before the user subscribed."""
    wanted = [i for i in asset_ids if i is not None]
    if not wanted:
        return {}
    rows = await session.exec(
        select(AssetVersion.asset_id, AssetVersion.version)  # type: ignore[call-overload]
        .join(
            Subscription,
            and_(
                col(Subscription.asset_id) == col(AssetVersion.asset_id),
                col(Subscription.user_id) == user.user_id,
            ),
        )
        .where(
            col(AssetVersion.asset_id).in_(wanted),
            col(AssetVersion.created_at) <= col(Subscription.created_at),
            col(AssetVersion.status) != "yanked",
            col(AssetVersion.prerelease).is_(None),
        )
    )
    found: dict[int, list[str]] = {}
    for asset_id, version in rows.all():
        found.setdefault(asset_id, []).append(version)
    return found


def _highest(versions: list[str]) -> str | None:
    return str(max(semver.Version.parse(v) for v in versions)) if versions else None


def _newer(latest: str | None, subscribed: str | None) -> bool:
    if latest is None:
        return False
    return subscribed is None or semver.Version.parse(latest) > semver.Version.parse(subscribed)
