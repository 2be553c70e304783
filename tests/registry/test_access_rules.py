"""``registry.access`` reads each access rule two ways, and both agree with DESIGN.md §2.

On a generated matrix (owners, admins, whitelisted users, members of a whitelisted group,
members of another group, other signed-in users and anonymous callers; by every visibility,
every version status, and whitelists naming a user, a group, both or nobody) the Python
predicate on loaded rows (``holds``, ``check``) and the SQL filters (``where``, ``parts`` and
the named filters the services use) give the same answers as the rule written out here, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry import access
from registry.accounts.models import Group, GroupMember, User
from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion, VersionWhitelist
from registry.db import Database
from sdk.vocabulary import VersionStatus, Visibility
from tests.support.gallery import Gallery

ACTORS = ["owner", "co_owner", "admin", "listed", "member", "stray", "other", "anonymous"]
OWNERS = ["owner", "co_owner"]  # co_owner is also a member of the whitelisted group
SHARINGS = ["nobody", "user", "group", "both"]


@dataclass
class World:
    """Rows made for this test: ids, and what the whitelists name (the ground truth)."""

    principals: dict[str, Principal | None]
    assets: dict[int, Asset] = field(default_factory=dict)
    versions: dict[int, AssetVersion] = field(default_factory=dict)
    named: dict[int, set[tuple[str, int]]] = field(default_factory=dict)  # version → principals

    def names(self, actor: str, version_id: int) -> bool:
        principal = self.principals[actor]
        if principal is None:
            return False
        keys = {("user", principal.user_id)} | {("group", g) for g in principal.group_ids}
        return bool(self.named.get(version_id, set()) & keys)

    def listed(self, actor: str, asset: Asset, version: AssetVersion | None) -> bool:
        if version is not None:
            assert version.id is not None
            return self.names(actor, version.id)
        return any(
            self.names(actor, v_id) for v_id, v in self.versions.items() if v.asset_id == asset.id
        )


# --- the rules as DESIGN.md §2 states them --------------------------------------------------


def expected(
    world: World, question: access.Question, actor: str, asset: Asset, version: AssetVersion | None
) -> bool:
    principal = world.principals[actor]
    owns = principal is not None and (principal.is_admin or asset.owner_id == principal.user_id)
    if question is access.OWN:
        return owns
    reads = (
        owns
        or asset.visibility == "public"
        or (asset.visibility == "group" and world.listed(actor, asset, version))
    )
    if question is access.USE_VERSION:
        assert version is not None
        return principal is not None and reads and version.status != "yanked"
    return reads


# --- the world --------------------------------------------------------------------------------


async def _build(db: Database) -> World:
    tag = uuid.uuid4().hex[:8]
    async with db.write() as session:
        listed_group = Group(name=f"team{tag}")
        stray_group = Group(name=f"stray{tag}")
        session.add_all([listed_group, stray_group])
        users = {
            actor: User(username=f"{actor}{tag}", password_hash="x", is_admin=actor == "admin")
            for actor in ACTORS
            if actor != "anonymous"
        }
        session.add_all(users.values())
        await session.flush()
        assert listed_group.id is not None and stray_group.id is not None
        groups = {
            "member": {listed_group.id},
            "co_owner": {listed_group.id},
            "stray": {stray_group.id},
        }
        for actor, ids in groups.items():
            for group_id in ids:
                user_id = users[actor].id
                assert user_id is not None
                session.add(GroupMember(group_id=group_id, user_id=user_id))
        principals: dict[str, Principal | None] = {"anonymous": None}
        for actor, user in users.items():
            assert user.id is not None
            principals[actor] = Principal(
                user.id, user.username, user.is_admin, frozenset(groups.get(actor, set()))
            )
        world = World(principals)
        listed = principals["listed"]
        assert listed is not None
        for owner, visibility, sharing in itertools.product(OWNERS, Visibility, SHARINGS):
            owner_id = users[owner].id
            assert owner_id is not None
            asset = Asset(
                content_id=str(uuid.uuid4()),
                kind="algorithm",
                name=f"a{uuid.uuid4().hex[:12]}",
                owner_id=owner_id,
                visibility=visibility.value,
            )
            session.add(asset)
            await session.flush()
            assert asset.id is not None
            world.assets[asset.id] = asset
            # Every status, once on the whitelist (unless nobody is named) and once not.
            for minor, (status, on_list) in enumerate(
                itertools.product(VersionStatus, (True, False))
            ):
                version = AssetVersion(
                    asset_id=asset.id,
                    version=f"1.{minor}.0",
                    major=1,
                    minor=minor,
                    patch=0,
                    status=status.value,
                    manifest={},
                    published_by=owner_id,
                )
                session.add(version)
                await session.flush()
                assert version.id is not None
                world.versions[version.id] = version
                named: set[tuple[str, int]] = set()
                if on_list and sharing in ("user", "both"):
                    named.add(("user", listed.user_id))
                if on_list and sharing in ("group", "both"):
                    named.add(("group", listed_group.id))
                world.named[version.id] = named
                for kind, principal_id in named:
                    session.add(
                        VersionWhitelist(
                            version_id=version.id,
                            principal_kind=kind,
                            principal_id=principal_id,
                            asset_id=asset.id,
                        )
                    )
        await session.flush()
    return world


@pytest.fixture(scope="module")
def world(gallery: Gallery) -> World:
    async def build() -> World:
        db = Database(gallery.settings.resolved_database_url)
        try:
            return await _build(db)
        finally:
            await db.dispose()

    return asyncio.run(build())


# --- the checks ---------------------------------------------------------------------------------

Filter = Callable[[Principal | None], ColumnElement[bool]]

# The SQL filters the services use, besides ``where`` itself.
NAMED_FILTERS: dict[access.Question, list[Filter]] = {
    access.OWN: [],
    access.READ_ASSET: [access.readable_assets],
    access.READ_VERSION: [access.readable_versions],
    access.USE_VERSION: [],
}
QUESTIONS = {
    "own": access.OWN,
    "read asset": access.READ_ASSET,
    "read version": access.READ_VERSION,
    "use version": access.USE_VERSION,
}


async def _matching(
    session: AsyncSession, world: World, question: access.Question, condition: ColumnElement[bool]
) -> set[int]:
    if question.scope == "asset":
        query = select(col(Asset.id)).where(col(Asset.id).in_(list(world.assets)), condition)
    else:
        query = (
            select(col(AssetVersion.id))
            .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
            .where(col(AssetVersion.id).in_(list(world.versions)), condition)
        )
    return {row for row in (await session.exec(query)).all() if row is not None}


async def _check_question(gallery: Gallery, world: World, name: str) -> None:
    question = QUESTIONS[name]
    db = Database(gallery.settings.resolved_database_url)
    try:
        async with db.read() as session:
            for actor in ACTORS:
                principal = world.principals[actor]
                rows: list[tuple[int, Asset, AssetVersion | None]]
                if question.scope == "asset":
                    rows = [(asset_id, asset, None) for asset_id, asset in world.assets.items()]
                else:
                    rows = [
                        (v_id, world.assets[v.asset_id], v) for v_id, v in world.versions.items()
                    ]
                want = set()
                for row_id, asset, version in rows:
                    answer = expected(world, question, actor, asset, version)
                    where = f"{name}: {actor} on {asset.visibility} {version and version.status}"
                    listed = world.listed(actor, asset, version)
                    # The predicate, given the whitelist fact; without it, right or undecided.
                    assert access.holds(question, principal, asset, version, listed=listed) is (
                        answer
                    ), where
                    assert access.holds(question, principal, asset, version) in (answer, None)
                    # And looking the whitelist up itself.
                    assert await access.check(session, question, principal, asset, version) is (
                        answer
                    ), where
                    if answer:
                        want.add(row_id)
                filters = [
                    access.where(question, principal),
                    access.where(question, principal, scan=True),
                    *(named(principal) for named in NAMED_FILTERS[question]),
                ]
                for condition in filters:
                    assert await _matching(session, world, question, condition) == want, (
                        f"{name}: SQL filter for {actor}"
                    )
                # The parts are disjoint and together make the whole.
                found: list[set[int]] = [
                    await _matching(session, world, question, part)
                    for part in access.parts(question, principal)
                ]
                assert sum(len(part) for part in found) == len(want), f"{name}: parts of {actor}"
                assert set().union(*found) == want, f"{name}: parts of {actor}"
    finally:
        await db.dispose()


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_python_predicate_and_sql_filter_agree(gallery: Gallery, world: World, name: str) -> None:
    asyncio.run(_check_question(gallery, world, name))


def test_readable_parts_are_one_per_alternative_that_can_apply() -> None:
    """The catalog counts ``readable_parts`` one by one: no more of them than needed."""
    member = Principal(7, "m", False, frozenset({3}))
    assert len(access.readable_parts(member)) == 3
    assert len(access.readable_parts(None)) == 1
    assert len(access.readable_parts(Principal(1, "admin", True))) == 1


def test_whitelists_matter_only_where_the_rule_asks_for_them() -> None:
    for visibility in Visibility:
        asset = Asset(content_id="c", kind="algorithm", name="a", owner_id=1, visibility=visibility)
        assert access.whitelist_applies(asset) is (visibility == Visibility.GROUP)
        stranger = Principal(2, "s", False)
        assert access.depends_on_whitelist(asset, stranger) is (visibility == Visibility.GROUP)
        assert not access.depends_on_whitelist(asset, None)
        assert not access.depends_on_whitelist(asset, Principal(1, "o", False))
        assert not access.depends_on_whitelist(asset, Principal(3, "admin", True))
