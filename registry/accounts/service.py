"""Accounts: users, groups, sign-in and personal access tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.models import AccessToken, Group, GroupMember, RevokedToken, User
from registry.accounts.throttle import SignInThrottle
from registry.db import Database
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
# Row ids are 32-bit on PostgreSQL (64-bit on SQLite): a larger id cannot exist, and sending
# it to the database would fail rather than find nothing.
MAX_ROW_ID = 2**31 - 1
WRONG_CREDENTIALS = "wrong username or password"


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


def check_new_password(password: str, field_name: str = "password") -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput.field(
            field_name, "min_length", f"must have at least {MIN_PASSWORD} characters"
        )
    return password


async def create_user(
    db: Database,
    *,
    username: str,
    password: str,
    passwords: Passwords,
    is_admin: bool = False,
) -> User:
    """Check the name and password, hash it (off the event loop), then store the user."""
    check_name(username, "username")
    password_hash = await passwords.hash_async(check_new_password(password))
    async with db.write() as session:
        return await add_user(
            session, username=username, password_hash=password_hash, is_admin=is_admin
        )


async def add_user(
    session: AsyncSession, *, username: str, password_hash: str, is_admin: bool = False
) -> User:
    """Store a user whose password is already hashed (no hashing inside a transaction)."""
    check_name(username, "username")
    if await _user_by_name(session, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, password_hash=password_hash, is_admin=is_admin)
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
    return (await session.exec(select(func.count()).select_from(User))).one()


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
    db: Database,
    *,
    username: str,
    password: str,
    address: str | None,
    passwords: Passwords,
    throttle: SignInThrottle,
) -> User:
    """The user whose password this is, or InvalidGrant; TooManyRequests (not even tried)
    after too many failures for this username or from this address."""
    attempt = throttle.begin(username, address)
    # Look up, then let go of the connection: a hash may wait for a free thread.
    async with db.read() as session:
        user = await _user_by_name(session, username)
    if user is None:
        await passwords.dummy_verify_async()  # as slow as a real check: names do not leak
        raise InvalidGrant(WRONG_CREDENTIALS, error="invalid_grant")
    if not await passwords.verify_async(user.password_hash, password):
        raise InvalidGrant(WRONG_CREDENTIALS, error="invalid_grant")
    if not user.is_active:
        # Said only to whoever knows the password: they need to know whom to ask.
        raise InvalidGrant(
            f"the account {username!r} is deactivated; ask an administrator to reactivate it",
            error="invalid_grant",
        )
    throttle.forgive(attempt)
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
        subject = access_tokens.subject(token)
        if (
            subject is not None
            and subject.user_id <= MAX_ROW_ID
            # Signed out: this sign-in is over, whoever holds a copy of its token.
            and await session.get(RevokedToken, subject.token_id) is None
        ):
            user = await session.get(User, subject.user_id)
            # Issued before the last password change or deactivation: no longer good.
            if user is not None and user.credentials_epoch != subject.epoch:
                user = None
    if user is None or not user.is_active:
        raise Unauthenticated("invalid or expired credentials")
    return await principal_for(session, user)


# Revocations are kept this much past their token's expiry (clocks of replicas may differ).
REVOKED_KEPT = timedelta(minutes=5)


async def end_sign_in(db: Database, *, token: str, access_tokens: AccessTokens) -> bool:
    """Signing out: the bearer JWT ``token`` stops working at once, wherever a copy of it is;
    the user's other sign-ins and personal access tokens go on. False when there was nothing to
    end (not a valid JWT: expired, forged, or a personal access token, which is revoked on its
    own). Revocations of tokens that have expired since are pruned on the way."""
    if token.startswith(PAT_PREFIX):
        return False
    subject = access_tokens.subject(token)
    if subject is None:
        return False
    now = utcnow()
    async with db.write() as session:
        await session.exec(
            delete(RevokedToken).where(col(RevokedToken.expires_at) < now - REVOKED_KEPT)
        )
        if await session.get(RevokedToken, subject.token_id) is None:
            expires_at = datetime.fromtimestamp(subject.expires_at, UTC)
            try:
                async with session.begin_nested():  # another sign-out of a copy, at once
                    session.add(RevokedToken(jti=subject.token_id, expires_at=expires_at))
            except IntegrityError:
                pass
    return True


async def end_all_sign_ins(db: Database, *, user_id: int) -> None:
    """Signing out everywhere: every bearer JWT of this user issued so far stops working (the
    credentials epoch moves on); personal access tokens go on."""
    async with db.write() as session:
        user = await _locked_user(session, user_id)
        if user is not None:
            user.credentials_epoch += 1
            session.add(user)


@dataclass(frozen=True)
class CredentialsEnded:
    """What a password change (or deactivation) cut off."""

    personal_tokens_revoked: int


async def _end_credentials(session: AsyncSession, user: User) -> CredentialsEnded:
    """Every bearer JWT issued so far and every personal access token stop working."""
    user.credentials_epoch += 1
    session.add(user)
    now = utcnow()
    live = await session.exec(
        select(AccessToken).where(
            AccessToken.user_id == user.id, col(AccessToken.revoked_at).is_(None)
        )
    )
    revoked = 0
    for row in live.all():
        row.revoked_at = now
        session.add(row)
        revoked += 1
    await session.flush()
    return CredentialsEnded(personal_tokens_revoked=revoked)


async def _locked_user(session: AsyncSession, user_id: int) -> User | None:
    query = select(User).where(User.id == user_id).with_for_update()
    return (await session.exec(query)).first()


async def change_password(
    db: Database,
    *,
    principal: Principal,
    current_password: str,
    new_password: str,
    address: str | None,
    passwords: Passwords,
    throttle: SignInThrottle,
) -> CredentialsEnded:
    """The signed-in user's own change; ends all their earlier sign-ins and revokes all their
    personal access tokens. A wrong current password counts as a failed sign-in."""
    check_new_password(new_password, "new_password")
    if new_password == current_password:
        raise InvalidInput.field("new_password", "differs", "must differ from the current password")
    attempt = throttle.begin(principal.username, address)
    async with db.read() as session:
        user = await session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("invalid or expired credentials")
    if not await passwords.verify_async(user.password_hash, current_password):
        raise InvalidInput.field("current_password", "matches", "is not your current password")
    throttle.forgive(attempt)
    new_hash = await passwords.hash_async(new_password)
    async with db.write() as session:
        locked = await _locked_user(session, principal.user_id)
        if locked is None:
            raise Unauthenticated("invalid or expired credentials")
        if locked.password_hash != user.password_hash:
            raise Conflict("your password was changed meanwhile; sign in again and retry")
        locked.password_hash = new_hash
        return await _end_credentials(session, locked)


async def reset_password(
    db: Database, *, username: str, new_password: str, passwords: Passwords
) -> CredentialsEnded:
    """An operator's reset (no current password); ends sign-ins and tokens like a change."""
    new_hash = await passwords.hash_async(check_new_password(new_password))
    async with db.write() as session:
        found = await get_user(session, username)
        assert found.id is not None
        user = await _locked_user(session, found.id)
        assert user is not None
        user.password_hash = new_hash
        return await _end_credentials(session, user)


