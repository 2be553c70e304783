"""The access rules (DESIGN.md §2 "Access rules"), written once.

Read: owner and admins always; ``public`` anyone (downloads need a signed-in user); ``group``
the principals on that version's whitelist; ``private`` the owner only. Import and run: a
signed-in principal who may read the version, while it is not yanked. Anything unreadable is
reported as absent (404); readable but not writable is 403.

Each question is one rule (``_owns``, ``_reads``, ``_uses``) written against ``Terms``: the few
facts it looks at (signed in, admin, owner, visibility, on the whitelist, version status) and
any/all/not. The same rule is then read two ways, so the two cannot drift apart:

* in Python, on a loaded asset (and version): ``holds``, and ``check``, which looks the
  whitelist up only when the answer depends on it;
* in SQL, as a filter on ``asset`` rows (asset questions) or on ``asset_version`` rows joined
  with their ``asset`` (version questions): ``where``, and ``parts`` for counting.

``tests/registry/test_access_rules.py`` checks that both readings agree on every combination.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Literal, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion, VersionWhitelist
from registry.errors import Forbidden, NotFound, Unauthenticated
from sdk.vocabulary import VersionStatus, Visibility

T = TypeVar("T")
Scope = Literal["asset", "version"]


class Terms(Protocol[T]):
    """The facts an access rule may look at, and how they combine (Kleene logic in Python,
    where an unknown fact is None; SQL expressions, with constants folded, in SQL)."""

    def signed_in(self) -> T: ...

    def admin(self) -> T: ...

    def owner(self) -> T: ...

    def visibility(self, value: Visibility) -> T: ...

    def listed(self) -> T:
        """A whitelist names the principal or one of their groups: the version's whitelist
        for version questions, the whitelist of any version of the asset for asset ones."""
        ...

    def status(self, value: VersionStatus) -> T: ...

    def anyof(self, *terms: T) -> T: ...

    def allof(self, *terms: T) -> T: ...

    def negate(self, term: T) -> T: ...


class Rule(Protocol):
    def __call__(self, t: Terms[T], /) -> list[T]:
        """The alternatives, any one of which answers yes."""
        ...


# --- the rules ---------------------------------------------------------------------------------


def _owns(t: Terms[T]) -> list[T]:
    return [t.admin(), t.owner()]


def _reads(t: Terms[T]) -> list[T]:
    # The order matters only to ``parts``: each alternative there excludes the earlier ones.
    return [
        t.visibility(Visibility.PUBLIC),
        *_owns(t),
        t.allof(t.visibility(Visibility.GROUP), t.listed()),
    ]


def _uses(t: Terms[T]) -> list[T]:
    return [t.allof(t.signed_in(), t.anyof(*_reads(t)), t.negate(t.status(VersionStatus.YANKED)))]


@dataclass(frozen=True)
class Question:
    name: str
    scope: Scope
    rule: Rule


OWN = Question("does the principal own this asset (or administer the gallery)?", "asset", _owns)
READ_ASSET = Question("may the principal see this asset?", "asset", _reads)
READ_VERSION = Question("may the principal read this version?", "version", _reads)
USE_VERSION = Question("may the principal import or run this version?", "version", _uses)


# --- in Python, on loaded rows -----------------------------------------------------------------

Maybe = bool | None


@dataclass(frozen=True)
class Facts:
    """What the rules know of one principal and one loaded asset (and version)."""

    signed_in: bool
    admin: bool
    owner: bool
    visibility: str
    status: str | None = None
    listed: bool | None = None  # on the whitelist (see Terms.listed); None: not looked up

    @classmethod
    def of(
        cls,
        principal: Principal | None,
        asset: Asset,
        version: AssetVersion | None = None,
        *,
        listed: bool | None = None,
    ) -> Facts:
        return cls(
            signed_in=principal is not None,
            admin=principal is not None and principal.is_admin,
            owner=principal is not None and asset.owner_id == principal.user_id,
            visibility=asset.visibility,
            status=None if version is None else version.status,
            listed=False if principal is None else listed,
        )


class _PythonTerms:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def signed_in(self) -> Maybe:
        return self.facts.signed_in

    def admin(self) -> Maybe:
        return self.facts.admin

    def owner(self) -> Maybe:
        return self.facts.owner

    def visibility(self, value: Visibility) -> Maybe:
        return self.facts.visibility == value

    def listed(self) -> Maybe:
        return self.facts.listed

    def status(self, value: VersionStatus) -> Maybe:
        if self.facts.status is None:
            raise TypeError("this question is about a version: pass the version")
        return self.facts.status == value

    def anyof(self, *terms: Maybe) -> Maybe:
        if any(term is True for term in terms):
            return True
        return None if any(term is None for term in terms) else False

    def allof(self, *terms: Maybe) -> Maybe:
        if any(term is False for term in terms):
            return False
        return None if any(term is None for term in terms) else True

    def negate(self, term: Maybe) -> Maybe:
        return None if term is None else not term


def decide(question: Question, facts: Facts) -> Maybe:
    """The answer from these facts; None when it depends on a fact not looked up."""
    t = _PythonTerms(facts)
    return t.anyof(*question.rule(t))


def holds(
    question: Question,
    principal: Principal | None,
    asset: Asset,
    version: AssetVersion | None = None,
    *,
    listed: bool | None = None,
) -> Maybe:
    """The rule on a loaded asset (and version). ``listed``: whether the whitelist names the
    principal (see ``Terms.listed``); when not given and the answer depends on it, None."""
    return decide(question, Facts.of(principal, asset, version, listed=listed))


async def is_listed(
    session: AsyncSession,
    scope: Scope,
    principal: Principal | None,
    asset: Asset,
    version: AssetVersion | None = None,
) -> bool:
    """The one fact that needs the database: whether the whitelist names the principal."""
    if principal is None:
        return False
    if scope == "version":
        assert version is not None
        where = col(VersionWhitelist.version_id) == version.id
    else:
        where = col(VersionWhitelist.asset_id) == asset.id
    query = select(col(VersionWhitelist.version_id)).where(where, names(principal)).limit(1)
    return await session.scalar(query) is not None


async def check(
    session: AsyncSession,
    question: Question,
    principal: Principal | None,
    asset: Asset,
    version: AssetVersion | None = None,
) -> bool:
    """The rule on a loaded asset (and version), looking the whitelist up only if needed."""
    answer = holds(question, principal, asset, version)
    if answer is None:
        listed = await is_listed(session, question.scope, principal, asset, version)
        answer = holds(question, principal, asset, version, listed=listed)
        assert answer is not None
    return answer


def is_owner(asset: Asset, principal: Principal | None) -> bool:
    return holds(OWN, principal, asset) is True


async def can_read_asset(session: AsyncSession, asset: Asset, principal: Principal | None) -> bool:
    return await check(session, READ_ASSET, principal, asset)


async def can_read_version(
    session: AsyncSession, asset: Asset, version: AssetVersion, principal: Principal | None
) -> bool:
    return await check(session, READ_VERSION, principal, asset, version)


async def can_use_version(
    session: AsyncSession, asset: Asset, version: AssetVersion, principal: Principal | None
) -> bool:
    return await check(session, USE_VERSION, principal, asset, version)


def depends_on_whitelist(asset: Asset, principal: Principal | None) -> bool:
    """Whether which versions of the asset the principal may read depends on whitelists
    (otherwise they may read all of them, or none)."""
    return holds(READ_VERSION, principal, asset) is None


def whitelist_applies(asset: Asset) -> bool:
    """Whether whitelists grant anything at the asset's visibility now (to someone who is
    neither its owner nor an admin)."""
    stranger = Facts(signed_in=True, admin=False, owner=False, visibility=asset.visibility)
    return decide(READ_VERSION, stranger) is None


# --- in SQL ------------------------------------------------------------------------------------

Sql = bool | ColumnElement[bool]


def names(principal: Principal) -> ColumnElement[bool]:
    """SQL on ``version_whitelist``: this row names the principal or one of their groups."""
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


class _SqlTerms:
    """Facts of the principal are Python constants; facts of the rows are SQL expressions.
    With ``scan``, the asset's columns are written so no index matches them."""

    def __init__(self, principal: Principal | None, scope: Scope, *, scan: bool) -> None:
        self.principal = principal
        self.scope = scope
        self.scan = scan

    def signed_in(self) -> Sql:
        return self.principal is not None

    def admin(self) -> Sql:
        return self.principal is not None and self.principal.is_admin

    def owner(self) -> Sql:
        if self.principal is None:
            return False
        owner_id = (col(Asset.owner_id) + 0) if self.scan else col(Asset.owner_id)
        return owner_id == self.principal.user_id

    def visibility(self, value: Visibility) -> Sql:
        column = (col(Asset.visibility) + "") if self.scan else col(Asset.visibility)
        return column == value.value

    def listed(self) -> Sql:
        if self.principal is None:
            return False
        if self.scope == "asset":
            # Not correlated: found once through the whitelist's principal index, instead of
            # probing the whitelist for every asset row.
            shared = select(col(VersionWhitelist.asset_id)).where(names(self.principal))
            return col(Asset.id).in_(shared)
        return exists(
            select(1)
            .select_from(VersionWhitelist)
            .where(col(VersionWhitelist.version_id) == col(AssetVersion.id), names(self.principal))
        )

    def status(self, value: VersionStatus) -> Sql:
        if self.scope != "version":
            raise TypeError("an asset question cannot ask for a version's status")
        return col(AssetVersion.status) == value.value

    def anyof(self, *terms: Sql) -> Sql:
        if any(term is True for term in terms):
            return True
        rest = [term for term in terms if not isinstance(term, bool)]
        return False if not rest else rest[0] if len(rest) == 1 else or_(*rest)

    def allof(self, *terms: Sql) -> Sql:
        if any(term is False for term in terms):
            return False
        rest = [term for term in terms if not isinstance(term, bool)]
        return True if not rest else rest[0] if len(rest) == 1 else and_(*rest)

    def negate(self, term: Sql) -> Sql:
        return (not term) if isinstance(term, bool) else not_(term)


