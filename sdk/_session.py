"""Connection to a Gallery server: URL and token from arguments, environment or credentials."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from sdk._errors import ApiError, ConfigurationError

if TYPE_CHECKING:
    from sdk._execution import Execution, WorkflowHandle
    from sdk._experiment import Experiment

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

    def _check_open(self) -> None:
        if self._http.is_closed:
            raise ConfigurationError(
                f"this Session with {self.url} is closed; open a new wf.Session() (a handle "
                "keeps the session it was made with, so keep that open while you use it)"
            )

    def response(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request and return the whole answer (status, headers, text); a problem
        answer raises ApiError with the server's detail."""
        self._check_open()
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
        self._check_open()
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

    @contextmanager
    def stream(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed GET, for answers too big to hold (downloads): read it with
        ``iter_bytes()`` inside the block. A problem answer raises ApiError; a broken
        connection ConfigurationError."""
        self._check_open()
        try:
            with self._http.stream("GET", path, **kwargs) as answer:
                if answer.status_code >= 400:
                    answer.read()
                    self._raise(answer)
                yield answer
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"cannot download from Gallery at {self.url}: {exc}") from None

    def workflow(self, name_or_id: str, workspace: str = "default") -> WorkflowHandle:
        """The runtime workflow of ``workspace`` with this name (or this id), as the server has
        it: start it, list its executions, change its saved configuration. Nothing is released
        again. An unknown name raises ConfigurationError naming the workspace and similar names."""
        from sdk._execution import WorkflowHandle
        from sdk._runs import find_workflow

        return WorkflowHandle(self, find_workflow(self, name_or_id, workspace))

    def experiments(self, workspace: str = "default") -> list[Experiment]:
        """The workspace's experiments (groups of development runs), newest first."""
        from sdk._experiment import experiments

        return experiments(self, workspace)

    def experiment(self, name_or_id: str, workspace: str = "default") -> Experiment:
        """One experiment of the workspace: its runs (``executions()``), side by side
        (``compare()``). An unknown name raises ConfigurationError naming the others."""
        from sdk._experiment import find_experiment

        return find_experiment(self, name_or_id, workspace)

    def execution(self, ref: str) -> Execution:
        """An execution of one of your workspaces: its id, ``WORKFLOW/execution-NNN`` or
        ``execution-NNN`` (when only one of your workflows has it). Someone else's execution is
        as unknown as a missing one (ApiError 404 for an id, ConfigurationError for a name)."""
        from sdk._execution import Execution
        from sdk._refs import resolve_execution
        from sdk._runs import read_execution

        return Execution(self, read_execution(self, resolve_execution(self, ref)))
