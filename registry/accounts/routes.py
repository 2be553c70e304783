"""HTTP: sign-in, the caller, personal access tokens, and admin user/group management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Router, delete, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, JSONBody
from pydantic import BaseModel, ConfigDict, Field

from registry.accounts import service, sign_in
from registry.accounts.models import AccessToken, User
from registry.assets.schemas import JSONBool
from registry.bootstrap import FIRST_ADMIN, forget_initial_password
from registry.context import (
    SIGN_IN_FIRST,
    CtxDep,
    UserDep,
    current_principal,
    signed_in_routes,
)
from registry.errors import Forbidden, InvalidGrant, Unauthenticated
from registry.params import EXCEPTION_HANDLERS, GroupName, TokenId, Username


class TokenForm(BaseModel):
    grant_type: str = ""
    username: str = ""
    password: str = ""
    scope: str | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeRead(BaseModel):
    username: str
    is_admin: bool
    groups: list[str]


class PersonalTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    expires_in_days: int | None = 90


class PersonalTokenRead(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


class PersonalTokenCreated(PersonalTokenRead):
    token: str = Field(description="Shown once; store it now.")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str
    is_admin: JSONBool = False


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str
    new_password: str


class PasswordChanged(BaseModel):
    personal_tokens_revoked: int
    detail: str


class UserRead(BaseModel):
    username: str
    is_admin: bool
    is_active: bool
    created_at: datetime


class UserDeactivated(UserRead):
    personal_tokens_revoked: int


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class GroupMembers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usernames: list[str] = Field(min_length=1, max_length=500)


class GroupRead(BaseModel):
    name: str
    members: list[str]


async def administrator(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard (under ``signed_in``): only administrators manage users and groups."""
    user = await current_principal(connection)
    if user is None:
        raise Unauthenticated(SIGN_IN_FIRST)
    if not user.is_admin:
        raise Forbidden("only administrators manage users and groups")


