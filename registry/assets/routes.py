"""HTTP: assets, versions, packages, whitelists, import pre-check and subscriptions."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, Response, Router, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.response import Stream

from registry import access
from registry.assets import service
from registry.assets.schemas import (
    AssetCreate,
    AssetRead,
    AssetUpdate,
    ImportCheck,
    SubscribeRequest,
    SubscriptionRead,
    VersionRead,
    VersionUpdate,
    WhitelistChange,
    WhitelistRead,
)
from registry.blobs import BlobNotFound
from registry.context import CtxDep, PrincipalDep, UserDep, signed_in_routes
from registry.errors import NotFound, Unauthenticated
from registry.params import EXCEPTION_HANDLERS, ContentId, Version
from registry.subscriptions import service as subscriptions
from registry.versions import service as versions
from registry.versions.archives import PackageLimits
from registry.versions.uploads import read_publish_upload

SHA256_HEADER = "X-Content-SHA256"


@post("/assets", status_code=201)
async def create_asset(ctx: CtxDep, user: UserDep, data: JSONBody[AssetCreate]) -> AssetRead:
    async with ctx.db.write() as session:
        asset = await service.create_asset(session, data=data, principal=user)
        return await service.asset_read(session, asset, user)


@get("/assets/{content_id:str}")
async def read_asset(ctx: CtxDep, principal: PrincipalDep, content_id: ContentId) -> AssetRead:
    async with ctx.db.read() as session:
        asset = await service.find_asset(session, content_id, principal)
        return await service.asset_read(session, asset, principal)


@patch("/assets/{content_id:str}")
async def update_asset(
    ctx: CtxDep, principal: PrincipalDep, content_id: ContentId, data: JSONBody[AssetUpdate]
) -> AssetRead:
    async with ctx.db.write() as session:
        asset = await service.find_asset(session, content_id, principal)
        asset = await service.update_asset(session, asset=asset, data=data, principal=principal)
        return await service.asset_read(session, asset, principal)


@delete("/assets/{content_id:str}")
async def delete_asset(ctx: CtxDep, principal: PrincipalDep, content_id: ContentId) -> None:
    async with ctx.db.write() as session:
        asset = await service.find_asset(session, content_id, principal)
        keys = await service.delete_asset(session, asset=asset, principal=principal)
    for key in keys:
        await anyio.to_thread.run_sync(ctx.blobs.delete, key)


@get("/assets/{content_id:str}/versions")
async def list_versions(
    ctx: CtxDep, principal: PrincipalDep, content_id: ContentId
) -> list[VersionRead]:
    async with ctx.db.read() as session:
        asset = await service.find_asset(session, content_id, principal)
        rows = await service.list_versions(session, asset, principal)
        reads = await service.versions_read(session, asset, rows, principal)
    return service.with_changes(reads)


@post("/assets/{content_id:str}/versions", status_code=201, request_max_body_size=None)
async def publish_version(
    ctx: CtxDep,
    user: UserDep,
    content_id: ContentId,
    request: Request[Any, Any, State],
) -> VersionRead:
    """Publish a version: multipart ``manifest`` (JSON) and optional ``package`` (tar.gz)."""
    async with ctx.db.read() as session:
        asset = await service.find_asset(session, content_id, user)
    access.require_owner(asset, user)
    upload = await read_publish_upload(
        request.headers.get("content-type", ""),
        request.stream(),
        tmp_dir=ctx.settings.data_dir / "tmp",
        max_package=ctx.settings.max_upload_bytes,
        max_manifest=ctx.settings.max_manifest_bytes,
    )
    published = await versions.publish_version(
        ctx.db,
        ctx.blobs,
        asset=asset,
        upload=upload,
        principal=user,
        limits=PackageLimits.from_settings(ctx.settings),
    )
    row = published.version
    return VersionRead(
        content_id=asset.content_id,
        version=row.version,
        status=row.status,  # type: ignore[arg-type]
        description=row.description,
        manifest=row.manifest,
        dependencies=row.manifest.get("dependencies", []),
        package_sha256=row.package_sha256,
        package_size=row.package_size,
        published_by=user.username,
        created_at=row.created_at,
        whitelist=[],
        bump=published.bump,
        changes=[c.as_dict() for c in published.changes],
    )


@get("/assets/{content_id:str}/versions/{version:str}")
async def read_version(
    ctx: CtxDep, principal: PrincipalDep, content_id: ContentId, version: Version
) -> VersionRead:
    async with ctx.db.read() as session:
        asset = await service.find_asset(session, content_id, principal)
        row = await service.find_version(session, asset, version, principal)
        return (await service.versions_read(session, asset, [row], principal))[0]


@patch("/assets/{content_id:str}/versions/{version:str}")
async def update_version(
    ctx: CtxDep,
    principal: PrincipalDep,
    content_id: ContentId,
    version: Version,
    data: JSONBody[VersionUpdate],
) -> VersionRead:
    async with ctx.db.write() as session:
        asset = await service.find_asset(session, content_id, principal)
        row = await service.find_version(session, asset, version, principal)
        row = await versions.set_status(
            session, asset=asset, version=row, status=data.status, principal=principal
        )
        return (await service.versions_read(session, asset, [row], principal))[0]


@get("/assets/{content_id:str}/versions/{version:str}/package")
async def download_package(
    ctx: CtxDep, principal: PrincipalDep, content_id: ContentId, version: Version
) -> Stream:
    """The version's package, streamed; its SHA-256 is in the ``X-Content-SHA256`` header."""
    async with ctx.db.read() as session:
        asset = await service.find_asset(session, content_id, principal)
        row = await service.find_version(session, asset, version, principal)
    if principal is None:
        raise Unauthenticated("sign in to download packages")
    if not row.package_key or not row.package_sha256:
        raise NotFound(f"version {version} of asset {content_id} has no package")
    try:
        info = await anyio.to_thread.run_sync(ctx.blobs.stat, row.package_key)
    except BlobNotFound:
        raise NotFound(f"the package of {content_id}@{version} is missing from storage") from None
    filename = f"{asset.name}-{row.version}.tar.gz"
    return Stream(
        ctx.blobs.open(row.package_key),
        media_type="application/gzip",
        headers={
            "Content-Length": str(info.size),
            "Content-Disposition": f'attachment; filename="{filename}"',
            SHA256_HEADER: row.package_sha256,
            "ETag": f'"{row.package_sha256}"',
        },
    )


