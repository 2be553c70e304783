"""The web console's pages, one module per area; ``PAGES`` is every page handler."""

from __future__ import annotations

from web.pages import auth, catalog, labeling, runs, services, workspaces

PAGES = [
    *auth.PAGES,
    *catalog.PAGES,
    *workspaces.PAGES,
    *runs.PAGES,
    *labeling.PAGES,
    *services.PAGES,
]
