"""Where a workflow lives (``wf.resource``): ``Workflow(workspace=wf.resource.Workspace(...))``.

A Gallery workspace is known by its name (every user has ``default``), so the manual's
``workspace_id`` is the workspace's name: ``wf.resource.Workspace(workspace_id="team-a")`` is
the workspace ``team-a``, which ``release()``, ``release_and_run()`` and ``run()`` use when
they are not given one.
"""

from __future__ import annotations

from sdk._placeholder import check_name


class Workspace:
    """A workspace, by name (``workspace_id`` is the name; there are no numeric ids)."""

    def __init__(self, workspace_id: str) -> None:
        self.workspace_id = check_name("workspace", workspace_id)

    @property
    def name(self) -> str:
        return self.workspace_id

    def __repr__(self) -> str:
        return f"Workspace({self.workspace_id!r})"


__all__ = ["Workspace"]
