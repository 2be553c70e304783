"""A tiny all-threads sampling profiler (py-spy is not installed): collapsed stacks to a file.

Every ``interval`` seconds it records the Python stack of every thread that is not parked in
an idle wait (epoll, a queue get, a lock/condition wait). Output is one line per distinct stack,
``frame;frame;... count``, the "collapsed" format flame-graph tools read. It needs the GIL to
sample, so time inside C code that holds the GIL is attributed to its calling Python frame.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from pathlib import Path
from types import FrameType

IDLE = {
    ("selectors.py", "select"),
    ("queue.py", "get"),
    ("threading.py", "wait"),
    ("core.py", "_connection_worker_thread"),  # aiosqlite's worker between jobs (SimpleQueue.get)
}


def _stack(frame: FrameType | None) -> list[tuple[str, str, int]]:
    out = []
    while frame is not None:
        code = frame.f_code
        out.append((code.co_filename, code.co_name, frame.f_lineno))
        frame = frame.f_back
    out.reverse()
    return out


class Sampler:
    def __init__(self, path: str, interval: float = 0.001) -> None:
        self.path = Path(path)
        self.interval = interval
        self.counts: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        me = threading.get_ident()
        names = {}
        while not self._stop.is_set():
            time.sleep(self.interval)
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                stack = _stack(frame)
                if not stack:
                    continue
                leaf_file, leaf_func, _ = stack[-1]
                if (Path(leaf_file).name, leaf_func) in IDLE:
                    continue
                if ident not in names:
                    names[ident] = next(
                        (t.name for t in threading.enumerate() if t.ident == ident), str(ident)
                    )
                thread = "main" if names[ident] == "MainThread" else "worker-thread"
                key = ";".join(
                    [thread] + [f"{Path(f).parent.name}/{Path(f).name}:{fn}" for f, fn, _ in stack]
                )
                self.counts[key] += 1
                self.samples += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with self.path.open("w") as out:
            for key, count in self.counts.most_common():
                out.write(f"{key} {count}\n")
