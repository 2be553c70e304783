"""Logging, configured in one place: the app (Litestar's ``LoggingConfig``) and the worker use
:func:`logging_config`. Text lines by default; JSON lines (one object per line) when
``GALLERY_LOG_FORMAT=json``. Every HTTP request is one line with its request id, which the
response carries back in ``X-Request-ID`` (a caller's own id of up to 64 safe characters is
kept, so a request can be followed across services).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from litestar.logging.config import LoggingConfig

REQUESTS = "gallery.requests"
OURS = ("registry", "runner", "web", REQUESTS)
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client")
requests_log = logging.getLogger(REQUESTS)
# Plain ASGI (the wrapped handler sees HTTP and websocket scopes alike).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's fields when the
    record has them, and the exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str = "INFO") -> LoggingConfig:
    """Our loggers (not the root logger: a host application or test runner keeps its own)."""
    formatters: dict[str, dict[str, Any]] = {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": JsonFormatter},
    }
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json" if log_format == "json" else "text",
    }
    return LoggingConfig(
        formatters=formatters,
        handlers={"gallery": handler},
        loggers={
            name: {"level": level, "handlers": ["gallery"], "propagate": False} for name in OURS
        },
        configure_root_logger=False,
        log_exceptions="never",  # a 500's traceback is logged once, by registry.problems
    )


def request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _SAFE_ID.fullmatch(text):
                return text
            break
    return secrets.token_hex(8)


def request_log(app: ASGIApp) -> Any:
    """Middleware: give each HTTP request an id (``X-Request-ID``) and log one line for it when
    its answer has been sent: method, path (no query string), status and duration. The answer
    also says how long the server took until its headers (``Server-Timing: app;dur=MS``): for
    a page or a JSON answer that is the whole work, which the browser's tools and the
    benchmarks read."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                took = (time.perf_counter() - started) * 1000
                headers = [
                    *message.get("headers", ()),
                    (b"x-request-id", rid.encode()),
                    (b"server-timing", f"app;dur={took:.1f}".encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            duration = round((time.perf_counter() - started) * 1000, 1)
            client = scope.get("client")
            requests_log.info(
                "%s %s %s %.1f ms [%s]",
                scope["method"],
                scope["path"],
                status,
                duration,
                rid,
                extra={
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration,
                    "client": client[0] if client else None,
                },
            )

    return middleware
