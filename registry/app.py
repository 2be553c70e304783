"""The registry's ASGI application factory."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from importlib import metadata
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, Reference, SecurityScheme, Tag
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler, Empty
from sqlalchemy import text
from temporalio.client import Client

from registry.accounts.routes import router as accounts_router
from registry.assets.routes import router as assets_router
from registry.catalog.routes import catalog
from registry.context import Context, provide_ctx, provide_principal
from registry.documents import MAX_DEPTH, DocumentError, loads
from registry.errors import FieldError, InvalidInput, MalformedBody
from registry.executions.routes import router as executions_router
from registry.labeling.routes import router as labeling_router
from registry.logs import logging_config, request_log
from registry.migrate import upgrade
from registry.problems import EXCEPTION_HANDLERS
from registry.services.routes import router as services_router
from registry.settings import Settings
from registry.versions.service import sweep_orphans
from registry.workspaces.routes import router as workspaces_router

log = logging.getLogger("registry")
API_PREFIX = "/api/v1"
# JSON bodies are small; package uploads are streamed by their own handler with their own limit.
MAX_JSON_BODY = 2 * 1024 * 1024
HEALTH_TIMEOUT_SECONDS = 1.0
HEALTH_TTL_OK = 1.0
"""How long a good answer of /health is kept (a bad one: ``HEALTH_TTL_DOWN``, so a recovery
shows at once)."""
HEALTH_TTL_DOWN = 0.25
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


class Health:
    """What ``/health`` reports: the database (a ``SELECT 1``) and Temporal (its gRPC health
    check), each within ``HEALTH_TIMEOUT_SECONDS``.

    Temporal is "not configured" when no address is set (the app would try the default one
    only when a run starts). Its outage makes the answer a 503 when it is part of this Gallery
    (``gallery up``'s embedded server, see :func:`require_temporal`); an external cluster's
    outage is reported (``"status": "degraded"``) with a 200, so replicas behind a load
    balancer keep serving everything but runs, which answer 503 themselves. One check runs at
    a time; its answer is kept briefly, so a flood of requests costs one check a second.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.temporal_configured = ctx.settings.temporal_address is not None
        self.temporal_required = False
        self._lock = asyncio.Lock()
        self._answer: tuple[int, dict[str, str]] = (503, {})
        self._until = 0.0
        self._up: set[str] = set()
        self._down: set[str] = set()
        self._connecting: asyncio.Future[Client] | None = None

    async def answer(self) -> tuple[int, dict[str, str]]:
        async with self._lock:
            if time.monotonic() >= self._until:
                self._answer = await self._check()
                ok = self._answer[0] == 200 and self._answer[1]["status"] == "ok"
                self._until = time.monotonic() + (HEALTH_TTL_OK if ok else HEALTH_TTL_DOWN)
            return self._answer

    async def _check(self) -> tuple[int, dict[str, str]]:
        checked = self.temporal_configured or self.temporal_required
        database, temporal = await asyncio.gather(
            self._database(), self._temporal() if checked else _unchecked()
        )
        body = {
            "status": "ok",
            "database": "ok" if database is None else "down",
            "temporal": "not configured" if not checked else "ok" if temporal is None else "down",
        }
        self._note("database", database)
        if checked:
            self._note("temporal", temporal)
        failed = database is not None or (self.temporal_required and temporal is not None)
        if failed:
            body["status"] = "down"
        elif body["temporal"] == "down":
            body["status"] = "degraded"
        return (503 if failed else 200), body

    async def _database(self) -> str | None:
        """None when it answers, else why not."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                async with self.ctx.db.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return f"no answer within {HEALTH_TIMEOUT_SECONDS:g} s"
        except Exception as exc:
            return str(exc) or type(exc).__name__
        return None

    async def _temporal(self) -> str | None:
        """None when its frontend says it is serving, else why not."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                # One connection attempt at a time, however often the check runs meanwhile.
                if self._connecting is None or self._connecting.done():
                    self._connecting = asyncio.ensure_future(self.ctx.runner.client())
                    self._connecting.add_done_callback(_retrieved)
                client = await asyncio.shield(self._connecting)
                serving = await client.service_client.check_health(
                    timeout=timedelta(seconds=HEALTH_TIMEOUT_SECONDS)
                )
        except TimeoutError:
            return f"no answer within {HEALTH_TIMEOUT_SECONDS:g} s"
        except Exception as exc:
            return str(exc) or type(exc).__name__
        return None if serving else "not serving"

    def _note(self, part: str, problem: str | None) -> None:
        """Log a part that was up going down, and its coming back (never in the answer)."""
        if problem is None:
            if part in self._down:
                log.warning("health: %s is back", part)
            self._down.discard(part)
            self._up.add(part)
        elif part in self._up:
            self._up.discard(part)
            self._down.add(part)
            where = (
                f" at {self.ctx.settings.resolved_temporal_address}" if part == "temporal" else ""
            )
            log.warning("health: %s%s is down: %s", part, where, problem)

    def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()


def _retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # seen here; the check that waited for it reported it


async def _unchecked() -> str | None:
    return None


def require_temporal(app: Litestar) -> None:
    """Count Temporal in ``/health``: this app runs beside the Temporal server it needs."""
    health: Health = app.state.health
    health.temporal_required = True


@get("/health", include_in_schema=False)
async def health(state: State) -> Response[dict[str, str]]:
    """``{"status", "database", "temporal"}``: 200 when Gallery can serve, else 503 naming
    the part that is down."""
    probe: Health = state.health
    status_code, body = await probe.answer()
    return Response(body, status_code=status_code, headers={"cache-control": "no-store"})


TAGS = {
    "accounts": "Sign-in, tokens, your account; users and groups for administrators.",
    "assets": "Publish and manage workflow and algorithm assets, their versions and whitelists.",
    "catalog": "Browse and search what you may see; subscriptions.",
    "workspaces": "Workspaces, the workflows imported into them, and their configuration.",
    "executions": "Runs: start, follow, continue, retry, stop, compare, logs, outputs, to-do.",
    "labeling": "Label tasks of labeling steps: samples, labels (body or CSV file), progress.",
    "services": "Deployed model services: list, read, delete, predict through the registry.",
}


def _version() -> str:
    try:
        return metadata.version("gallery")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def openapi_config(render_plugins: Sequence[OpenAPIRenderPlugin] = ()) -> OpenAPIConfig:
    """The OpenAPI document: the package's version, a tag per area, and how to authenticate
    (a bearer token from ``POST /api/v1/auth/token`` or a personal access token; many reads
    also work anonymously for public assets)."""
    schemes: dict[str, SecurityScheme | Reference] = {
        "bearer": SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT access token or personal access token (gal_…)",
            description="`Authorization: Bearer <token>`",
        ),
        "password": SecurityScheme(
            type="oauth2",
            description="The OAuth 2 password grant: username and password for a bearer token.",
            flows=OAuthFlows(password=OAuthFlow(token_url=f"{API_PREFIX}/auth/token", scopes={})),
        ),
    }
    return OpenAPIConfig(
        title="Gallery",
        version=_version(),
        path="/schema",
        description=DESCRIPTION,
        tags=[Tag(name=name, description=text) for name, text in TAGS.items()],
        components=Components(security_schemes=schemes),
        security=[{}, {"bearer": []}, {"password": []}],
        # The document itself (JSON at /schema/openapi.json, YAML at /schema/openapi.yaml);
        # viewers come from the caller (the web app serves them from its own static files).
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin(), *render_plugins],
    )


