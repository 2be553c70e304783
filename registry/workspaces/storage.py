"""Object-store namespaces: every workspace owns the paths under ``/<owner>/<workspace>/``.

A step reads and writes only there (DESIGN.md §2). Data crosses workspaces as assets, never as
raw paths; the registry's own blobs (packages, logs) live outside ``objects/`` and cannot be
named by a step path at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.errors import FieldError
from sdk import spec as ir

NAMESPACE_RULE = "inside the workspace's namespace"


def namespace(owner: str, workspace: str) -> str:
    """The object-store directory a workspace owns, e.g. ``/alice/default/``."""
    return f"/{owner}/{workspace}/"


def parts(path: str) -> list[str] | None:
    """The segments of ``/<bucket>/<dir>/…``, or None when the path is not one (relative,
    empty, or with ``.``/``..`` segments)."""
    if not isinstance(path, str) or not path.startswith("/") or "\x00" in path:
        return None
    found = [p for p in path.split("/") if p]
    if not found or any(p in (".", "..") for p in found):
        return None
    return found


def within(path: str, space: str) -> bool:
    """Whether ``path`` lies inside the namespace ``space`` (segment by segment, never by a
    string prefix: ``/alice/default2/`` is not inside ``/alice/default/``)."""
    mine = parts(space)
    theirs = parts(path)
    if mine is None or theirs is None:
        return False
    return theirs[: len(mine)] == mine


OBJECTS_PREFIX = "objects"
"""Object-store paths live in the blob store under this prefix, beside packages and logs."""


def blob_key(segments: list[str]) -> str:
    """The blob key of an object-store path's segments (``/b/d/f`` → ``objects/b/d/f``): the
    one mapping the runner (writing) and the registry (serving outputs) share."""
    return "/".join([OBJECTS_PREFIX, *segments])


def outside_message(path: str, space: str) -> str:
    return (
        f"{path!r} is outside this workspace's storage namespace {space}; a workflow reads "
        f"and writes only under {space} (share data with other users as an asset)"
    )


def path_placeholders(spec: ir.WorkflowSpec) -> dict[str, bool]:
    """Placeholders whose values are object-store paths: name → True when the value is always
    one (an output's path), False when it is one if it starts with ``/`` (an input, or a
    placeholder of an ``obs`` format), as the runner reads them."""
    found: dict[str, bool] = {}
    for p in spec.placeholders:
        if p.format and p.format.startswith("obs"):
            found[p.name] = False
    for step in spec.steps:
        for item in step.inputs:
            if isinstance(item.data, ir.PlaceholderRef):
                found.setdefault(item.data.name, False)
        for out in step.outputs:
            if isinstance(out.path, ir.PlaceholderRef):
                found[out.path.name] = True
    return found


def check_paths(
    spec: ir.WorkflowSpec,
    space: str,
    *,
    values: Mapping[str, Any] = {},
    storages: Mapping[str, str] = {},
    values_field: str = "placeholders",
    storages_field: str = "storages",
) -> list[FieldError]:
    """One error per placeholder value or storage root that would reach outside ``space``."""
    errors: list[FieldError] = []
    paths = path_placeholders(spec)
    for name, value in values.items():
        if name not in paths or value is None:
            continue
        always = paths[name]
        if not isinstance(value, str) or not (always or value.startswith("/")):
            continue
        if not within(value, space):
            errors.append(
                FieldError(f"{values_field}.{name}", "namespace", outside_message(value, space))
            )
    for name, root in storages.items():
        if not within(root, space):
            errors.append(
                FieldError(f"{storages_field}.{name}", "namespace", outside_message(root, space))
            )
    return errors


PACKAGES_PREFIX = "workspace-packages/"


def package_key(workspace_id: int, sha256: str) -> str:
    """Where a workspace package (a development workflow's code) is stored: under its
    workspace's id, so a step finds only its own workspace's packages."""
    return f"{PACKAGES_PREFIX}{workspace_id}/{sha256}.tar.gz"
