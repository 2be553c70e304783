"""The registry's ASGI application factory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from litestar import Litestar, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from registry.accounts.routes import router as accounts_router
from registry.assets.routes import router as assets_router
from registry.catalog.routes import catalog
from registry.context import Context, provide_ctx, provide_principal
from registry.executions.routes import router as executions_router
from registry.migrate import upgrade
from registry.problems import EXCEPTION_HANDLERS
from registry.settings import Settings
from registry.versions.service import sweep_orphans
from registry.workspaces.routes import router as workspaces_router

log = logging.getLogger("registry")
API_PREFIX = "/api/v1"
# JSON bodies are small; package uploads are streamed by their own handler with their own limit.
MAX_JSON_BODY = 2 * 1024 * 1024


@get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(
    settings: Settings,
    *,
    route_handlers: Sequence[ControllerRouterHandler] = (),
    migrate: bool = True,
) -> Litestar:
    """Build the app; ``route_handlers`` are extra handlers (the web pages) served beside it."""
    ctx = Context.from_settings(settings)

    async def on_startup(app: Litestar) -> None:
        if migrate:
            await upgrade(ctx.db)
        try:
            await sweep_orphans(
                ctx.db, ctx.blobs, older_than=timedelta(seconds=settings.orphan_grace_seconds)
            )
        except Exception:  # the sweep is housekeeping: never block start-up on it
            log.exception("orphan sweep failed")

    async def on_shutdown(app: Litestar) -> None:
        await ctx.db.dispose()

    api = Router(
        path=API_PREFIX,
        route_handlers=[
            accounts_router,
            assets_router,
            catalog,
            workspaces_router,
            executions_router,
        ],
    )
    dependencies: dict[str, Any] = {
        "ctx": Provide(provide_ctx),
        "principal": Provide(provide_principal),
    }
    return Litestar(
        route_handlers=[api, health, *route_handlers],
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        state=State({"ctx": ctx}),
        request_max_body_size=MAX_JSON_BODY,
        openapi_config=OpenAPIConfig(
            title="Gallery",
            version="1",
            path="/schema",
            description="Asset gallery and runner for ML pipelines.",
        ),
    )