def _sql(value: Sql) -> ColumnElement[bool]:
    if isinstance(value, bool):
        return true() if value else false()
    return value


def where(
    question: Question, principal: Principal | None, *, scan: bool = False
) -> ColumnElement[bool]:
    """The rule as a SQL filter: on ``asset`` rows for asset questions, on ``asset_version``
    rows joined with their ``asset`` for version questions.

    ``scan``: for a filter that lets most rows through, read along another order. When it is
    an OR of several alternatives, its asset columns are written so no index matches them:
    SQLite would otherwise gather row ids from several indexes (a "multi-index OR") and sort
    them, several times slower than walking the table or the sort order's index.
    """
    t = _SqlTerms(principal, question.scope, scan=False)
    arms = question.rule(t)
    if scan and len([arm for arm in arms if arm is not False]) > 1:
        t = _SqlTerms(principal, question.scope, scan=True)
        arms = question.rule(t)
    return _sql(t.anyof(*arms))


def parts(question: Question, principal: Principal | None) -> list[ColumnElement[bool]]:
    """Disjoint SQL filters whose union is ``where(question, principal)``: each alternative
    of the rule without the earlier ones it can hold together with. Each can use an index,
    so counting them one by one beats counting their OR."""
    t = _SqlTerms(principal, question.scope, scan=False)
    arms = question.rule(t)
    whole = t.anyof(*arms)
    if isinstance(whole, bool):
        return [_sql(whole)]
    apart = _exclusive(question)
    found = []
    for index, arm in enumerate(arms):
        earlier = [t.negate(arms[j]) for j in range(index) if (j, index) not in apart]
        part = t.allof(arm, *earlier)
        if part is not False:
            found.append(_sql(part))
    return found