async def set_active(
    session: AsyncSession, *, username: str, active: bool, by: Principal | None = None
) -> tuple[User, CredentialsEnded]:
    """Deactivate (ends every sign-in and token at once) or reactivate (sign-in works again;
    the ended tokens stay ended). ``by`` is the administrator asking, None for the CLI."""
    found = await get_user(session, username)
    assert found.id is not None
    if active:
        found.is_active = True
        session.add(found)
        await session.flush()
        return found, CredentialsEnded(personal_tokens_revoked=0)
    if by is not None and by.user_id == found.id:
        raise Conflict("you cannot deactivate yourself; ask another administrator")
    if found.is_admin and found.is_active:
        # Lock the active administrators' rows, so two admins cannot deactivate each other.
        admins = await session.exec(
            select(User.id)
            .where(col(User.is_admin).is_(True), col(User.is_active).is_(True))
            .with_for_update()
        )
        if set(admins.all()) <= {found.id}:
            raise Conflict(
                f"{username!r} is the last active administrator; make another user an "
                "administrator first"
            )
    user = await _locked_user(session, found.id)
    assert user is not None
    user.is_active = False
    return user, await _end_credentials(session, user)


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
    row = await session.get(AccessToken, token_id) if 0 < token_id <= MAX_ROW_ID else None
    if row is None or row.user_id != user_id:
        raise NotFound(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        await session.flush()