def _address(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def _user_read(user: User) -> UserRead:
    return UserRead(
        username=user.username,
        is_admin=user.is_admin,
        is_active=user.is_active,
        created_at=user.created_at,
    )


@post("/auth/token", status_code=200)
async def issue_token(
    ctx: CtxDep,
    request: Request[Any, Any, Any],
    data: Annotated[TokenForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> TokenResponse:
    """OAuth2 password grant: a short-lived bearer JWT. Too many failed attempts for one
    username or from one address answer 429 with Retry-After."""
    if data.grant_type != "password":
        raise InvalidGrant("grant_type must be 'password'", error="unsupported_grant_type")
    issued = await sign_in.issue_token(
        ctx, username=data.username, password=data.password, address=_address(request)
    )
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@get("/me")
async def me(ctx: CtxDep, user: UserDep) -> MeRead:
    async with ctx.db.read() as session:
        names = await service.group_names(session, user.group_ids)
    return MeRead(username=user.username, is_admin=user.is_admin, groups=names)


@post("/me/password", status_code=200)
async def change_password(
    ctx: CtxDep,
    user: UserDep,
    request: Request[Any, Any, Any],
    data: JSONBody[PasswordChange],
) -> PasswordChanged:
    """Change my password. Every bearer token issued before, and every personal access token
    of mine, stops working: sign in again (and create new personal tokens)."""
    ended = await service.change_password(
        ctx.db,
        principal=user,
        current_password=data.current_password,
        new_password=data.new_password,
        address=_address(request),
        passwords=ctx.passwords,
        throttle=ctx.signins,
    )
    ctx.principals.clear()
    if user.is_admin and user.username == FIRST_ADMIN:
        forget_initial_password(ctx.settings.data_dir)
    count = ended.personal_tokens_revoked
    return PasswordChanged(
        personal_tokens_revoked=count,
        detail=f"password changed; earlier sign-ins ended and {count} personal access "
        f"token{'' if count == 1 else 's'} revoked: sign in again with the new password",
    )


def _token_read(row: AccessToken) -> PersonalTokenRead:
    assert row.id is not None
    return PersonalTokenRead(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
    )


@post("/tokens", status_code=201)
async def create_token(
    ctx: CtxDep, user: UserDep, data: JSONBody[PersonalTokenCreate]
) -> PersonalTokenCreated:
    async with ctx.db.write() as session:
        row, token = await service.create_personal_token(
            session, user_id=user.user_id, name=data.name, expires_in_days=data.expires_in_days
        )
    return PersonalTokenCreated(**_token_read(row).model_dump(), token=token)


@get("/tokens")
async def list_tokens(ctx: CtxDep, user: UserDep) -> list[PersonalTokenRead]:
    async with ctx.db.read() as session:
        rows = await service.list_personal_tokens(session, user_id=user.user_id)
    return [_token_read(r) for r in rows]


@delete("/tokens/{token_id:int}")
async def revoke_token(ctx: CtxDep, user: UserDep, token_id: TokenId) -> None:
    async with ctx.db.write() as session:
        await service.revoke_personal_token(session, user_id=user.user_id, token_id=token_id)
    ctx.principals.clear()


@post("/users", status_code=201)
async def create_user(ctx: CtxDep, data: JSONBody[UserCreate]) -> UserRead:
    user = await service.create_user(
        ctx.db,
        username=data.username,
        password=data.password,
        passwords=ctx.passwords,
        is_admin=data.is_admin,
    )
    return _user_read(user)


@post("/users/{username:str}/deactivate", status_code=200)
async def deactivate_user(ctx: CtxDep, user: UserDep, username: Username) -> UserDeactivated:
    """Stop a user: sign-in is refused, and every bearer token and personal access token they
    hold stops working at once (they stay revoked after a reactivation)."""
    async with ctx.db.write() as session:
        found, ended = await service.set_active(session, username=username, active=False, by=user)
    ctx.principals.clear()
    return UserDeactivated(
        **_user_read(found).model_dump(), personal_tokens_revoked=ended.personal_tokens_revoked
    )


@post("/users/{username:str}/reactivate", status_code=200)
async def reactivate_user(ctx: CtxDep, user: UserDep, username: Username) -> UserRead:
    """Let a deactivated user sign in again (their old tokens stay revoked)."""
    async with ctx.db.write() as session:
        found, _ = await service.set_active(session, username=username, active=True, by=user)
    return _user_read(found)


@post("/groups", status_code=201)
async def create_group(ctx: CtxDep, data: JSONBody[GroupCreate]) -> GroupRead:
    async with ctx.db.write() as session:
        group = await service.create_group(session, name=data.name)
    return GroupRead(name=group.name, members=[])


@get("/groups/{name:str}")
async def read_group(ctx: CtxDep, name: GroupName) -> GroupRead:
    async with ctx.db.read() as session:
        group = await service.get_group(session, name)
        members = await service.group_members(session, group)
    return GroupRead(name=group.name, members=members)


@post("/groups/{name:str}/members", status_code=200)
async def add_group_members(
    ctx: CtxDep, name: GroupName, data: JSONBody[GroupMembers]
) -> GroupRead:
    async with ctx.db.write() as session:
        group = await service.get_group(session, name)
        members = await service.add_members(session, group=group, usernames=data.usernames)
    ctx.principals.clear()
    return GroupRead(name=group.name, members=members)


@delete("/groups/{name:str}/members", status_code=200)
async def remove_group_members(
    ctx: CtxDep, name: GroupName, data: JSONBody[GroupMembers]
) -> GroupRead:
    async with ctx.db.write() as session:
        group = await service.get_group(session, name)
        members = await service.remove_members(session, group=group, usernames=data.usernames)
    ctx.principals.clear()
    return GroupRead(name=group.name, members=members)


router = Router(
    path="/",
    route_handlers=[
        issue_token,
        signed_in_routes(
            me,
            change_password,
            create_token,
            list_tokens,
            revoke_token,
            Router(
                path="/",
                guards=[administrator],
                route_handlers=[
                    create_user,
                    deactivate_user,
                    reactivate_user,
                    create_group,
                    read_group,
                    add_group_members,
                    remove_group_members,
                ],
            ),
        ),
    ],
    exception_handlers=EXCEPTION_HANDLERS,
)
