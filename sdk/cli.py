"""The ``gallery`` command. SDK-side verbs live here; server verbs come from entry points
(group ``gallery.commands``) that the server packages declare, so the SDK imports none of them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import runpy
import socket
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from sdk._errors import ConfigurationError, GalleryError
from sdk._session import DEFAULT_URL, Session, save_credentials

Command = Callable[[list[str]], int]


def _server_commands() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="gallery.commands")}


def login(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gallery login", description="Sign in and keep a token.")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"server URL (default {DEFAULT_URL})")
    parser.add_argument("--username", "-u", required=True)
    parser.add_argument("--password", "-p", help="prompted for when omitted")
    parser.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    args = parser.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = args.password or getpass.getpass(f"Password for {args.username}: ")
    anonymous = Session(args.url, token="")
    grant = anonymous.post(
        "/auth/token",
        data={"grant_type": "password", "username": args.username, "password": password},
    )
    with Session(args.url, grant["access_token"]) as session:
        created = session.post(
            "/tokens",
            json={
                "name": f"cli-{socket.gethostname()}"[:64].replace(".", "-"),
                "expires_in_days": 90,
            },
        )
    path = save_credentials(args.url, created["token"], args.username)
    print(f"Signed in to {args.url} as {args.username}; token saved in {path}")
    return 0


def _token_name() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"cli-{socket.gethostname()}")[:64]


def search(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gallery search", description="Search the catalog.")
    parser.add_argument("query", nargs="*", help="words to look for")
    parser.add_argument("--kind", choices=["workflow", "algorithm", "model", "dataset"])
    parser.add_argument("--tag", action="append", default=[])
    parser.add_argument("--owner")
    parser.add_argument("--sort", choices=["popular", "newest", "name"], default="popular")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    params: dict[str, Any] = {"sort": args.sort, "page_size": max(1, min(args.limit, 100))}
    if args.query:
        params["q"] = " ".join(args.query)
    for key in ("kind", "owner"):
        if getattr(args, key):
            params[key] = getattr(args, key)
    if args.tag:
        params["tag"] = args.tag
    with Session() as session:
        page = session.get("/assets", params=params)
    if args.json:
        print(json.dumps(page, indent=2))
        return 0
    rows = [
        (
            item["content_id"],
            item["kind"],
            f"{item['owner']}/{item['name']}",
            item["latest_version"] or "-",
            str(item["subscription_count"]),
            item["title"],
        )
        for item in page["items"]
    ]
    _table(("CONTENT ID", "KIND", "NAME", "LATEST", "SUBS", "TITLE"), rows)
    print(f"{len(rows)} of {page['total']} assets")
    return 0


def _load_workflow(target: str) -> Any:
    from sdk._workflow import Workflow

    path, _, variable = target.partition(":")
    if not path.endswith(".py"):
        raise ConfigurationError(f"{target!r}: give a Python file, optionally FILE.py:VARIABLE")
    try:
        namespace = runpy.run_path(path, run_name="__gallery_publish__")
    except FileNotFoundError:
        raise ConfigurationError(f"no such file: {path}") from None
    except GalleryError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"cannot load {path}: {type(exc).__name__}: {exc}") from None
    if variable:
        found = namespace.get(variable)
        if not isinstance(found, Workflow):
            raise ConfigurationError(f"{path} has no wf.Workflow named {variable!r}")
        return found
    workflows = {k: v for k, v in namespace.items() if isinstance(v, Workflow)}
    if len(workflows) != 1:
        names = ", ".join(sorted(workflows)) or "none"
        raise ConfigurationError(
            f"{path} defines {len(workflows)} workflows ({names}); name one as FILE.py:VARIABLE"
        )
    return next(iter(workflows.values()))


def publish(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery publish", description="Publish a workflow (and its local algorithms)."
    )
    parser.add_argument("target", help="FILE.py or FILE.py:VARIABLE")
    parser.add_argument("--content-id", help="add a version to this existing workflow asset")
    parser.add_argument("--version", help="explicit semantic version (default: by the diff)")
    parser.add_argument("--title")
    parser.add_argument("--desc", help="description of this version")
    parser.add_argument("--visibility", choices=["public", "group", "private"], default="private")
    parser.add_argument(
        "--group-users", default="", help="comma-separated users and group:<name>s to share with"
    )
    args = parser.parse_args(argv)
    from sdk._publish import release_to_gallery

    workflow = _load_workflow(args.target)
    principals = [p.strip() for p in args.group_users.split(",") if p.strip()]
    with Session() as session:
        release = release_to_gallery(
            workflow,
            session,
            content_id=args.content_id,
            version=args.version,
            desc=args.desc,
            title=args.title,
            visibility=args.visibility,
            group_users=principals or None,
            progress=lambda line: print(line, flush=True),
        )
    state = "unchanged" if release.reused else f"{release.bump or 'first'} release"
    print(f"workflow {workflow.name}: {release.content_id}@{release.version} ({state})")
    return 0


def import_(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery import", description="Import a workflow version into a workspace."
    )
    parser.add_argument("source", help="CONTENT_ID or CONTENT_ID@VERSION (default: the latest)")
    parser.add_argument("--name", help="workflow name (default: workflow_xxxx)")
    parser.add_argument("--workspace", default="default")
    args = parser.parse_args(argv)
    content_id, _, version = args.source.partition("@")
    body: dict[str, Any] = {"content_id": content_id}
    if version:
        body["version"] = version
    if args.name:
        body["name"] = args.name
    with Session() as session:
        made = session.post(f"/workspaces/{args.workspace}/workflows", json=body)
    print(
        f"imported {made['source_content_id']}@{made['source_version']} as "
        f"{made['workspace']}/{made['name']} (workflow id {made['id']})"
    )
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


BUILTIN: dict[str, tuple[Command, str]] = {
    "login": (login, "sign in and store a personal access token"),
    "search": (search, "search the catalog"),
    "publish": (publish, "publish a workflow from FILE.py[:VARIABLE]"),
    "import": (import_, "import CONTENT_ID[@VERSION] into a workspace"),
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    server = _server_commands()
    if not args or args[0] in ("-h", "--help"):
        print("usage: gallery COMMAND [ARGS]\n\ncommands:")
        for name, (_, summary) in sorted(BUILTIN.items()):
            print(f"  {name:<10} {summary}")
        for name in sorted(server):
            print(f"  {name:<10} (server) see 'gallery {name} --help'")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    try:
        if name in BUILTIN:
            return BUILTIN[name][0](rest)
        if name in server:
            command: Command = server[name].load()
            return command(rest)
    except GalleryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    hint = (
        "" if server else " (server commands need the 'server' extra: pip install gallery[server])"
    )
    print(f"error: unknown command {name!r}{hint}; see 'gallery --help'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
