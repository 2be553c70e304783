"""Accounts: users, groups, sign-in and personal access tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.models import AccessToken, Group, GroupMember, User
from registry.errors import Conflict, InvalidGrant, InvalidInput, NotFound, Unauthenticated
from registry.models_base import NAME_RE, NAME_RULE, utcnow
from registry.security import (
    PAT_PREFIX,
    AccessTokens,
    Passwords,
    hash_personal_token,
    new_personal_token,
)

MIN_PASSWORD = 8


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and the groups they belong to."""

    user_id: int
    username: str
    is_admin: bool
    group_ids: frozenset[int] = field(default_factory=frozenset)


def check_name(value: str, field_name: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise InvalidInput.field(field_name, "name", f"{value!r} is not a valid name ({NAME_RULE})")
    return value


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    passwords: Passwords,
    is_admin: bool = False,
) -> User:
    check_name(username, "username")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput.field(
            "password", "min_length", f"must have at least {MIN_PASSWORD} characters"
        )
    if await _user_by_name(session, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, password_hash=passwords.hash(password), is_admin=is_admin)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"user {username!r} already exists") from None
    return user


async def _user_by_name(session: AsyncSession, username: str) -> User | None:
    if not NAME_RE.fullmatch(username):  # cannot exist; and PostgreSQL refuses NUL parameters
        return None
    return (await session.exec(select(User).where(User.username == username))).first()


async def get_user(session: AsyncSession, username: str) -> User:
    user = await _user_by_name(session, username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


async def count_users(session: AsyncSession) -> int:
    return len((await session.exec(select(User.id))).all())


async def create_group(session: AsyncSession, *, name: str) -> Group:
    check_name(name)
    if (await session.exec(select(Group).where(Group.name == name))).first() is not None:
        raise Conflict(f"group {name!r} already exists")
    group = Group(name=name)
    session.add(group)
    await session.flush()
    return group


async def get_group(session: AsyncSession, name: str) -> Group:
    group = None
    if NAME_RE.fullmatch(name):
        group = (await session.exec(select(Group).where(Group.name == name))).first()
    if group is None:
        raise NotFound(f"no group named {name!r}")
    return group


async def add_members(session: AsyncSession, *, group: Group, usernames: list[str]) -> list[str]:
    """Add users to a group (idempotent); returns the group's member names."""
    users = []
    for name in usernames:
        user = await _user_by_name(session, name)
        if user is None:
            raise InvalidInput.field("usernames", "exists", f"no user named {name!r}")
        users.append(user)
    existing = set(
        (
            await session.exec(select(GroupMember.user_id).where(GroupMember.group_id == group.id))
        ).all()
    )
    for user in users:
        if user.id not in existing:
            assert group.id is not None and user.id is not None
            session.add(GroupMember(group_id=group.id, user_id=user.id))
            existing.add(user.id)
    await session.flush()
    return await group_members(session, group)


async def remove_members(session: AsyncSession, *, group: Group, usernames: list[str]) -> list[str]:
    for name in usernames:
        user = await _user_by_name(session, name)
        if user is None:
            continue
        member = await session.get(GroupMember, (group.id, user.id))
        if member is not None:
            await session.delete(member)
    await session.flush()
    return await group_members(session, group)


async def group_members(session: AsyncSession, group: Group) -> list[str]:
    rows = await session.exec(
        select(User.username)
        .join(GroupMember, col(GroupMember.user_id) == col(User.id))
        .where(GroupMember.group_id == group.id)
        .order_by(col(User.username))
    )
    return list(rows.all())


async def group_names(session: AsyncSession, group_ids: frozenset[int]) -> list[str]:
    rows = await session.exec(
        select(Group.name).where(col(Group.id).in_(group_ids)).order_by(col(Group.name))
    )
    return list(rows.all())


async def principal_for(session: AsyncSession, user: User) -> Principal:
    assert user.id is not None
    groups = await session.exec(select(GroupMember.group_id).where(GroupMember.user_id == user.id))
    return Principal(user.id, user.username, user.is_admin, frozenset(groups.all()))


async def sign_in(
    session: AsyncSession, *, username: str, password: str, passwords: Passwords
) -> User:
    user = await _user_by_name(session, username)
    if user is None or not user.is_active:
        passwords.dummy_verify()
        raise InvalidGrant("wrong username or password", error="invalid_grant")
    if not passwords.verify(user.password_hash, password):
        raise InvalidGrant("wrong username or password", error="invalid_grant")
    return user


async def authenticate(
    session: AsyncSession, *, token: str, access_tokens: AccessTokens
) -> Principal:
    """Resolve a bearer token (JWT or personal access token) to a principal, or 401."""
    user: User | None = None
    if token.startswith(PAT_PREFIX):
        row = (
            await session.exec(
                select(AccessToken).where(AccessToken.token_hash == hash_personal_token(token))
            )
        ).first()
        now = utcnow()
        if (
            row is not None
            and row.revoked_at is None
            and (row.expires_at is None or row.expires_at > now)
        ):
            user = await session.get(User, row.user_id)
    else:
        user_id = access_tokens.user_id(token)
        if user_id is not None:
            user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("invalid or expired credentials")
    return await principal_for(session, user)


MAX_TOKEN_DAYS = 366


async def create_personal_token(
    session: AsyncSession, *, user_id: int, name: str, expires_in_days: int | None
) -> tuple[AccessToken, str]:
    check_name(name)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise InvalidInput.field(
            "expires_in_days", "range", f"must be between 1 and {MAX_TOKEN_DAYS} (or null)"
        )
    token, token_hash = new_personal_token()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    row = AccessToken(
        user_id=user_id,
        name=name,
        token_hash=token_hash,
        prefix=token[: len(PAT_PREFIX) + 4],
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row, token


async def list_personal_tokens(session: AsyncSession, *, user_id: int) -> list[AccessToken]:
    rows = await session.exec(
        select(AccessToken).where(AccessToken.user_id == user_id).order_by(col(AccessToken.id))
    )
    return list(rows.all())


async def revoke_personal_token(session: AsyncSession, *, user_id: int, token_id: int) -> None:
    row = await session.get(AccessToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        await session.flush()
