"""The served application: the registry API plus the web console (templates under
``web/templates``, static files under ``web/static``, both shipped in the package)."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from registry.app import create_app as create_registry_app
from registry.settings import Settings
from web.pages import PAGES
from web.render import FILTERS, PAGE_EXCEPTION_HANDLERS
from web.session import csrf_guard

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _engine_callback(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 with autoescaping on for every template (``.html`` and others alike)."""
    config = TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_engine_callback
    )
    return config


SWAGGER = "/static/vendor/swagger-ui-5.35.0"


def api_docs() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at ``/schema`` (and ``/schema/swagger``), served from our own static files:
    the API docs work on a machine without internet."""
    return [
        SwaggerRenderPlugin(
            path=["/", "/swagger"],
            js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{SWAGGER}/favicon-32x32.png'>",
        )
    ]


def create_app(settings: Settings) -> Litestar:
    pages = Router(
        path="/",
        route_handlers=PAGES,
        guards=[csrf_guard],
        exception_handlers=PAGE_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        cache_control=CacheControlHeader(max_age=3600),
        include_in_schema=False,
    )
    return create_registry_app(
        settings,
        route_handlers=[pages, static],
        template_config=template_config(),
        openapi_viewers=api_docs(),
    )
