"""Assets: create, read, edit, delete; reading versions; whitelists; import pre-check."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import semver
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.models import Group, User
from registry.accounts.service import Principal
from registry.assets.models import (
    Asset,
    AssetTag,
    AssetVersion,
    Subscription,
    VersionDependency,
    VersionWhitelist,
)
from registry.assets.schemas import (
    AssetCreate,
    AssetRead,
    AssetUpdate,
    DependencyRef,
    ImportBlocker,
    ImportCheck,
    Interface,
    VersionRead,
    WhitelistRead,
)
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from registry.models_base import NAME_RE, utcnow
from sdk.interface import bump_for, diff

GROUP_PREFIX = "group:"


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
    if "\x00" in content_id:  # no such id, and PostgreSQL would refuse the parameter
        raise access.not_found_asset(content_id)
    query = select(Asset).where(Asset.content_id == content_id)
    if for_update and dialect_name(session) != "sqlite":
        query = query.with_for_update()
    asset = (await session.exec(query)).first()
    if asset is None or not await access.can_read_asset(session, asset, principal):
        raise access.not_found_asset(content_id)
    return asset


async def find_version(
    session: AsyncSession, asset: Asset, version: str, principal: Principal | None
) -> AssetVersion:
    if "\x00" in version:  # no such version, and PostgreSQL would refuse the parameter
        raise NotFound(f"no version {version!r} of asset {asset.content_id}")
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


async def usernames(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.exec(select(User.id, User.username).where(col(User.id).in_(wanted)))
    return {user_id: name for user_id, name in rows.all() if user_id is not None}


async def asset_read(session: AsyncSession, asset: Asset, principal: Principal | None) -> AssetRead:
    owner = (await usernames(session, [asset.owner_id]))[asset.owner_id]
    latest = await visible_latest(session, [asset], principal)
    return to_asset_read(asset, owner, latest)


async def readable_group_versions(
    session: AsyncSession, assets: Sequence[Asset], principal: Principal | None
) -> dict[int, list[AssetVersion]]:
    """For ``group`` assets the principal does not own: the versions whitelisted to them.

    Other assets are absent from the answer: every one of their versions is readable (or none).
    """
    partial = [
        a.id
        for a in assets
        if a.id is not None and a.visibility == "group" and not access.is_owner(a, principal)
    ]
    if not partial or principal is None:
        return {}
    rows = await session.exec(
        select(AssetVersion)
        .join(VersionWhitelist, col(VersionWhitelist.version_id) == col(AssetVersion.id))
        .where(col(AssetVersion.asset_id).in_(partial), access.whitelisted(principal))
    )
    found: dict[int, list[AssetVersion]] = {asset_id: [] for asset_id in partial}
    for version in rows.unique().all():
        found[version.asset_id].append(version)
    return found


async def visible_latest(
    session: AsyncSession, assets: Sequence[Asset], principal: Principal | None
) -> dict[int, str | None]:
    """Latest version per asset among those the principal may read (only where it differs)."""
    return latest_of(await readable_group_versions(session, assets, principal))


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


async def list_versions(
    session: AsyncSession, asset: Asset, principal: Principal | None
) -> list[AssetVersion]:
    query: Any = (
        select(AssetVersion)
        .where(col(AssetVersion.asset_id) == asset.id, access.readable_versions(asset, principal))
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


async def whitelist_names(session: AsyncSession, version_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {i: [] for i in version_ids}
    if not version_ids:
        return result
    users = await session.exec(
        select(VersionWhitelist.version_id, User.username)
        .join(User, col(User.id) == col(VersionWhitelist.principal_id))
        .where(
            col(VersionWhitelist.version_id).in_(version_ids),
            VersionWhitelist.principal_kind == "user",
        )
    )
    groups = await session.exec(
        select(VersionWhitelist.version_id, Group.name)
        .join(Group, col(Group.id) == col(VersionWhitelist.principal_id))
        .where(
            col(VersionWhitelist.version_id).in_(version_ids),
            VersionWhitelist.principal_kind == "group",
        )
    )
    for version_id, name in users.all():
        result[version_id].append(name)
    for version_id, name in groups.all():
        result[version_id].append(GROUP_PREFIX + name)
    for names in result.values():
        names.sort()
    return result


async def resolve_principals(session: AsyncSession, names: list[str]) -> list[tuple[str, int]]:
    """``alice`` and ``group:ml`` → (kind, id); unknown names are a 422 naming them."""
    resolved: list[tuple[str, int]] = []
    unknown: list[str] = []
    for name in names:
        if not NAME_RE.fullmatch(name.removeprefix(GROUP_PREFIX)):
            unknown.append(name)
        elif name.startswith(GROUP_PREFIX):
            group_id = (
                await session.exec(select(Group.id).where(Group.name == name[len(GROUP_PREFIX) :]))
            ).first()
            if group_id is None:
                unknown.append(name)
            else:
                resolved.append(("group", group_id))
        else:
            user_id = (await session.exec(select(User.id).where(User.username == name))).first()
            if user_id is None:
                unknown.append(name)
            else:
                resolved.append(("user", user_id))
    if unknown:
        raise InvalidInput.field(
            "principals",
            "exists",
            "unknown user or group: "
            + ", ".join(repr(n) for n in unknown)
            + " (groups are written 'group:<name>')",
        )
    return list(dict.fromkeys(resolved))


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
    seen = {version.id}
    queue = [version]
    while queue:
        current = queue.pop()
        for dep_version, dep_asset in await direct_dependencies(session, current):
            if dep_version.id in seen:
                continue
            seen.add(dep_version.id)
            ref = DependencyRef(content_id=dep_asset.content_id, version=dep_version.version)
            if access.is_owner(dep_asset, actor):
                targets.append(dep_version)
                cascaded.append(ref)
                queue.append(dep_version)
            else:
                skipped.append(ref)
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
    if principal is None:
        raise Unauthenticated("sign in to see whitelists")
    if not access.is_owner(asset, principal):
        raise Forbidden(f"only the owner of {asset.content_id} may see its whitelists")
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
    if asset.visibility == "group":
        return None
    return (
        f"asset is {asset.visibility}: whitelisted principals gain access only while its "
        "visibility is 'group'"
    )


def with_changes(versions: list[VersionRead]) -> list[VersionRead]:
    """Versions (newest first, as ``list_versions`` orders them) with the interface changes
    against the next older one in the list, where both interfaces can be compared."""
    result = []
    for index, read in enumerate(versions):
        newer = _comparable(read.manifest.get("interface"))
        older = None
        if index + 1 < len(versions):
            older = _comparable(versions[index + 1].manifest.get("interface"))
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


def _comparable(interface: Any) -> Interface | None:
    """``interface`` if it has the shape the diff reads (a publisher's own claim may not)."""
    try:
        return _INTERFACE.validate_python(interface) if interface is not None else None
    except ValidationError:
        return None


async def import_check(
    session: AsyncSession, *, asset: Asset, version: AssetVersion, principal: Principal | None
) -> ImportCheck:
    """Whether the principal may import this version: it and every dependency readable."""
    if principal is None:
        raise Unauthenticated("sign in to import")
    blockers: list[ImportBlocker] = []
    if version.status == "yanked":
        blockers.append(
            ImportBlocker(content_id=asset.content_id, version=version.version, reason="yanked")
        )
    seen: set[int | None] = {version.id}
    queue = [version]
    while queue:
        current = queue.pop()
        for dep_version, dep_asset in await direct_dependencies(session, current):
            if dep_version.id in seen:
                continue
            seen.add(dep_version.id)
            if not await access.can_read_version(session, dep_asset, dep_version, principal):
                reason = "not shared with you; ask its owner to whitelist you"
            elif dep_version.status == "yanked":
                reason = "yanked"
            else:
                queue.append(dep_version)
                continue
            blockers.append(
                ImportBlocker(
                    content_id=dep_asset.content_id, version=dep_version.version, reason=reason
                )
            )
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
            reason = "deleted"
        elif not await access.can_read_version(session, asset, version, principal):
            reason = "no longer shared with the workspace's owner"
        else:
            check = await import_check(session, asset=asset, version=version, principal=principal)
            blockers.extend(check.blockers)
            continue
        blockers.append(ImportBlocker(content_id=content_id, version=number, reason=reason))
    return blockers
