"""``python -m runner.serving``: one model version served over HTTP on a loopback port.

Standard library only (the worker copies this file next to the model and runs it in the
sandbox, where the ``runner`` package is not importable). A model directory holds either

* ``predict.py`` defining ``predict(inputs: list) -> list`` (and optionally
  ``load(model_dir)``, called once before the first prediction), or
* a pickled scikit-learn estimator, ``model.pkl`` or ``model.joblib`` (its ``.predict``);

at its top or in its one sub-directory. Endpoints:

* ``GET /health``: 200 ``{"status": "ok", "model": PIN}`` once a model is loaded.
* ``POST /predict`` ``{"inputs": [...]}``: ``{"outputs": [...], "model": PIN}``; a body that
  is not such JSON, or inputs the model refuses, answer 400 with a sentence.
* ``POST /admin/load`` ``{"model_dir", "model"}`` with ``Authorization: Bearer TOKEN`` (the
  ``GALLERY_SERVICE_TOKEN`` the process was started with), from loopback only: loads the new
  model in this process, then switches to it in one assignment, so no request fails during
  the swap (requests already running finish on the old model).

Bodies over ``--max-body`` bytes answer 413.
"""

from __future__ import annotations

import argparse
import hmac
import importlib.util
import json
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOKEN_ENV = "GALLERY_SERVICE_TOKEN"
MAX_BODY = 10 * 1024 * 1024
LOOPBACK = ("127.0.0.1", "::1")


class ModelError(Exception):
    """The model directory cannot be served; the message says why."""


@dataclass(frozen=True)
class Loaded:
    predict: Callable[[list[Any]], Any]
    model: str
    directory: str


_counter = iter(range(1, 1 << 62))
_load_lock = threading.Lock()


def _where(model_dir: Path) -> Path:
    """The directory holding the model's entry file: ``model_dir`` or its one sub-directory."""
    names = ("predict.py", "model.pkl", "model.joblib")
    if any((model_dir / n).is_file() for n in names):
        return model_dir
    subdirs = [p for p in model_dir.iterdir() if p.is_dir()] if model_dir.is_dir() else []
    if len(subdirs) == 1 and any((subdirs[0] / n).is_file() for n in names):
        return subdirs[0]
    raise ModelError(
        f"the model directory {model_dir} has no predict.py, model.pkl or model.joblib"
    )


def _estimator(est: Any, name: str) -> Callable[[list[Any]], Any]:
    if not callable(getattr(est, "predict", None)):
        raise ModelError(f"{name} holds a {type(est).__name__}, which has no predict method")
    return lambda inputs: est.predict(inputs)


def load(model_dir: Path, model: str) -> Loaded:
    """The model of ``model_dir``, ready to predict; ModelError saying why not."""
    folder = _where(model_dir)
    script = folder / "predict.py"
    if script.is_file():
        name = f"gallery_model_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(name, script)
        if spec is None or spec.loader is None:
            raise ModelError(f"{script} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            setup = getattr(module, "load", None)
            if callable(setup):
                setup(str(folder))
        except Exception as exc:
            raise ModelError(f"predict.py failed to load: {type(exc).__name__}: {exc}") from None
        predict = getattr(module, "predict", None)
        if not callable(predict):
            raise ModelError("predict.py defines no predict(inputs) function")
        return Loaded(predict, model, str(model_dir))
    try:
        if (folder / "model.pkl").is_file():
            with (folder / "model.pkl").open("rb") as handle:
                return Loaded(_estimator(pickle.load(handle), "model.pkl"), model, str(model_dir))
        import joblib  # type: ignore[import-untyped,unused-ignore]

        est = joblib.load(folder / "model.joblib")
        return Loaded(_estimator(est, "model.joblib"), model, str(model_dir))
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"the model file cannot be loaded: {type(exc).__name__}: {exc}") from None


def _plain(value: Any) -> Any:
    """Predictions as JSON values (numpy arrays and scalars have ``tolist``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a restart on its port is not refused for TIME_WAIT

    def __init__(self, address: tuple[str, int], loaded: Loaded, token: str, max_body: int):
        super().__init__(address, Handler)
        self.loaded = loaded
        self.token = token
        self.max_body = max_body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, detail: str) -> None:
        self._answer(status, {"status": status, "detail": detail})

    def _body(self) -> Any:
        """The request's JSON body, or None once an error has been answered."""
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._error(400, "the Content-Length header is not a length")
            return None
        if length > self.server.max_body:
            self.close_connection = True
            self._error(413, f"the body is over {self.server.max_body} bytes")
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            self._error(400, "the body is not JSON")
            return None

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/health":
            self._answer(200, {"status": "ok", "model": self.server.loaded.model})
            return
        self._error(404, f"no such endpoint {self.path!r} (GET /health, POST /predict)")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/predict":
            self._predict()
        elif path == "/admin/load":
            self._load()
        else:
            self.close_connection = True
            self._error(404, f"no such endpoint {self.path!r} (GET /health, POST /predict)")

    def _predict(self) -> None:
        body = self._body()
        if body is None:
            return
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            self._error(400, 'the body must be a JSON object {"inputs": [...]} (a list)')
            return
        loaded = self.server.loaded  # one read: a swap meanwhile does not mix two models
        try:
            outputs = _plain(loaded.predict(body["inputs"]))
        except Exception as exc:
            self._error(400, f"the model refused these inputs: {type(exc).__name__}: {exc}")
            return
        if not isinstance(outputs, list):
            self._error(500, f"the model's predict returned a {type(outputs).__name__}, not a list")
            return
        try:
            self._answer(200, {"outputs": outputs, "model": loaded.model})
        except (TypeError, ValueError):
            self._error(500, "the model's predictions are not JSON values")

    def _load(self) -> None:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server.token}"
        if (
            self.client_address[0] not in LOOPBACK
            or not self.server.token
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            self.close_connection = True
            self._error(403, "not allowed")
            return
        body = self._body()
        if body is None:
            return
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("model_dir"), str)
            or not isinstance(body.get("model"), str)
        ):
            self._error(400, 'the body must be {"model_dir": "...", "model": "CONTENT_ID@VERSION"}')
            return
        try:
            with _load_lock:
                loaded = load(Path(body["model_dir"]), body["model"])
        except ModelError as exc:
            self._error(400, str(exc))
            return
        self.server.loaded = loaded  # the swap: one assignment
        print(f"serving: now serving {loaded.model} from {loaded.directory}", flush=True)
        self._answer(200, {"status": "ok", "model": loaded.model})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.serving")
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--model", required=True, help="the model version, CONTENT_ID@VERSION")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--max-body", type=int, default=MAX_BODY)
    args = parser.parse_args(argv)
    token = os.environ.pop(TOKEN_ENV, "")
    try:
        loaded = load(args.model_dir, args.model)
    except ModelError as exc:
        print(f"serving: error: {exc}", file=sys.stderr, flush=True)
        return 3
    try:
        server = Server((args.host, args.port), loaded, token, args.max_body)
    except OSError as exc:
        print(f"serving: error: port {args.port} cannot be used: {exc}", file=sys.stderr)
        return 2

    def _stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"serving: {loaded.model} on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
