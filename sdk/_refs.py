"""How the CLI names executions: by id, ``WORKFLOW/execution-002`` or ``execution-002``.

One place turns what a user typed into an execution id (``resolve_execution``) and an execution
into what a user can paste back (``execution_label``). Names are looked up on the server
(``GET /executions?name=…&workflow=…``) among the executions of your workspaces, so another
user's execution is as unknown as one that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from sdk._errors import ConfigurationError
from sdk._session import Session

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

EXECUTION_NAME_RE = re.compile(r"^execution-(\d{1,9})$")
EXECUTION_HELP = (
    "execution id, WORKFLOW/execution-NNN, or execution-NNN when only one of your workflows has it"
)
"""The ``help`` of every ``EXECUTION`` argument."""
MAX_CANDIDATES = 10


def execution_label(execution: dict[str, Any]) -> str:
    """The name a user can paste back: ``WORKFLOW/execution-002``, or
    ``WORKSPACE/WORKFLOW/execution-002`` outside the default workspace (of an execution, a
    summary, a to-do item or a comparison row)."""
    name = execution.get("execution_name") or execution["name"]
    workspace = execution.get("workspace")
    if workspace and workspace != "default":
        return f"{workspace}/{execution['workflow_name']}/{name}"
    return f"{execution['workflow_name']}/{name}"


def resolve_execution(session: Session, ref: str) -> str:
    """The id of the execution ``ref`` names: an id as it is (the server answers for it),
    else ``[WORKSPACE/]WORKFLOW/execution-NNN`` or ``execution-NNN`` looked up among your
    executions. Unknown → ``no execution …``; several → one line listing the candidates."""
    ref = ref.strip()
    if UUID_RE.fullmatch(ref):
        return ref
    parts = ref.split("/")
    if len(parts) > 3 or not EXECUTION_NAME_RE.fullmatch(parts[-1]) or not all(parts):
        raise ConfigurationError(
            f"{ref!r} is not an execution: give its id, WORKFLOW/execution-NNN or execution-NNN"
        )
    params: dict[str, Any] = {"name": parts[-1], "limit": MAX_CANDIDATES + 1}
    if len(parts) >= 2:
        params["workflow"] = parts[-2]
    if len(parts) == 3:
        params["workspace"] = parts[0]
    found = session.get("/executions", params=params)
    if not found:
        raise ConfigurationError(f"no execution {ref!r}")
    if len(found) == 1:
        return str(found[0]["id"])
    labels = [execution_label(e) for e in found]
    if len(set(labels)) < len(labels):  # one workflow name in several workspaces
        labels = [f"{e['workspace']}/{label}" for e, label in zip(found, labels, strict=True)]
    shown = ", ".join(labels[:MAX_CANDIDATES]) + (", ..." if len(labels) > MAX_CANDIDATES else "")
    raise ConfigurationError(f"{ref!r} is ambiguous: it could be {shown}; give one of them")
