"""Runnable example workflows (kept working by the test suite)."""