def create_app(
    settings: Settings,
    *,
    route_handlers: Sequence[ControllerRouterHandler] = (),
    migrate: bool = True,
    template_config: TemplateConfig[Any] | None = None,
    openapi_viewers: Sequence[OpenAPIRenderPlugin] = (),
) -> Litestar:
    """Build the app; ``route_handlers`` are extra handlers (the web pages) served beside it,
    with ``template_config`` for their templates and ``openapi_viewers`` as the API document's
    viewers under ``/schema``."""
    ctx = Context.from_settings(settings)
    health_probe = Health(ctx)

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
        health_probe.close()
        await ctx.db.dispose()

    api = Router(
        path=API_PREFIX,
        route_handlers=[
            Router(path="/", route_handlers=[router], tags=[tag])
            for tag, router in (
                ("accounts", accounts_router),
                ("assets", assets_router),
                ("catalog", catalog),
                ("workspaces", workspaces_router),
                ("executions", executions_router),
                ("labeling", labeling_router),
                ("services", services_router),
            )
        ],
    )
    dependencies: dict[str, Any] = {
        "ctx": Provide(provide_ctx),
        "principal": Provide(provide_principal),
    }
    app = Litestar(
        route_handlers=[api, health, *route_handlers],
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        state=State({"ctx": ctx, "health": health_probe}),
        request_max_body_size=MAX_JSON_BODY,
        request_class=GalleryRequest,
        openapi_config=openapi_config(openapi_viewers),
        logging_config=logging_config(settings.log_format, settings.log_level),
        template_config=template_config,
    )
    # Outermost, so that every answer is logged, a 404 for an unknown path included.
    app.asgi_handler = request_log(app.asgi_handler)
    return app
