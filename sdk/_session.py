"""Connection to a Gallery server: URL and token from arguments, environment or credentials."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from sdk._errors import ApiError, ConfigurationError

DEFAULT_URL = "http://127.0.0.1:8000"


def credentials_path() -> Path:
    """Where ``gallery login`` keeps the URL and token (``GALLERY_CONFIG_DIR`` overrides)."""
    base = os.environ.get("GALLERY_CONFIG_DIR") or Path.home() / ".config" / "gallery"
    return Path(base) / "credentials.json"


def load_credentials() -> dict[str, str]:
    path = credentials_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_credentials(url: str, token: str, username: str) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps({"url": url, "token": token, "username": username}, indent=2))
    return path


EVENTS_TIMEOUT = httpx.Timeout(10.0, read=60.0)
"""The server sends a keep-alive at least every 15 s: a minute of silence is a dead stream."""


def parse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(event, data)`` of a text/event-stream (WHATWG HTML, server-sent events): ``data``
    lines joined by newlines, ``message`` when no event type is named; comments skipped."""
    event = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event or "message", "\n".join(data)


class Session:
    """``Session(url, token)``; missing values come from ``GALLERY_URL``/``GALLERY_TOKEN``
    or the credentials file written by ``gallery login``."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60):
        stored = load_credentials() if url is None or token is None else {}
        self.url = (
            url or os.environ.get("GALLERY_URL") or stored.get("url") or DEFAULT_URL
        ).rstrip("/")
        self.token = token or os.environ.get("GALLERY_TOKEN") or stored.get("token")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=timeout)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def response(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request and return the whole answer (status, headers, text); a problem
        answer raises ApiError with the server's detail."""
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"cannot reach Gallery at {self.url}: {exc}") from None
        if answer.status_code >= 400:
            self._raise(answer)
        return answer

    @staticmethod
    def _raise(answer: httpx.Response) -> None:
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = body.get("detail") or body.get("title") or answer.reason_phrase
        raise ApiError(answer.status_code, str(detail), body.get("errors"))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its JSON body; a problem answer raises ApiError with the
        server's detail."""
        answer = self.response(method, path, **kwargs)
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def events(self, path: str) -> Iterator[tuple[str, str]]:
        """A server-sent-events stream: ``(event, data)`` as each arrives, until the server
        ends it. A problem answer raises ApiError; a broken connection ConfigurationError."""
        try:
            with self._http.stream(
                "GET", path, headers={"accept": "text/event-stream"}, timeout=EVENTS_TIMEOUT
            ) as answer:
                if answer.status_code >= 400:
                    answer.read()
                    self._raise(answer)
                yield from parse_events(answer.iter_lines())
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"lost the event stream from {self.url}: {exc}") from None

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)
