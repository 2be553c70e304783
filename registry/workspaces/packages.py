"""Workspace packages: the code of a development workflow (``workflow.run()``/``debug()``),
uploaded to its workspace by sha256 and run from there, publishing no asset.

A package is stored under its workspace's id and its sha256, so a step finds only packages of
its own execution's workspace; the same checks as a published package's apply on upload and
again before a worker unpacks it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import anyio
from litestar import Request, Response, head, put
from litestar.datastructures import State

from registry.blobs import BlobNotFound, BlobStore
from registry.context import CtxDep, UserDep
from registry.errors import InvalidInput, NotFound, PayloadTooLarge
from registry.params import PackageSha, WorkspaceName
from registry.versions.archives import PackageLimits, check_archive
from registry.workspaces import service
from registry.workspaces.storage import package_key


def has_package(blobs: BlobStore, workspace_id: int, sha256: str) -> bool:
    try:
        blobs.stat(package_key(workspace_id, sha256))
    except BlobNotFound:
        return False
    return True


@head("/workspaces/{ws:str}/packages/{sha256:str}", status_code=200)
async def package_exists(ctx: CtxDep, user: UserDep, ws: WorkspaceName, sha256: PackageSha) -> None:
    """200 when the workspace holds that package (upload it only when this is 404)."""
    async with ctx.db.write() as session:  # may create the default workspace
        workspace = await service.find_workspace(session, ws, user)
    assert workspace.id is not None
    if not await anyio.to_thread.run_sync(has_package, ctx.blobs, workspace.id, sha256):
        raise NotFound(f"workspace {ws!r} has no package {sha256}")


@put("/workspaces/{ws:str}/packages/{sha256:str}", status_code=201, request_max_body_size=None)
async def upload_package(
    ctx: CtxDep,
    user: UserDep,
    ws: WorkspaceName,
    sha256: PackageSha,
    request: Request[Any, Any, State],
) -> Response[dict[str, Any]]:
    """Upload a development workflow's code (a tar.gz, as ``release_to_gallery`` packs it)
    under its sha256: 201, or 200 when the workspace has it already. The body must hash to
    the sha256 in the path and pass the package limits."""
    async with ctx.db.write() as session:
        workspace = await service.find_workspace(session, ws, user)
    assert workspace.id is not None
    if await anyio.to_thread.run_sync(has_package, ctx.blobs, workspace.id, sha256):
        return Response({"sha256": sha256, "stored": False}, status_code=200)
    limit = ctx.settings.max_upload_bytes
    tmp_dir = ctx.settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=tmp_dir, suffix=".tar.gz")
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the package is over the {limit}-byte upload limit")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInput.field("body", "required", "send the package (tar.gz) as the body")
        if digest.hexdigest() != sha256:
            raise InvalidInput.field(
                "sha256",
                "match",
                f"the body hashes to {digest.hexdigest()}, not {sha256}: the upload was "
                "corrupted or the wrong file was sent",
            )
        await anyio.to_thread.run_sync(
            check_archive, path, PackageLimits.from_settings(ctx.settings)
        )
        key = package_key(workspace.id, sha256)
        await anyio.to_thread.run_sync(ctx.blobs.put_file, key, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
    return Response({"sha256": sha256, "stored": True}, status_code=201)
