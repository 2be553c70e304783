"""The served application: the registry API plus the web pages."""

from __future__ import annotations

from litestar import Litestar

from registry.app import create_app as create_registry_app
from registry.settings import Settings
from web.pages import PAGES


def create_app(settings: Settings) -> Litestar:
    return create_registry_app(settings, route_handlers=PAGES)
