"""SDK errors.

GalleryError                 base of everything the SDK raises on purpose
├── ConfigurationError       no URL or token, unreadable credentials file
└── ApiError                 the server refused a request (``status``, ``detail``, ``errors``)
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
