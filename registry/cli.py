"""Server-side ``gallery`` verbs: user, group, token (entry points of the server extra; ``serve``
and ``up`` are the web app's, in ``web``)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from registry.accounts import service as accounts
from registry.context import Context
from registry.errors import GalleryError
from registry.migrate import upgrade
from registry.settings import Settings

T = TypeVar("T")


def _run(work: Callable[[Context], Awaitable[T]]) -> T:
    """Run one piece of work against the configured database (migrated first)."""

    async def main() -> T:
        ctx = Context.from_settings(Settings())
        try:
            await upgrade(ctx.db)
            return await work(ctx)
        finally:
            await ctx.db.dispose()

    return asyncio.run(main())


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _password(args: argparse.Namespace, prompt: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password:
        return str(args.password)
    if not sys.stdin.isatty():
        raise GalleryError(
            "no terminal to ask for the password on: pipe it in with --password-stdin"
        )
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise GalleryError("the two passwords differ")
    return first


def user(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gallery user", description="Manage users.")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--admin", action="store_true", help="make an administrator")
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--password-stdin", action="store_true")
    reset = sub.add_parser(
        "set-password",
        help="set a user's password (ends their sign-ins and revokes their personal tokens)",
    )
    reset.add_argument("username")
    reset.add_argument("--password", help="prompted for when omitted")
    reset.add_argument("--password-stdin", action="store_true")
    deactivate = sub.add_parser(
        "deactivate",
        help="stop a user: no sign-in, and every token they hold stops working",
    )
    deactivate.add_argument("username")
    reactivate = sub.add_parser(
        "reactivate", help="let a deactivated user sign in again (old tokens stay revoked)"
    )
    reactivate.add_argument("username")
    args = parser.parse_args(argv)
    try:
        if args.action == "create":
            return _create_user(args)
        if args.action == "set-password":
            return _set_password(args)
        return _set_active(args.username, active=args.action == "reactivate")
    except GalleryError as exc:
        return _fail(exc.detail)


def _create_user(args: argparse.Namespace) -> int:
    password = _password(args, f"Password for {args.username}: ")

    async def work(ctx: Context) -> None:
        await accounts.create_user(
            ctx.db,
            username=args.username,
            password=password,
            passwords=ctx.passwords,
            is_admin=args.admin,
        )

    _run(work)
    role = "administrator" if args.admin else "user"
    print(f"created {role} {args.username}")
    return 0


def _set_password(args: argparse.Namespace) -> int:
    password = _password(args, f"New password for {args.username}: ")

    async def work(ctx: Context) -> accounts.CredentialsEnded:
        return await accounts.reset_password(
            ctx.db, username=args.username, new_password=password, passwords=ctx.passwords
        )

    ended = _run(work)
    print(
        f"set the password of {args.username}; their earlier sign-ins ended and "
        f"{_tokens(ended.personal_tokens_revoked)} revoked"
    )
    return 0


def _set_active(username: str, *, active: bool) -> int:
    async def work(ctx: Context) -> accounts.CredentialsEnded:
        async with ctx.db.write() as session:
            _, ended = await accounts.set_active(session, username=username, active=active)
            return ended

    ended = _run(work)
    if active:
        print(f"reactivated {username}: they can sign in again (their old tokens stay revoked)")
    else:
        print(
            f"deactivated {username}: sign-in refused, earlier sign-ins ended and "
            f"{_tokens(ended.personal_tokens_revoked)} revoked (a running server notices "
            "within a few seconds)"
        )
    return 0


def _tokens(count: int) -> str:
    return f"{count} personal access token{'' if count == 1 else 's'}"


def group(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gallery group", description="Manage groups.")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a group")
    create.add_argument("name")
    add = sub.add_parser("add", help="add users to a group")
    add.add_argument("name")
    add.add_argument("usernames", nargs="+")
    args = parser.parse_args(argv)

    async def work(ctx: Context) -> list[str]:
        async with ctx.db.write() as session:
            if args.action == "create":
                await accounts.create_group(session, name=args.name)
                return []
            found = await accounts.get_group(session, args.name)
            return await accounts.add_members(session, group=found, usernames=args.usernames)

    try:
        members = _run(work)
    except GalleryError as exc:
        return _fail(exc.detail)
    if args.action == "create":
        print(f"created group {args.name}")
    else:
        print(f"group {args.name}: {', '.join(members)}")
    return 0


def token(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gallery token", description="Personal access tokens.")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a token for a user (printed once)")
    create.add_argument("--user", required=True)
    create.add_argument("--name", default="cli")
    create.add_argument("--days", type=int, default=90, help="lifetime in days (1-366)")
    args = parser.parse_args(argv)

    async def work(ctx: Context) -> str:
        async with ctx.db.write() as session:
            found = await accounts.get_user(session, args.user)
            assert found.id is not None
            _, secret = await accounts.create_personal_token(
                session, user_id=found.id, name=args.name, expires_in_days=args.days
            )
            return secret

    try:
        print(_run(work))
    except GalleryError as exc:
        return _fail(exc.detail)
    return 0
