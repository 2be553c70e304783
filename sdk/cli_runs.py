"""``gallery`` verbs for executions: list, label, rerun, compare, to-do, outputs.

Executions are named as ``sdk._refs`` reads them (id, ``WORKFLOW/execution-002`` or
``execution-002``) and printed as ``WORKFLOW/execution-002``, which can be pasted back.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sdk._refs import EXECUTION_HELP, execution_label, resolve_execution
from sdk._session import Session
from sdk.cli import Command, _follow, _table, apply_changes, removals_as_words, signed_words
from sdk.vocabulary import ExecutionStatus

EXECUTION_STATUSES = tuple(ExecutionStatus)


def _print_json(data: Any) -> int:
    print(json.dumps(data, indent=2))
    return 0


def _when(stamp: str | None) -> str:
    """A server timestamp in local time, to the second."""
    if not stamp:
        return "-"
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def executions(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery executions", description="List the executions of a workflow, newest first."
    )
    parser.add_argument("workflow", help="runtime workflow id, or its name in the workspace")
    parser.add_argument("--workspace", "-w", default="default")
    parser.add_argument("--status", choices=EXECUTION_STATUSES, help="only executions in it")
    parser.add_argument("--label", help="only executions with this label")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    from sdk._runs import duration, find_workflow

    params = {k: v for k, v in (("status", args.status), ("label", args.label)) if v}
    with Session() as session:
        workflow = find_workflow(session, args.workflow, args.workspace)
        rows = session.get(f"/workflows/{workflow['id']}/executions", params=params)
    if args.json:
        return _print_json(rows)
    _table(
        ("EXECUTION", "STATUS", "CURRENT STEP", "STARTED", "DURATION", "LABELS"),
        [
            (
                execution_label(row),
                row["status"],
                row.get("current_step") or "-",
                _when(row.get("started_at")),
                duration(row.get("duration_seconds")),
                ", ".join(row["labels"]) or "-",
            )
            for row in rows
        ],
    )
    plural = "" if len(rows) == 1 else "s"
    print(f"{len(rows)} execution{plural} of {workflow['workspace']}/{workflow['name']}")
    return 0


def label(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery label",
        description="Show or change an execution's labels: +LABEL (or LABEL) adds, -LABEL "
        "removes; with none, show them. Labels are lower case.",
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("changes", nargs="*", metavar="+LABEL|-LABEL")
    parser.add_argument("--json", action="store_true", help="print the execution's JSON")
    args = parser.parse_args(removals_as_words(argv))
    changes = signed_words(args.changes)
    with Session() as session:
        execution_id = resolve_execution(session, args.execution)
        execution = session.get(f"/executions/{execution_id}")
        labels = apply_changes(execution["labels"], changes, "LABEL")
        if changes:
            execution = session.request(
                "PATCH", f"/executions/{execution_id}", json={"labels": labels}
            )
    if args.json:
        return _print_json(execution)
    print(f"{execution_label(execution)}: labels {', '.join(execution['labels']) or '(none)'}")
    return 0


def rerun(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery rerun",
        description="Start a new execution of the same workflow with an earlier execution's "
        "placeholder values, scene and labels.",
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("--follow", "-f", action="store_true", help="watch it until it ends")
    parser.add_argument("--json", action="store_true", help="print the new execution's JSON")
    args = parser.parse_args(argv)
    with Session() as session:
        execution_id = resolve_execution(session, args.execution)
        made = session.post(f"/executions/{execution_id}/rerun")
        if args.json:
            return _print_json(made)
        print(
            f"started {execution_label(made)} as a rerun of {args.execution} "
            f"(execution id {made['id']})",
            flush=True,
        )
        if args.follow:
            return _follow(session, made["id"])
    return 0


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value)


def compare(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery compare",
        description="Compare executions side by side: status, start, duration, placeholder "
        "values and the float metrics their steps reported (as STEP.KEY).",
    )
    parser.add_argument("executions", nargs="+", metavar="EXECUTION", help=EXECUTION_HELP)
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    with Session() as session:
        ids = [resolve_execution(session, ref) for ref in args.executions]
        rows = session.get("/executions/compare", params={"ids": ",".join(ids)})
    if args.json:
        return _print_json(rows)
    compare_table(rows)
    return 0


def compare_table(rows: list[dict[str, Any]]) -> None:
    """Runs side by side (``GET /executions/compare`` rows): one column per run."""
    from sdk._runs import duration

    table: list[tuple[str, ...]] = [
        ("status", *(r["status"] for r in rows)),
        ("started", *(_when(r.get("started_at")) for r in rows)),
        ("duration", *(duration(r.get("duration_seconds")) for r in rows)),
    ]
    parameters = sorted({name for r in rows for name in r["parameters"]})
    table += [(name, *(_shown(r["parameters"].get(name)) for r in rows)) for name in parameters]
    metrics = sorted({key for r in rows for key in r["metrics"]})
    table += [(key, *(_shown(r["metrics"].get(key)) for r in rows)) for key in metrics]
    _table(("", *(execution_label(r) for r in rows)), table)
    if not parameters and not metrics:
        print("(no placeholder values or float metrics to compare)")


def todo(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery todo",
        description="List the steps waiting for your input, with the command that continues each.",
    )
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    from sdk._runs import continue_command, step_note

    with Session() as session:
        items = session.get("/todo")
    if args.json:
        return _print_json(items)
    if not items:
        print("nothing waits for your input")
        return 0
    rows = []
    for item in items:
        name = execution_label(item)
        step = {"name": item["step"], "status": "waiting_input", "waiting_for": item["waiting_for"]}
        rows.append(
            (
                name,
                item["step"],
                step_note(step).removeprefix("waits for ") or "-",
                continue_command(item, step),
            )
        )
    _table(("EXECUTION", "STEP", "WAITS FOR", "CONTINUE WITH"), rows)
    return 0


def _size(count: int) -> str:
    amount = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{count} B"


def outputs(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery outputs",
        description="Download a step's outputs into a folder (as OUTPUT/...): all of them, "
        "one output, or a file or folder inside one.",
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("step")
    parser.add_argument(
        "path", nargs="?", default="", help="OUTPUT or OUTPUT/PATH (default: every output)"
    )
    parser.add_argument("--to", default=".", metavar="DIR", help="where to save (default: .)")
    args = parser.parse_args(argv)
    from sdk._runs import find_step, output_path, read_execution, save, unpack

    target = Path(args.to)
    wanted = output_path(args.path)
    with Session() as session:
        execution_id = resolve_execution(session, args.execution)
        execution = read_execution(session, execution_id)
        find_step(execution, args.step)
        name = execution_label(execution)
        url = f"/executions/{execution_id}/steps/{quote(args.step, safe='')}/outputs"
        if wanted:
            url += "/" + quote(wanted, safe="/")
        what = f"{wanted!r}" if wanted else "the outputs"
        what += f" of step {args.step!r} of {name}"
        print(f"downloading {what} ...", flush=True)
        with session.stream(url) as answer:
            if answer.headers.get("X-Output-Kind") == "file":
                saved = target.joinpath(*wanted.split("/"))
                size = save(answer, saved)
                print(f"saved {saved} ({_size(size)})")
                return 0
            target.mkdir(parents=True, exist_ok=True)
            files, size = unpack(answer, target)
    print(f"saved {files} file{'' if files == 1 else 's'} ({_size(size)}) in {target}")
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "executions": (executions, "list a workflow's executions (--status, --label)"),
    "label": (label, "add (+LABEL) or remove (-LABEL) labels of an execution"),
    "rerun": (rerun, "start an execution again with the same values (--follow to watch it)"),
    "compare": (compare, "compare executions' parameters and metrics side by side"),
    "todo": (todo, "list the steps waiting for your input, and how to continue them"),
    "outputs": (outputs, "download a step's outputs (--to DIR)"),
}
