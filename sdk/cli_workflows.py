"""``gallery`` verbs for workflows in workspaces: list, configure, copy, rename, delete, tag.

A WORKFLOW argument is a runtime workflow id, or a workflow's name in ``--workspace`` (the
``default`` one unless told), found as ``gallery run`` finds it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import quote

from sdk._errors import ApiError, ConfigurationError
from sdk._session import Session
from sdk.cli import (
    Command,
    _table,
    _values,
    add_param_option,
    apply_changes,
    removals_as_words,
    signed_words,
)
from sdk.vocabulary import ExecutionStatus

STATUSES = ", ".join(ExecutionStatus) + ", or none (never run)"


def _parser(prog: str, description: str, *, workflow: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"gallery {prog}", description=description)
    if workflow:
        parser.add_argument("workflow", help="workflow id, or its name in the workspace")
    parser.add_argument(
        "--workspace", "-w", default="default", help="the workspace (default: default)"
    )
    parser.add_argument("--json", action="store_true", help="print the server's JSON answer")
    return parser


def _find(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    from sdk._runs import find_workflow

    return find_workflow(session, args.workflow, args.workspace)


def _where(workflow: dict[str, Any]) -> str:
    return f"{workflow['workspace']}/{workflow['name']}"


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _text(value: Any) -> str:
    """A value as a user would type it after ``NAME=``."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value if value.strip() == value and value else json.dumps(value)
    return json.dumps(value)


# --- workflows ---------------------------------------------------------------------------------


def workflows(argv: list[str]) -> int:
    parser = _parser(
        "workflows",
        "List the workflows of a workspace with their source and the status of their latest "
        "execution.",
        workflow=False,
    )
    parser.add_argument("text", nargs="?", help="only workflows whose name contains this")
    parser.add_argument("--status", help=f"status of the latest execution: {STATUSES}")
    parser.add_argument("--tag", help="only workflows with this tag")
    args = parser.parse_args(argv)
    params = {
        key: value
        for key, value in (("q", args.text), ("status", args.status), ("tag", args.tag))
        if value
    }
    with Session() as session:
        rows = session.get(f"/workspaces/{quote(args.workspace, safe='')}/workflows", params=params)
    if args.json:
        _print_json(rows)
        return 0
    chosen = ", ".join(f"{k}={v}" for k, v in params.items())
    if not rows:
        print(f"no workflows in workspace {args.workspace!r}" + (f" ({chosen})" if chosen else ""))
        return 0
    table = [
        (
            row["name"],
            f"{row['source_content_id']}@{row['source_version']}"
            if row.get("source_content_id")
            else "released from the SDK",
            row.get("status") or "never run",
            row.get("latest_execution") or "-",
            ", ".join(row.get("tags") or []) or "-",
            row["id"],
        )
        for row in rows
    ]
    _table(("NAME", "SOURCE", "STATUS", "LATEST RUN", "TAGS", "ID"), table)
    count = f"{len(rows)} workflow{'' if len(rows) == 1 else 's'}"
    print(f"{count} in {args.workspace}" + (f" ({chosen})" if chosen else ""))
    return 0


# --- config ------------------------------------------------------------------------------------


def _kind(placeholder: dict[str, Any]) -> str:
    kind = str(placeholder.get("type"))
    if kind == "enum":
        return "enum: " + " | ".join(_text(v) for v in placeholder.get("enum_list") or [])
    if kind == "list" and placeholder.get("format"):
        return f"list of {placeholder['format']}"
    if placeholder.get("format"):
        return f"{kind} ({placeholder['format']})"
    return kind


def _note(placeholder: dict[str, Any], saved: bool) -> str:
    notes = []
    if placeholder.get("delay"):
        notes.append("asked for while running")
    elif placeholder.get("required", True) and placeholder.get("default") is None and not saved:
        notes.append("required: no value yet")
    description = str(placeholder.get("description") or "").strip()
    if description:
        first = description.splitlines()[0]
        notes.append(first if len(first) <= 50 else first[:49] + "…")
    return "; ".join(notes)


