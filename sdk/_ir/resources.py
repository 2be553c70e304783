"""Resource flavors: the two forms a flavor value takes, and the flavor id the runner routes by.

A job's ``JobResource(flavor=...)`` is a string (``"cpu.small"``) or, as the manual writes it, a
JSON object: ``{"flavor_id": "cpu.small"}`` for a shared pool, ``{"pool_id": "...", "flavor_id":
"..."}`` for a dedicated one. Both name the same thing here: the flavor id picks the worker
task queue and the step's limits. There are no dedicated pools, so ``pool_id`` is accepted and
has no effect.
"""

from __future__ import annotations

from typing import Any

FLAVOR_FORMATS = ("flavor", "train_flavor")
"""``placeholder_format`` values that mark a placeholder as a resource flavor."""
FLAVOR_KEYS = frozenset({"flavor_id", "pool_id"})


def flavor_name(value: Any) -> str | None:
    """The flavor id of a resolved flavor value: a string is the id, a JSON flavor gives its
    ``flavor_id``; anything else (None, an empty id, another shape) is None, which means the
    default queue and limits."""
    if isinstance(value, dict):
        value = value.get("flavor_id")
    if isinstance(value, str) and value:
        return value
    return None


def flavor_problem(value: Any) -> str | None:
    """Why ``value`` is not a flavor value, or None: a non-empty string, or a JSON object with
    a string ``flavor_id`` (and optionally ``pool_id``)."""
    if isinstance(value, str):
        return None if value else "an empty flavor"
    if isinstance(value, dict):
        unknown = sorted(set(value) - FLAVOR_KEYS)
        if unknown or not isinstance(value.get("flavor_id"), str):
            return (
                f"{value!r} is not a flavor: give {{'flavor_id': ...}} or "
                "{'pool_id': ..., 'flavor_id': ...}"
            )
        return None
    return f"{value!r} is not a flavor (a flavor id, or {{'flavor_id': ...}})"