@cache
def _exclusive(question: Question) -> frozenset[tuple[int, int]]:
    """Pairs of the rule's alternatives that hold together on no facts at all (say, two
    visibilities): ``parts`` need not exclude one from the other."""
    arms_on = [question.rule(_PythonTerms(facts)) for facts in _every_fact(question.scope)]
    count = len(arms_on[0])
    return frozenset(
        (i, j)
        for i in range(count)
        for j in range(i + 1, count)
        if not any(arms[i] is True and arms[j] is True for arms in arms_on)
    )


def _every_fact(scope: Scope) -> list[Facts]:
    statuses: list[str | None] = list(VersionStatus) if scope == "version" else [None]
    found = []
    for signed_in, admin, owner, listed in product((False, True), repeat=4):
        if signed_in or not (admin or owner or listed):
            for visibility, status in product(Visibility, statuses):
                found.append(Facts(signed_in, admin, owner, visibility, status, listed))
    return found


def readable_assets(principal: Principal | None) -> ColumnElement[bool]:
    """SQL filter on ``asset``: the assets the principal may see in the catalog."""
    return where(READ_ASSET, principal, scan=True)


def readable_parts(principal: Principal | None) -> list[ColumnElement[bool]]:
    """``readable_assets`` as disjoint filters, for counting."""
    return parts(READ_ASSET, principal)


def readable_versions(principal: Principal | None) -> ColumnElement[bool]:
    """SQL filter on ``asset_version`` rows joined with their ``asset``."""
    return where(READ_VERSION, principal)


# --- answers -----------------------------------------------------------------------------------


def require_owner(
    asset: Asset,
    principal: Principal | None,
    *,
    sign_in: str = "sign in to change assets",
    action: str = "change it",
) -> Principal:
    """For writes on an asset the caller can read: 401 anonymous, 403 not the owner."""
    if principal is None:
        raise Unauthenticated(sign_in)
    if not is_owner(asset, principal):
        raise Forbidden(f"only the owner of {asset.content_id} may {action}")
    return principal


def not_found_asset(content_id: str) -> NotFound:
    return NotFound(f"no asset {content_id!r}")