def _show_config(workflow: dict[str, Any]) -> None:
    spec = workflow.get("spec") or {}
    config = workflow.get("config") or {}
    source = (
        f"{workflow['source_content_id']}@{workflow['source_version']}"
        if workflow.get("source_content_id")
        else "released from the SDK"
    )
    print(f"workflow {_where(workflow)} (id {workflow['id']}), from {source}")
    values = config.get("placeholders") or {}
    placeholders = spec.get("placeholders") or []
    if placeholders:
        rows: list[tuple[str, ...]] = [
            (
                p["name"],
                _kind(p),
                _text(p.get("default")),
                _text(values[p["name"]]) if p["name"] in values else "-",
                _note(p, p["name"] in values),
            )
            for p in placeholders
        ]
        print()
        _table(("PARAMETER", "TYPE", "DEFAULT", "VALUE", "NOTE"), rows)
    else:
        print("no parameters")
    roots = config.get("storages") or {}
    storages = spec.get("storages") or []
    if storages:
        rows = [
            (s["name"], s.get("kind") or "storage", roots.get(s["name"]) or "- (not set)")
            for s in storages
        ]
        print()
        _table(("STORAGE", "KIND", "ROOT"), rows)
    scenes = spec.get("scenes") or []
    scene = config.get("scene")
    print()
    if scene:
        steps: list[str] = next((s["steps"] for s in scenes if s["name"] == scene), [])
        print(f"scene: {scene} (runs {', '.join(steps)})")
    else:
        print("scene: none (runs every step)")
    others = [s["name"] for s in scenes if s["name"] != scene]
    if others:
        print(f"other scenes: {', '.join(others)}")


