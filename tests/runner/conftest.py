"""The runner's integration tests use the ``temporal`` and ``runtime`` fixtures of
tests/conftest.py (shared with the web tests, so one set of servers serves both)."""

from __future__ import annotations

from tests.conftest import Runtime

__all__ = ["Runtime"]
