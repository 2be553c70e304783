"""The access rules (DESIGN.md "Access rules") as predicates and SQL filters.

Read: owner and admins always; ``public`` anyone (downloads need a signed-in user);
``group`` the principals on that version's whitelist; ``private`` the owner only.
Anything unreadable is reported as absent (404); readable but not writable is 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion, VersionWhitelist
from registry.errors import Forbidden, NotFound, Unauthenticated


def is_owner(asset: Asset, principal: Principal | None) -> bool:
    return principal is not None and (principal.is_admin or asset.owner_id == principal.user_id)


def whitelisted(principal: Principal) -> ColumnElement[bool]:
    """SQL: this whitelist row names the principal or one of their groups."""
    user_match = and_(
        col(VersionWhitelist.principal_kind) == "user",
        col(VersionWhitelist.principal_id) == principal.user_id,
    )
    if not principal.group_ids:
        return user_match
    return or_(
        user_match,
        and_(
            col(VersionWhitelist.principal_kind) == "group",
            col(VersionWhitelist.principal_id).in_(sorted(principal.group_ids)),
        ),
    )


def shared_assets(principal: Principal) -> Select[int]:
    """Ids of assets with a version whitelisted to the principal or one of their groups.

    Not correlated: found once through the whitelist's principal index, instead of probing the
    whitelist for every asset row.
    """
    return select(col(VersionWhitelist.asset_id)).where(whitelisted(principal))


def readable_parts(principal: Principal | None) -> list[ColumnElement[bool]]:
    """Disjoint SQL filters whose union is ``readable_assets``: each can use an index, so
    counting them one by one beats counting their OR."""
    if principal is None or principal.is_admin:
        return [readable_assets(principal)]
    shared = shared_assets(principal)
    return [
        col(Asset.visibility) == "public",
        and_(col(Asset.owner_id) == principal.user_id, col(Asset.visibility) != "public"),
        and_(
            col(Asset.visibility) == "group",
            col(Asset.owner_id) != principal.user_id,
            col(Asset.id).in_(shared),
        ),
    ]


def readable_assets(principal: Principal | None) -> ColumnElement[bool]:
    """SQL filter on ``asset``: the assets the principal may see in the catalog."""
    if principal is None:
        return col(Asset.visibility) == "public"
    if principal.is_admin:
        return true()
    shared = shared_assets(principal)
    # The first two terms are written so no index matches them: most assets are readable, and
    # SQLite would otherwise gather row ids from three indexes (a "multi-index OR") and sort
    # them, which is several times slower than walking the table or the sort order's index.
    return or_(
        (col(Asset.visibility) + "") == "public",
        (col(Asset.owner_id) + 0) == principal.user_id,
        and_(col(Asset.visibility) == "group", col(Asset.id).in_(shared)),
    )


def readable_versions(asset: Asset, principal: Principal | None) -> ColumnElement[bool]:
    """SQL filter on ``asset_version`` rows of this asset."""
    if asset.visibility == "public" or is_owner(asset, principal):
        return true()
    if principal is None or asset.visibility != "group":
        return false()
    return exists(
        select(1)
        .select_from(VersionWhitelist)
        .where(col(VersionWhitelist.version_id) == col(AssetVersion.id), whitelisted(principal))
    )


async def can_read_version(
    session: AsyncSession, asset: Asset, version: AssetVersion, principal: Principal | None
) -> bool:
    if asset.visibility == "public" or is_owner(asset, principal):
        return True
    if principal is None or asset.visibility != "group":
        return False
    query = select(col(VersionWhitelist.version_id)).where(
        col(VersionWhitelist.version_id) == version.id, whitelisted(principal)
    )
    return await session.scalar(query.limit(1)) is not None


async def can_read_asset(session: AsyncSession, asset: Asset, principal: Principal | None) -> bool:
    if asset.visibility == "public" or is_owner(asset, principal):
        return True
    if principal is None or asset.visibility != "group":
        return False
    query = select(col(AssetVersion.id)).where(
        col(AssetVersion.asset_id) == asset.id, readable_versions(asset, principal)
    )
    return await session.scalar(query.limit(1)) is not None


def require_owner(asset: Asset, principal: Principal | None) -> Principal:
    """For writes on an asset the caller can read: 401 anonymous, 403 not the owner."""
    if principal is None:
        raise Unauthenticated("sign in to change assets")
    if not is_owner(asset, principal):
        raise Forbidden(f"only the owner of {asset.content_id} may change it")
    return principal


def not_found_asset(content_id: str) -> NotFound:
    return NotFound(f"no asset {content_id!r}")
