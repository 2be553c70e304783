"""Domain errors of the registry. Services raise these; the app maps them to problem details.

GalleryError                      base; ``status`` is the HTTP status it maps to
├── InvalidInput (422)            a field breaks a rule; ``errors`` name field and rule
│   ├── InvalidGrant (400)        OAuth2 password grant refused (RFC 6749 ``invalid_grant``)
│   └── MalformedBody (400)       the body is not UTF-8 JSON within the limits (depth, numbers)
├── Unauthenticated (401)         missing, forged, expired or revoked credentials
├── Forbidden (403)               readable, but the caller may not change it
├── NotFound (404)                absent, or not readable by the caller (same answer)
├── Conflict (409)                duplicate name or version, resource still in use
├── PayloadTooLarge (413)         an upload over the configured limit
├── TooManyRequests (429)         too many failed sign-ins; ``retry_after`` seconds to wait
└── Unavailable (503)             the runner (Temporal) cannot be reached; nothing changed

Callers recover by class: fix the input (422/400/413), sign in again (401), ask the owner
(403/404), pick another name or version (409), wait ``Retry-After`` seconds (429) or try again
later (503).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldError:
    """One broken rule: which field, which rule, and a sentence for people."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


class GalleryError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(GalleryError):
    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.errors = errors or []

    @classmethod
    def field(cls, field: str, rule: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", [FieldError(field, rule, message)])

    @classmethod
    def of(cls, what: str, errors: list[FieldError]) -> InvalidInput:
        """``invalid <what>: field: message; …`` with every field error."""
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return cls(f"invalid {what}: {detail}", errors)


MAX_FIELD_ERRORS = 20
"""A document with hundreds of mistakes is answered with the first ones."""


def field_path(prefix: str, loc: Sequence[int | str]) -> str:
    """The one way a field is named in an answer: ``("steps", 0, "name")`` under ``spec`` is
    ``spec.steps[0].name``."""
    path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    return path.lstrip(".") or "body"


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """pydantic's errors as field errors: the field (``field_path``), pydantic's error type as
    the rule, and its message."""
    return [
        FieldError(field_path(prefix, e["loc"]), e["type"], e["msg"])
        for e in exc.errors()[:MAX_FIELD_ERRORS]
    ]


def problem_list(problems: Sequence[tuple[str, str]], prefix: str, rule: str) -> list[FieldError]:
    """(where, message) pairs, such as a spec's ``SpecError.problems``, as field errors."""
    return [
        FieldError(f"{prefix}.{where}" if prefix else where, rule, message)
        for where, message in problems[:MAX_FIELD_ERRORS]
    ]


class InvalidGrant(InvalidInput):
    status = 400
    title = "invalid_grant"


class MalformedBody(InvalidInput):
    status = 400
    title = "Malformed body"


class Unauthenticated(GalleryError):
    status = 401
    title = "Not authenticated"


class Forbidden(GalleryError):
    status = 403
    title = "Forbidden"


class NotFound(GalleryError):
    status = 404
    title = "Not found"


class Conflict(GalleryError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(GalleryError):
    status = 413
    title = "Payload too large"


class TooManyRequests(GalleryError):
    """Refused without being tried; the answer carries ``Retry-After: <retry_after>``."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(GalleryError):
    """A service the request needs (Temporal) cannot be reached; nothing was changed."""

    status = 503
    title = "Service unavailable"
