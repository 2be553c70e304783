"""Names of principals: user and group names to ids and back, and who is on whitelists."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.models import Group, User
from registry.assets.models import VersionWhitelist
from registry.errors import InvalidInput
from registry.models_base import NAME_RE

GROUP_PREFIX = "group:"


async def usernames(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.exec(select(User.id, User.username).where(col(User.id).in_(wanted)))
    return {user_id: name for user_id, name in rows.all() if user_id is not None}


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
