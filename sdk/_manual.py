"""Top-level names of the manual's import list (§5.12.4) that have no Gallery object of their
own: ``wf.SystemEnv`` (what a step learns about its run, as environment variables) and
``wf.Subgraph`` (refused: nested workflows do not exist here). Both are undocumented in the
manual beyond their names; docs/sdk.md says what each means here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sdk._errors import WorkflowDefinitionError


class SystemEnv(StrEnum):
    """What the runner tells every job about its run, as environment variables of the job's
    process: each member *is* the variable's name, so step code reads
    ``os.environ[wf.SystemEnv.EXECUTION_ID]``. They are not values a definition can pass:
    a SystemEnv as an algorithm parameter or input is refused at compile time."""

    EXECUTION_ID = "GALLERY_EXECUTION_ID"
    STEP_NAME = "GALLERY_STEP"
    ATTEMPT = "GALLERY_ATTEMPT"


class Subgraph:
    """Refused at construction: a workflow here is one flat DAG of steps."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = kwargs.get("name", args[0] if args else None)
        label = f"Subgraph {name!r}" if isinstance(name, str) else "Subgraph"
        raise WorkflowDefinitionError(
            f"{label}: nested workflows are not supported, a Gallery workflow is one DAG of "
            "steps; list the subgraph's steps in Workflow(steps=...) (their depend_steps keep "
            "the order), and define a wf.policy.Scene of them to run them on their own"
        )
