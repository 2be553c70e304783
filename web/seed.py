"""The first run's demo: a public workflow asset "Digits classification" (data to a deployed
model, ``sdk/examples/digits_classification``), owned by the system account ``gallery``.

``gallery up`` seeds it when it makes the first administrator (an empty data dir), unless
``GALLERY_SEED_DEMO`` is ``0``/``false``/``no``. It is published like any user's workflow:
through the HTTP API with the SDK's ``release_to_gallery``, as ``gallery``, with a personal
token made for the purpose and revoked afterwards. ``gallery`` cannot sign in (its password is
random and never shown).
"""

from __future__ import annotations

import os
import runpy
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from registry.accounts import service as accounts
from registry.context import Context
from registry.errors import NotFound
from sdk import Session, Workflow

SYSTEM_USER = "gallery"
SETTING = "GALLERY_SEED_DEMO"
TITLE = "Digits classification"
EXAMPLE = Path(__file__).resolve().parents[1] / "sdk" / "examples" / "digits_classification"
DESCRIPTION = (
    "From data to a deployed model, on your machine: scikit-learn's handwritten digits become a "
    "dataset, you label the few images left unlabelled, a dataset version is released, an SVM "
    "is trained and, when it is accurate enough, registered as a model and deployed as an HTTP "
    "service (you pick the model version when the step asks). Run it with one click."
)


def wanted() -> bool:
    return os.environ.get(SETTING, "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Account:
    user_id: int
    token_id: int
    token: str


async def system_account(ctx: Context) -> Account:
    """The ``gallery`` account (made when missing) and a one-day token to publish with."""
    password_hash = await ctx.passwords.hash_async(secrets.token_urlsafe(32))
    async with ctx.db.write() as session:
        try:
            user = await accounts.get_user(session, SYSTEM_USER)
        except NotFound:
            user = await accounts.add_user(
                session, username=SYSTEM_USER, password_hash=password_hash
            )
        assert user.id is not None
        row, secret = await accounts.create_personal_token(
            session, user_id=user.id, name="seed-demo", expires_in_days=1
        )
        assert row.id is not None
        return Account(user.id, row.id, secret)


async def forget_token(ctx: Context, account: Account) -> None:
    async with ctx.db.write() as session:
        await accounts.revoke_personal_token(
            session, user_id=account.user_id, token_id=account.token_id
        )


def wait_until_up(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gallery at {url} did not answer within {timeout:g}s")
        time.sleep(0.25)


def publish(url: str, token: str, say: Callable[[str], None]) -> str:
    """Publish the demo as ``gallery``; its content id."""
    workflow = runpy.run_path(str(EXAMPLE / "workflow.py"))["workflow"]
    assert isinstance(workflow, Workflow)
    with Session(url, token) as session:
        workflow.session = session
        release = workflow.release_to_gallery(visibility="public", title=TITLE, desc=DESCRIPTION)
        session.request(
            "PATCH",
            f"/assets/{release.content_id}",
            json={"tags": ["demo", "vision", "end-to-end"]},
        )
    say(
        f"Seeded the demo: '{TITLE}' (public, owned by '{SYSTEM_USER}'), content id "
        f"{release.content_id}; find it in the catalog. ({SETTING}=0 turns seeding off.)"
    )
    return release.content_id
