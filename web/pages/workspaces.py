"""Workspaces, their workflows, configuration forms (to be written)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

PAGES: list[ControllerRouterHandler] = []
