"""First-run set-up: the first administrator account and its initial password file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from registry.accounts.service import add_user, count_users
from registry.context import Context

FIRST_ADMIN = "admin"
# In the data dir, readable by its owner only, until the first administrator signs in.
INITIAL_PASSWORD_FILE = "initial-admin-password"


async def ensure_admin(ctx: Context, username: str = FIRST_ADMIN) -> str | None:
    """Create an admin with a random password when there are no users; returns the password."""
    async with ctx.db.read() as session:
        if await count_users(session):
            return None
    password = secrets.token_urlsafe(12)
    password_hash = await ctx.passwords.hash_async(password)
    async with ctx.db.write() as session:
        if await count_users(session):  # another process was quicker
            return None
        await add_user(session, username=username, password_hash=password_hash, is_admin=True)
        return password


def save_initial_password(data_dir: Path, password: str) -> Path:
    """Write the first admin's password to a file created with mode 0600 (never wider)."""
    path = data_dir / INITIAL_PASSWORD_FILE
    path.unlink(missing_ok=True)  # a stale file keeps its old mode: start afresh
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return path


def forget_initial_password(data_dir: Path) -> None:
    """Remove the initial password file, if it is there (its secret is no longer needed)."""
    with contextlib.suppress(OSError):
        (data_dir / INITIAL_PASSWORD_FILE).unlink(missing_ok=True)
