"""The registry's ASGI application factory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from litestar import Litestar, Request, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler, Empty

from registry.accounts.routes import router as accounts_router
from registry.assets.routes import router as assets_router
from registry.catalog.routes import catalog
from registry.context import Context, provide_ctx, provide_principal
from registry.documents import MAX_DEPTH, DocumentError, loads
from registry.errors import FieldError, InvalidInput, MalformedBody
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
DESCRIPTION = f"""Asset gallery and runner for ML pipelines.

Errors are RFC 9457 problem details (`application/problem+json`). JSON request bodies must be
UTF-8 JSON (RFC 8259) of at most {MAX_JSON_BODY // (1024 * 1024)} MiB, nest arrays and objects at
most {MAX_DEPTH} levels deep, hold integers within 64 bits and no U+0000 in any string: a body
that is not such JSON is a 400, a value that breaks a rule a 422 naming it."""


def read_json_body(body: bytes) -> Any:
    """A JSON request body under the rules of ``registry.documents``, or a problem naming one."""
    if not body:
        return None
    try:
        return loads(body)
    except DocumentError as exc:
        if not exc.malformed:
            raise InvalidInput.field(exc.where or "body", exc.rule, exc.message) from None
        detail = (
            f"the request body is too deeply nested: {exc.message}; send a flatter document"
            if exc.rule == "depth"
            else f"the request body is not valid UTF-8 JSON: {exc.message}"
        )
        raise MalformedBody(detail, [FieldError("body", exc.rule, exc.message)]) from None


class GalleryRequest(Request[Any, Any, State]):
    """Reads JSON bodies by ``read_json_body``: bad bytes are a 400 naming the broken rule,
    never an error raised deep inside a parser."""

    __slots__ = ()

    async def json(self) -> Any:
        if self._json is Empty:
            value = self._connection_state.json
            if value is Empty:
                value = self._connection_state.json = read_json_body(await self.body())
            self._json = value
        return self._json


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
        request_class=GalleryRequest,
        openapi_config=OpenAPIConfig(
            title="Gallery", version="1", path="/schema", description=DESCRIPTION
        ),
    )
