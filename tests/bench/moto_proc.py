"""Child-process entry point: moto's S3 server (tests/support/moto.py) in its own interpreter.

Run as ``python -m tests.bench.moto_proc``: prints ``ENDPOINT host:port`` once it answers and
serves until its standard input closes, so the benchmark's load generator and the S3 server do
not share one GIL.
"""

from __future__ import annotations

import sys

from tests.support.moto import moto_server


def main() -> None:
    with moto_server() as endpoint:
        print(f"ENDPOINT {endpoint}", flush=True)
        sys.stdin.read()  # returns at EOF: the parent closed our stdin or went away


if __name__ == "__main__":
    main()