def _assignments(pairs: list[str], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(f"{option} takes NAME=VALUE, not {pair!r}")
        found[name.strip()] = value
    return found


OPTION_OF = {"placeholders": "--param", "storages": "--storage", "scene": "--scene"}


def _option(field: str) -> str:
    """``placeholders.c`` → ``--param c``: the server's field as the option that set it."""
    head, _, rest = field.partition(".")
    option = OPTION_OF.get(head)
    if option is None:
        return field
    return f"{option} {rest}" if rest else option


def config(argv: list[str]) -> int:
    parser = _parser(
        "config",
        "Show a workflow's configuration (parameters, storage roots, scene), or change it: the "
        "options given are saved, the rest stays.",
    )
    add_param_option(parser, "save a parameter value")
    parser.add_argument(
        "--storage",
        "-s",
        action="append",
        default=[],
        metavar="NAME=/BUCKET/DIR/",
        help="save a storage root inside the workspace's directory (repeatable)",
    )
    scene = parser.add_mutually_exclusive_group()
    scene.add_argument("--scene", help="run only this scene from now on")
    scene.add_argument("--no-scene", action="store_true", help="run every step again")
    parser.add_argument(
        "--unset",
        action="append",
        default=[],
        metavar="NAME",
        help="forget the saved value of a parameter or storage root (repeatable)",
    )
    args = parser.parse_args(argv)
    with Session() as session:
        workflow = _find(session, args)
        changing = args.param or args.storage or args.scene or args.no_scene or args.unset
        if not changing:
            if args.json:
                _print_json(workflow)
            else:
                _show_config(workflow)
            return 0
        current = workflow.get("config") or {}
        placeholders = dict(current.get("placeholders") or {})
        storages = dict(current.get("storages") or {})
        spec = workflow.get("spec") or {}
        known = {p["name"] for p in spec.get("placeholders") or []} | {
            s["name"] for s in spec.get("storages") or []
        }
        for name in args.unset:
            if name not in known:
                raise ConfigurationError(
                    f"--unset {name}: workflow {workflow['name']!r} has no parameter or storage "
                    f"{name!r} ({', '.join(sorted(known)) or 'none'})"
                )
            placeholders.pop(name, None)
            storages.pop(name, None)
        placeholders.update(_values(args.param, workflow, "--param"))
        storages.update(_assignments(args.storage, "--storage"))
        chosen = None if args.no_scene else (args.scene or current.get("scene"))
        body = {"placeholders": placeholders, "storages": storages, "scene": chosen}
        try:
            saved = session.request(
                "PUT", f"/workflows/{quote(workflow['id'], safe='')}/config", json=body
            )
        except ApiError as exc:
            if exc.status != 422 or not exc.errors:
                raise
            print(
                f"error: the configuration of {_where(workflow)} was refused; nothing was saved:",
                file=sys.stderr,
            )
            for error in exc.errors:
                where = _option(str(error.get("field", "")))
                print(f"  {where}: {error.get('message', error.get('rule'))}", file=sys.stderr)
            return 1
    if args.json:
        _print_json(saved)
        return 0
    print(f"saved the configuration of {_where(saved)}\n")
    _show_config(saved)
    return 0


# --- copy, rename, delete, tag -----------------------------------------------------------------


def copy(argv: list[str]) -> int:
    parser = _parser(
        "copy",
        "Make a twin of a workflow in its workspace, with the same spec, configuration and tags.",
    )
    parser.add_argument("new_name", nargs="?", help="the twin's name (default: <name>_copy)")
    args = parser.parse_args(argv)
    body = {"name": args.new_name} if args.new_name else None
    with Session() as session:
        workflow = _find(session, args)
        twin = session.post(f"/workflows/{quote(workflow['id'], safe='')}/copy", json=body)
    if args.json:
        _print_json(twin)
        return 0
    print(f"copied {_where(workflow)} to {_where(twin)} (workflow id {twin['id']})")
    return 0


def rename(argv: list[str]) -> int:
    parser = _parser("rename", "Rename a workflow (its id and executions stay).")
    parser.add_argument("new_name", help="the new name")
    args = parser.parse_args(argv)
    with Session() as session:
        workflow = _find(session, args)
        renamed = session.request(
            "PATCH", f"/workflows/{quote(workflow['id'], safe='')}", json={"name": args.new_name}
        )
    if args.json:
        _print_json(renamed)
        return 0
    print(f"renamed {_where(workflow)} to {_where(renamed)}")
    return 0


def _confirmed(workflow: dict[str, Any]) -> bool:
    """On a terminal, the user types the workflow's name; elsewhere only ``--yes`` does."""
    if not sys.stdin.isatty():
        raise ConfigurationError(
            f"not deleting {_where(workflow)}: confirm with --yes (no terminal to ask on)"
        )
    print(f"Deleting {_where(workflow)} removes it and the records of its executions.", flush=True)
    try:
        typed = input(f"Type its name ({workflow['name']}) to delete it: ")
    except EOFError:
        typed = ""
    return typed.strip() == str(workflow["name"])


def delete(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery delete",
        description="Delete a workflow and its execution records (not while one runs). On a "
        "terminal you type its name to confirm; elsewhere give --yes.",
    )
    parser.add_argument("workflow", help="workflow id, or its name in the workspace")
    parser.add_argument(
        "--workspace", "-w", default="default", help="the workspace (default: default)"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask; delete it")
    args = parser.parse_args(argv)
    with Session() as session:
        workflow = _find(session, args)
        if not args.yes and not _confirmed(workflow):
            raise ConfigurationError(f"the name did not match; {_where(workflow)} was kept")
        session.request("DELETE", f"/workflows/{quote(workflow['id'], safe='')}")
    print(f"deleted {_where(workflow)}")
    return 0


def tag(argv: list[str]) -> int:
    parser = _parser(
        "tag",
        "Show or change a workflow's tags: +TAG (or TAG) adds, -TAG removes; with none, show "
        "them. Tags are lower case.",
    )
    parser.add_argument("tags", nargs="*", metavar="+TAG|-TAG", help="tags to add or remove")
    args = parser.parse_args(removals_as_words(argv, options=("-h", "-w")))
    changes = signed_words(args.tags)
    with Session() as session:
        workflow = _find(session, args)
        if changes:
            tags = apply_changes(workflow.get("tags") or [], changes, "TAG")
            workflow = session.request(
                "PATCH", f"/workflows/{quote(workflow['id'], safe='')}", json={"tags": tags}
            )
    if args.json:
        _print_json(workflow)
        return 0
    shown = ", ".join(workflow.get("tags") or []) or "(no tags)"
    print(f"{_where(workflow)}: {shown}")
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "workflows": (workflows, "list a workspace's workflows (--status, --tag)"),
    "config": (config, "show or set a workflow's parameters, storage roots and scene"),
    "copy": (copy, "copy a workflow under a new name"),
    "rename": (rename, "rename a workflow"),
    "delete": (delete, "delete a workflow (asks you to type its name, or --yes)"),
    "tag": (tag, "show, add (+TAG) or remove (-TAG) a workflow's tags"),
}
