"""A running Gallery for tests: server, admin, and helpers to make users and assets."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from registry.bootstrap import ensure_admin
from registry.context import Context
from registry.migrate import upgrade
from registry.settings import Settings
from tests.support.server import serve
from web.app import create_app

API = "/api/v1"


def fast_settings(**values: Any) -> Settings:
    """Settings for tests: argon2id still, at a cost that keeps the suite quick."""
    values.setdefault("password_memory_kib", 1024)
    values.setdefault("password_time_cost", 1)
    values.setdefault("secret_key", "test-secret-" + uuid.uuid4().hex)
    # Every test signs in from 127.0.0.1: the shared servers must not throttle the suite.
    values.setdefault("signin_failures_per_address", 100_000)
    values.setdefault("signin_failures_per_user", 100_000)
    return Settings(**values)


async def _prepare(settings: Settings) -> str:
    ctx = Context.from_settings(settings)
    try:
        await upgrade(ctx.db)
        password = await ensure_admin(ctx)
        assert password is not None
        return password
    finally:
        await ctx.db.dispose()


class Client(httpx.Client):
    """An HTTP client signed in as one user (or anonymous)."""

    username: str | None = None


@dataclass
class Gallery:
    base_url: str
    settings: Settings
    backend: str
    admin_password: str
    _admin: Client | None = field(default=None, repr=False)

    def client(self, token: str | None = None) -> Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return Client(base_url=self.base_url + API, headers=headers, timeout=60)

    def login(self, username: str, password: str) -> Client:
        answer = httpx.post(
            self.base_url + API + "/auth/token",
            data={"grant_type": "password", "username": username, "password": password},
        )
        answer.raise_for_status()
        client = self.client(answer.json()["access_token"])
        client.username = username
        return client

    @property
    def admin(self) -> Client:
        if self._admin is None:
            self._admin = self.login("admin", self.admin_password)
        return self._admin

    def new_user(self, prefix: str = "u", *, groups: tuple[str, ...] = ()) -> tuple[str, str]:
        """A new user (unique name) added to ``groups`` (created when missing): its name and
        password."""
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        password = "pw-" + uuid.uuid4().hex
        self.admin.post("/users", json={"username": name, "password": password}).raise_for_status()
        for group in groups:
            self.admin.post("/groups", json={"name": group})
            self.admin.post(
                f"/groups/{group}/members", json={"usernames": [name]}
            ).raise_for_status()
        return name, password

    def user(self, prefix: str = "u", *, groups: tuple[str, ...] = ()) -> Client:
        """A new user (unique name), signed in; added to ``groups`` (created when missing)."""
        return self.login(*self.new_user(prefix, groups=groups))

    def group(self, prefix: str = "g") -> str:
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        self.admin.post("/groups", json={"name": name}).raise_for_status()
        return name


@contextmanager
def running_gallery(settings: Settings, backend: str) -> Iterator[Gallery]:
    password = asyncio.run(_prepare(settings))
    with serve(create_app(settings)) as base_url:
        yield Gallery(base_url, settings, backend, password)


def make_package(files: dict[str, bytes] | None = None) -> bytes:
    """A tar.gz with the given files (default: one small script)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (files or {"train.py": b"print('hello')\n"}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def new_asset(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"kind": "algorithm", "name": "a" + uuid.uuid4().hex[:12], **fields}
    answer = client.post("/assets", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def publish(
    client: httpx.Client,
    content_id: str,
    manifest: dict[str, Any] | None = None,
    package: bytes | None = None,
) -> httpx.Response:
    files: dict[str, Any] = {"manifest": (None, json.dumps(manifest or {}), "application/json")}
    if package is not None:
        files["package"] = ("package.tar.gz", package, "application/gzip")
    return client.post(f"/assets/{content_id}/versions", files=files)


def workflow_manifest(
    dependencies: list[dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    """A valid workflow manifest: one job step per dependency (a gallery algorithm version)."""
    deps = list(dependencies or [])
    steps: list[dict[str, Any]] = [
        {
            "name": f"step{i}",
            "type": "job",
            "properties": {
                "algorithm": {
                    "source": "gallery",
                    "content_id": dep["content_id"],
                    "version": dep["version"],
                }
            },
        }
        for i, dep in enumerate(deps)
    ]
    if not steps:
        literal = {"ref": "literal", "value": 1}
        steps = [
            {
                "name": "check",
                "type": "condition",
                "properties": {"conditions": [{"op": "==", "left": literal, "right": literal}]},
            }
        ]
    spec = {"name": "wf" + uuid.uuid4().hex[:8], "steps": steps}
    return {"spec": spec, "dependencies": deps, **extra}
