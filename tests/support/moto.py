"""A throwaway moto S3 server on a free local port."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer


def _wait_until_answering(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection(host, port, timeout=1)
        try:
            conn.request("GET", "/moto-api/")
            conn.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            conn.close()


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's server in a thread; yield its endpoint ``127.0.0.1:PORT``."""
    # Port 0 lets the server's own socket pick a free port, so no other process can grab
    # it between choosing and binding.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        _wait_until_answering(host, port)
        yield f"{host}:{port}"
    finally:
        server.stop()
