"""SDK errors.

GalleryError                 base of everything the SDK raises on purpose
├── WorkflowDefinitionError  a workflow definition breaks a rule; names the step/placeholder
├── ConfigurationError       no URL or token, unreadable credentials file
├── ApiError                 the server refused a request (``status``, ``detail``, ``errors``)
└── PublishError             release_to_gallery failed; says which asset (``asset``) and why
"""

from __future__ import annotations

from typing import Any


class GalleryError(Exception):
    pass


class ConfigurationError(GalleryError):
    pass


class ApiError(GalleryError):
    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(f"{detail} (HTTP {status})")
        self.status = status
        self.detail = detail
        self.errors = errors or []


class WorkflowDefinitionError(GalleryError, ValueError):
    """Raised at construction or ``compile()``; the message names the culprit."""


class PublishError(GalleryError):
    def __init__(self, asset: str, cause: Exception):
        super().__init__(f"publishing {asset} failed: {cause}")
        self.asset = asset
        self.cause = cause
