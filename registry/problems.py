"""One translation of errors into RFC 9457 problem details."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from registry.errors import GalleryError, TooManyRequests

log = logging.getLogger("registry")
PROBLEM_JSON = "application/problem+json"


def _problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="gallery"'
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


def gallery_error(request: Request[Any, Any, Any], exc: GalleryError) -> Response[dict[str, Any]]:
    extra = dict(exc.extra)
    errors = getattr(exc, "errors", None)
    if errors:
        extra["errors"] = [e.as_dict() for e in errors]
    headers = None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return _problem(request, exc.status, exc.title, exc.detail, headers=headers, **extra)


def validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            field = str(item.get("key") or item.get("source") or "body")
            message = str(item.get("message"))
            if message == repr(field):  # Litestar's message for a missing value is its KeyError
                message = "is required"
                if field == "data":
                    field, message = "body", "a JSON body is required"
            errors.append({"field": field, "rule": "invalid", "message": message})
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
