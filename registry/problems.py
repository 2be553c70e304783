"""One translation of errors into RFC 9457 problem details."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from registry.errors import GalleryError

log = logging.getLogger("registry")
PROBLEM_JSON = "application/problem+json"


def _problem(
    request: Request[Any, Any, Any], status: int, title: str, detail: str, **extra: Any
) -> Response[dict[str, Any]]:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="gallery"'} if status == 401 else None
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def gallery_error(request: Request[Any, Any, Any], exc: GalleryError) -> Response[dict[str, Any]]:
    extra = dict(exc.extra)
    errors = getattr(exc, "errors", None)
    if errors:
        extra["errors"] = [e.as_dict() for e in errors]
    return _problem(request, exc.status, exc.title, exc.detail, **extra)


def validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            field = str(item.get("key") or item.get("source") or "body")
            errors.append({"field": field, "rule": "invalid", "message": str(item.get("message"))})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or str(exc.detail)
    return _problem(request, 422, "Invalid input", detail, errors=errors)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    title = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}.get(
        status, "Error"
    )
    detail = str(exc.detail) if exc.detail else title
    if status == 413:
        detail = "request body is larger than the configured limit"
    return _problem(request, status, title, detail)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _problem(request, 500, "Internal error", "something went wrong on the server")


EXCEPTION_HANDLERS: Any = {
    GalleryError: gallery_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