@get("/assets/{content_id:str}/versions/{version:str}/import-check")
async def import_check(
    ctx: CtxDep, principal: PrincipalDep, content_id: ContentId, version: Version
) -> ImportCheck:
    async with ctx.db.read() as session:
        asset = await service.find_asset(session, content_id, principal)
        row = await service.find_version(session, asset, version, principal)
        return await service.import_check(session, asset=asset, version=row, principal=principal)


async def _whitelist(
    ctx: CtxDep,
    principal: PrincipalDep,
    content_id: ContentId,
    version: Version,
    data: JSONBody[WhitelistChange],
    *,
    add: bool,
) -> WhitelistRead:
    async with ctx.db.write() as session:
        asset = await service.find_asset(session, content_id, principal)
        row = await service.find_version(session, asset, version, principal)
        return await service.change_whitelist(
            session, asset=asset, version=row, names=data.principals, add=add, principal=principal
        )


@get("/assets/{content_id:str}/versions/{version:str}/whitelist")
async def read_whitelist(
    ctx: CtxDep, principal: PrincipalDep, content_id: ContentId, version: Version
) -> WhitelistRead:
    """Who may read this version while the asset's visibility is ``group`` (owner only)."""
    async with ctx.db.read() as session:
        asset = await service.find_asset(session, content_id, principal)
        row = await service.find_version(session, asset, version, principal)
        return await service.read_whitelist(session, asset=asset, version=row, principal=principal)


@post("/assets/{content_id:str}/versions/{version:str}/whitelist", status_code=200)
async def add_whitelist(
    ctx: CtxDep,
    principal: PrincipalDep,
    content_id: ContentId,
    version: Version,
    data: JSONBody[WhitelistChange],
) -> WhitelistRead:
    """Add users or ``group:<name>`` entries; cascades to dependency versions you own."""
    return await _whitelist(ctx, principal, content_id, version, data, add=True)


@delete("/assets/{content_id:str}/versions/{version:str}/whitelist", status_code=200)
async def remove_whitelist(
    ctx: CtxDep,
    principal: PrincipalDep,
    content_id: ContentId,
    version: Version,
    data: JSONBody[WhitelistChange],
) -> WhitelistRead:
    return await _whitelist(ctx, principal, content_id, version, data, add=False)


@post("/assets/{content_id:str}/subscription", status_code=200)
async def subscribe(
    ctx: CtxDep,
    principal: PrincipalDep,
    content_id: ContentId,
    data: JSONBody[SubscribeRequest],
) -> Response[AssetRead]:
    async with ctx.db.write() as session:
        # The row lock serialises one user's concurrent (double-click) subscribes on PostgreSQL.
        asset = await service.find_asset(session, content_id, principal, for_update=True)
        _, created = await subscriptions.subscribe(
            session, asset=asset, accept_terms=data.accept_terms, principal=principal
        )
        await session.refresh(asset)
        read = await service.asset_read(session, asset, principal)
    return Response(read, status_code=201 if created else 200)


@delete("/assets/{content_id:str}/subscription")
async def unsubscribe(ctx: CtxDep, principal: PrincipalDep, content_id: ContentId) -> None:
    async with ctx.db.write() as session:
        asset = await service.find_asset(session, content_id, principal, for_update=True)
        await subscriptions.unsubscribe(session, asset=asset, principal=principal)


@get("/subscriptions")
async def my_subscriptions(ctx: CtxDep, principal: PrincipalDep) -> list[SubscriptionRead]:
    async with ctx.db.read() as session:
        return await subscriptions.my_subscriptions(session, principal)


router = Router(
    path="/",
    route_handlers=[
        read_asset,
        update_asset,
        delete_asset,
        list_versions,
        read_version,
        update_version,
        download_package,
        import_check,
        read_whitelist,
        add_whitelist,
        remove_whitelist,
        subscribe,
        unsubscribe,
        my_subscriptions,
        signed_in_routes(create_asset, publish_version),
    ],
    exception_handlers=EXCEPTION_HANDLERS,
)
