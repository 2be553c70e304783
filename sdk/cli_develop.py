"""``gallery`` verbs for development runs: experiments (groups of runs) and ``next`` (step
through a debug run started with ``workflow.debug()``)."""

from __future__ import annotations

import argparse
from typing import Any

from sdk._errors import ApiError, ConfigurationError
from sdk._refs import EXECUTION_HELP, execution_label, resolve_execution
from sdk._session import Session
from sdk.cli import Command, _follow, _table, add_param_option
from sdk.cli_runs import _print_json, _when, compare_table


def _experiment(session: Session, ref: str, workspace: str) -> dict[str, Any]:
    """An experiment of the workspace by name or id."""
    rows = session.get(f"/workspaces/{workspace}/experiments")
    for row in rows:
        if ref in (row["name"], row["id"]):
            return dict(row)
    known = ", ".join(r["name"] for r in rows[:10]) or "none"
    raise ConfigurationError(
        f"workspace {workspace!r} has no experiment {ref!r} (experiments: {known})"
    )


def experiments(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery experiments",
        description="List a workspace's experiments (the groups development runs are recorded "
        "under: workflow.run(experiment_id=...)); with NAME, that experiment's runs, newest "
        "first, and with --compare their values and metrics side by side.",
    )
    parser.add_argument("name", nargs="?", help="an experiment's name or id")
    parser.add_argument("--workspace", "-w", default="default")
    parser.add_argument("--compare", action="store_true", help="compare the experiment's runs")
    parser.add_argument("--delete", action="store_true", help="delete the experiment (runs stay)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    from sdk._runs import duration

    with Session() as session:
        if args.name is None:
            if args.compare or args.delete:
                parser.error("--compare and --delete need an experiment NAME")
            rows = session.get(f"/workspaces/{args.workspace}/experiments")
            if args.json:
                return _print_json(rows)
            _table(
                ("EXPERIMENT", "RUNS", "LATEST", "CREATED", "ID"),
                [
                    (
                        r["name"],
                        str(r["runs"]),
                        r["latest_status"] or "-",
                        _when(r["created_at"]),
                        r["id"],
                    )
                    for r in rows
                ],
            )
            print(f"{len(rows)} experiment{'' if len(rows) == 1 else 's'} in {args.workspace}")
            return 0
        experiment = _experiment(session, args.name, args.workspace)
        if args.delete:
            session.request("DELETE", f"/experiments/{experiment['id']}")
            print(f"deleted experiment {experiment['name']!r} (its runs stay)")
            return 0
        runs = session.get(f"/experiments/{experiment['id']}/executions")
        if args.compare:
            if not runs:
                print(f"experiment {experiment['name']!r} has no runs to compare")
                return 0
            rows = session.get(
                "/executions/compare", params={"ids": ",".join(r["id"] for r in runs[:20])}
            )
            if args.json:
                return _print_json(rows)
            compare_table(rows)
            return 0
    if args.json:
        return _print_json(runs)
    _table(
        ("EXECUTION", "STATUS", "CURRENT STEP", "STARTED", "DURATION"),
        [
            (
                execution_label(r),
                r["status"],
                r.get("current_step") or "-",
                _when(r.get("started_at")),
                duration(r.get("duration_seconds")),
            )
            for r in runs
        ],
    )
    print(f"{len(runs)} run{'' if len(runs) == 1 else 's'} in experiment {experiment['name']!r}")
    return 0


def next_(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery next",
        description="Debug runs (workflow.debug()): start the next ready step, or --step, with "
        "placeholder values set first; then, with --follow, watch the run until it pauses "
        "again or ends.",
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("--step", help="start this ready step instead of the first one")
    add_param_option(parser, "placeholder value to set first")
    parser.add_argument("--follow", "-f", action="store_true", help="then watch the run")
    args = parser.parse_args(argv)
    from sdk._runs import parse_assignments, placeholders_of

    with Session() as session:
        execution_id = resolve_execution(session, args.execution)
        execution = session.get(f"/executions/{execution_id}")
        workflow = session.get(f"/workflows/{execution['workflow_id']}")
        try:
            values = parse_assignments(args.param, placeholders_of(workflow), "--param")
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        try:
            done = session.post(
                f"/executions/{execution_id}/next", json={"step": args.step, "values": values}
            )
        except ApiError as exc:
            if exc.status == 409:
                raise ConfigurationError(f"{execution_label(execution)}: {exc.detail}") from None
            raise
        print(f"started step {done['step']!r} of {execution_label(execution)}", flush=True)
        if args.follow:
            return _follow(session, execution_id)
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "experiments": (experiments, "list experiments, or one's runs (--compare to compare them)"),
    "next": (next_, "start the next step of a debug run (--param NAME=VALUE first)"),
}
