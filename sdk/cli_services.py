"""``gallery services``: the model services deployed by ServiceStep (list, delete)."""

from __future__ import annotations

import argparse
from typing import Any

from sdk._errors import ConfigurationError
from sdk._session import Session
from sdk.cli import Command, _table
from sdk.cli_runs import _print_json, _when


def _find(session: Session, ref: str, workspace: str) -> dict[str, Any]:
    """A service of the workspace by name or id."""
    rows = session.get(f"/workspaces/{workspace}/services")
    for row in rows:
        if ref in (row["name"], row["id"]):
            return dict(row)
    known = ", ".join(r["name"] for r in rows[:10]) or "none"
    raise ConfigurationError(f"workspace {workspace!r} has no service {ref!r} (services: {known})")


def services(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery services",
        description="List a workspace's deployed model services (ServiceStep), or delete one: "
        "`gallery services delete NAME|ID` stops its process.",
    )
    parser.add_argument("action", nargs="?", choices=["list", "delete"], default="list")
    parser.add_argument("name", nargs="?", help="the service's name or id (delete)")
    parser.add_argument("--workspace", "-w", default="default")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    with Session() as session:
        if args.action == "delete":
            if not args.name:
                parser.error("delete needs the service's NAME or ID")
            found = _find(session, args.name, args.workspace)
            answer = session.request("DELETE", f"/services/{found['id']}")
            if args.json:
                return _print_json(answer)
            print(f"Deleting service {found['name']} ({found['endpoint']}): its process stops")
            return 0
        if args.name:
            parser.error("NAME goes with delete only")
        rows = session.get(f"/workspaces/{args.workspace}/services")
        if args.json:
            return _print_json(rows)
        if not rows:
            print(f"No services in workspace {args.workspace!r}")
            return 0
        _table(
            ("SERVICE", "STATUS", "ENDPOINT", "MODEL", "NOTE", "UPDATED", "ID"),
            [
                (
                    r["name"],
                    r["status"],
                    r["endpoint"],
                    r["model"],
                    r["note"],
                    _when(r["updated_at"]),
                    r["id"],
                )
                for r in rows
            ],
        )
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "services": (services, "list deployed model services, or delete one (delete NAME)"),
}
