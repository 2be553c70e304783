"""Experiments: the named groups of development runs of a workspace
(``workflow.run(experiment_id=…)``), listed and compared from Python as from the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sdk._errors import ConfigurationError
from sdk._execution import Execution
from sdk._session import Session

MAX_COMPARED = 20
"""The most runs ``compare()`` puts side by side (the server's limit)."""


@dataclass
class Experiment:
    """One experiment as the server last described it; ``executions()`` and ``compare()``
    read its runs."""

    session: Session = field(repr=False)
    id: str
    name: str
    workspace: str
    runs: int
    latest_status: str | None
    data: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_json(cls, session: Session, data: dict[str, Any]) -> Experiment:
        return cls(
            session,
            str(data["id"]),
            str(data["name"]),
            str(data["workspace"]),
            int(data["runs"]),
            data.get("latest_status"),
            data,
        )

    def executions(self) -> list[Execution]:
        """Its runs, newest first, as live handles."""
        rows = self.session.get(f"/experiments/{self.id}/executions")
        return [Execution(self.session, self.session.get(f"/executions/{r['id']}")) for r in rows]

    def compare(self, last: int = MAX_COMPARED) -> list[dict[str, Any]]:
        """Its latest ``last`` runs side by side, newest first: for each, ``name``,
        ``status``, ``duration_seconds``, ``parameters`` and ``metrics`` (``step.key`` → the
        float metrics its steps reported), as ``GET /executions/compare`` answers."""
        rows = self.session.get(f"/experiments/{self.id}/executions")[: max(1, min(last, 20))]
        if not rows:
            return []
        answer: list[dict[str, Any]] = self.session.get(
            "/executions/compare", params={"ids": ",".join(r["id"] for r in rows)}
        )
        return answer

    def delete(self) -> None:
        """Delete the experiment; its runs stay, outside any experiment (refused while one
        of them is open)."""
        self.session.request("DELETE", f"/experiments/{self.id}")


def experiments(session: Session, workspace: str = "default") -> list[Experiment]:
    rows = session.get(f"/workspaces/{quote(workspace, safe='')}/experiments")
    return [Experiment.from_json(session, row) for row in rows]


def find_experiment(session: Session, ref: str, workspace: str = "default") -> Experiment:
    """The workspace's experiment of this name (or id); ConfigurationError naming the
    others when there is none."""
    found = experiments(session, workspace)
    for experiment in found:
        if ref in (experiment.name, experiment.id):
            return experiment
    known = ", ".join(repr(e.name) for e in found[:10]) or "none"
    raise ConfigurationError(
        f"workspace {workspace!r} has no experiment {ref!r} (experiments: {known})"
    )
