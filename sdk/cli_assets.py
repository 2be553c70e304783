"""``gallery`` verbs for assets and subscriptions: subscribe, unsubscribe, subscriptions,
versions, visibility, whitelist, deprecate, yank."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sdk._errors import GalleryError
from sdk._session import Session
from sdk.cli import Command, _table


def _path(*segments: str) -> str:
    """``/assets/<id>/…`` with each segment quoted, so an argument stays one path segment."""
    return "".join("/" + quote(segment, safe="") for segment in segments)


# What the server's content ids and semantic versions are made of: anything else (a '/', a
# '..') is refused here, before it could reach another path of the API.
_CONTENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]{0,127}")


def _content_id(text: str) -> str:
    content_id = text.strip()
    if not content_id:
        raise GalleryError("give the asset's content id (see 'gallery search')")
    if "@" in content_id:
        raise GalleryError(f"{text!r}: give a content id without @VERSION")
    if not _CONTENT_ID.fullmatch(content_id):
        raise GalleryError(f"{text!r} is not a content id (see 'gallery search')")
    return content_id


def _version_ref(text: str) -> tuple[str, str]:
    """``CONTENT_ID@VERSION`` → (content id, version); a missing part is a one-line error."""
    content_id, at, version = text.strip().partition("@")
    if not at or not content_id or not version:
        raise GalleryError(f"{text!r}: give CONTENT_ID@VERSION, e.g. 1b2c…@1.0.0")
    if not _VERSION.fullmatch(version):
        raise GalleryError(f"{version!r} is not a version (e.g. 1.0.0; see 'gallery versions')")
    return _content_id(content_id), version


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _date(value: str | None) -> str:
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _asset_name(asset: dict[str, Any]) -> str:
    return f"{asset['owner']}/{asset['name']} ({asset['content_id']})"


def _with_json(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--json", action="store_true", help="print the server's JSON answer")
    return parser


# --- subscriptions -------------------------------------------------------------------------


def subscribe(argv: list[str]) -> int:
    parser = _with_json(
        argparse.ArgumentParser(
            prog="gallery subscribe",
            description="Subscribe to an asset (hear of its new versions) after accepting its "
            "terms.",
        )
    )
    parser.add_argument("content_id", help="the asset's content id")
    parser.add_argument(
        "--accept-terms", action="store_true", help="accept the asset's terms (shown first)"
    )
    args = parser.parse_args(argv)
    content_id = _content_id(args.content_id)
    with Session() as session:
        asset = session.get(_path("assets", content_id))
        terms = str(asset.get("terms") or "").strip()
        # With --json, stdout carries only the answer: the terms go to stderr.
        out = sys.stderr if args.json else sys.stdout
        if terms:
            print(f"Terms of {_asset_name(asset)}:", file=out)
            for line in terms.splitlines():
                print(f"  {line}", file=out)
        else:
            print(f"{_asset_name(asset)} states no terms of its own.", file=out)
        if not args.accept_terms:
            raise GalleryError(
                f"not subscribed to {content_id}: read its terms and re-run with "
                f"'gallery subscribe {content_id} --accept-terms' to accept them"
            )
        answer = session.response(
            "POST", _path("assets", content_id, "subscription"), json={"accept_terms": True}
        )
    read = answer.json()
    if args.json:
        _print_json(read)
        return 0
    already = answer.status_code == 200
    latest = read.get("latest_version") or "no version yet"
    print(
        f"{'already subscribed' if already else 'subscribed'} to {_asset_name(read)}: "
        f"latest version {latest}"
    )
    return 0


def unsubscribe(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery unsubscribe", description="Stop following an asset's new versions."
    )
    parser.add_argument("content_id", help="the asset's content id")
    args = parser.parse_args(argv)
    content_id = _content_id(args.content_id)
    with Session() as session:
        mine = {s["content_id"] for s in session.get("/subscriptions")}
        session.request("DELETE", _path("assets", content_id, "subscription"))
    if content_id in mine:
        print(f"unsubscribed from {content_id}")
    else:
        print(f"you were not subscribed to {content_id}; nothing changed")
    return 0


def subscriptions(argv: list[str]) -> int:
    args = _with_json(
        argparse.ArgumentParser(
            prog="gallery subscriptions",
            description="List the assets you subscribe to and whether a new version is out.",
        )
    ).parse_args(argv)
    with Session() as session:
        found = session.get("/subscriptions")
    if args.json:
        _print_json(found)
        return 0
    if not found:
        print("no subscriptions (subscribe with 'gallery subscribe CONTENT_ID --accept-terms')")
        return 0
    rows = []
    for item in found:
        subscribed = item.get("subscribed_version") or "-"
        latest = item.get("latest_version") or "-"
        note = ""
        if item.get("update_available"):
            note = f"new version available: {latest}"
        rows.append(
            (
                item["content_id"],
                f"{item['owner']}/{item['name']}",
                item["title"],
                f"{subscribed}/{latest}",
                note,
            )
        )
    _table(("CONTENT ID", "ASSET", "TITLE", "SUBSCRIBED/LATEST", "NEWS"), rows)
    return 0


# --- versions ------------------------------------------------------------------------------


def _changes(version: dict[str, Any]) -> str:
    """What the version changed: its interface changes against the previous one (as the
    server computes them), then the publisher's description."""
    parts = []
    changes = version.get("changes") or []
    if changes:
        parts.append(f"{version.get('bump')}: " + "; ".join(c["message"] for c in changes))
    description = str(version.get("description") or "").strip()
    if description:
        first = description.splitlines()[0]
        parts.append(first if len(first) <= 60 else first[:59] + "…")
    return " — ".join(parts) or "-"


def versions(argv: list[str]) -> int:
    parser = _with_json(
        argparse.ArgumentParser(
            prog="gallery versions", description="List the versions of an asset you can read."
        )
    )
    parser.add_argument("content_id", help="the asset's content id")
    args = parser.parse_args(argv)
    content_id = _content_id(args.content_id)
    with Session() as session:
        found = session.get(_path("assets", content_id, "versions"))
    if args.json:
        _print_json(found)
        return 0
    if not found:
        print(f"asset {content_id} has no versions you can read")
        return 0
    rows = [(v["version"], v["status"], _date(v.get("created_at")), _changes(v)) for v in found]
    _table(("VERSION", "STATUS", "DATE", "CHANGES"), rows)
    return 0


VISIBILITY_NOTES = {
    "public": "every signed-in user can read all its versions",
    "group": "each version is readable by the principals on its whitelist "
    "(gallery whitelist add CONTENT_ID@VERSION PRINCIPAL…)",
    "private": "only you (and admins) can read it",
}


def visibility(argv: list[str]) -> int:
    parser = _with_json(
        argparse.ArgumentParser(
            prog="gallery visibility", description="Set who can read an asset you own."
        )
    )
    parser.add_argument("content_id", help="the asset's content id")
    parser.add_argument("visibility", choices=list(VISIBILITY_NOTES))
    args = parser.parse_args(argv)
    content_id = _content_id(args.content_id)
    with Session() as session:
        asset = session.request(
            "PATCH", _path("assets", content_id), json={"visibility": args.visibility}
        )
    if args.json:
        _print_json(asset)
        return 0
    print(
        f"{_asset_name(asset)} is now {asset['visibility']}: "
        f"{VISIBILITY_NOTES[asset['visibility']]}"
    )
    return 0


def _status(argv: list[str], status: str, description: str, consequence: str) -> int:
    verb = {"deprecated": "deprecate", "yanked": "yank"}[status]
    parser = _with_json(argparse.ArgumentParser(prog=f"gallery {verb}", description=description))
    parser.add_argument("ref", metavar="CONTENT_ID@VERSION", help="the version")
    args = parser.parse_args(argv)
    content_id, version = _version_ref(args.ref)
    with Session() as session:
        read = session.request(
            "PATCH", _path("assets", content_id, "versions", version), json={"status": status}
        )
    if args.json:
        _print_json(read)
        return 0
    print(f"{read['content_id']}@{read['version']} is now {read['status']}: {consequence}")
    return 0


def deprecate(argv: list[str]) -> int:
    return _status(
        argv,
        "deprecated",
        "Mark a version of an asset you own as deprecated (still usable, not recommended).",
        "it can still be imported and run, but is no longer recommended",
    )


def yank(argv: list[str]) -> int:
    return _status(
        argv,
        "yanked",
        "Yank a version of an asset you own: it can no longer be imported or run.",
        "it can no longer be imported, run or used as a dependency",
    )


# --- whitelists ----------------------------------------------------------------------------


def _refs(items: list[dict[str, str]]) -> str:
    return ", ".join(f"{d['content_id']}@{d['version']}" for d in items)


def _report_whitelist(read: dict[str, Any], what: str | None) -> None:
    ref = f"{read['content_id']}@{read['version']}"
    if what:
        print(f"{what} {ref}")
    principals = read.get("principals") or []
    if principals:
        print(f"whitelist of {ref}: {', '.join(principals)}")
    else:
        print(f"the whitelist of {ref} is empty")
    if read.get("cascaded_to"):
        print(f"also changed on the versions it depends on: {_refs(read['cascaded_to'])}")
    if read.get("not_cascaded"):
        print(
            "not changed on the versions it depends on that you do not own (ask their owners): "
            + _refs(read["not_cascaded"])
        )
    if read.get("warning"):
        print(f"note: {read['warning']}")


def whitelist(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery whitelist",
        description="Show or change who may read a version of a 'group' asset you own (users "
        "and group:NAME; changes cascade to the versions it depends on that you own).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="{add,remove,show}")
    for action, help_text in (
        ("add", "let users and groups read the version"),
        ("remove", "stop sharing the version with users and groups"),
    ):
        sub = _with_json(
            actions.add_parser(
                action, prog=f"gallery whitelist {action}", help=help_text, description=help_text
            )
        )
        sub.add_argument("ref", metavar="CONTENT_ID@VERSION", help="the version")
        sub.add_argument(
            "principals", metavar="PRINCIPAL", nargs="+", help="a user name or group:NAME"
        )
    show = _with_json(
        actions.add_parser(
            "show",
            prog="gallery whitelist show",
            help="list who is on the version's whitelist",
            description="List who is on the version's whitelist.",
        )
    )
    show.add_argument("ref", metavar="CONTENT_ID@VERSION", help="the version")
    args = parser.parse_args(argv)
    content_id, version = _version_ref(args.ref)
    path = _path("assets", content_id, "versions", version, "whitelist")
    with Session() as session:
        if args.action == "show":
            read = session.get(path)
        else:
            method = "POST" if args.action == "add" else "DELETE"
            read = session.request(method, path, json={"principals": args.principals})
    if args.json:
        _print_json(read)
        return 0
    what = {"add": "shared", "remove": "stopped sharing", "show": None}[args.action]
    _report_whitelist(read, what)
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "subscribe": (subscribe, "subscribe to an asset, accepting its terms"),
    "unsubscribe": (unsubscribe, "stop following an asset"),
    "subscriptions": (subscriptions, "list your subscriptions and their new versions"),
    "versions": (versions, "list an asset's versions"),
    "visibility": (visibility, "make an asset you own public, group or private"),
    "whitelist": (whitelist, "show or change who may read a version (add|remove|show)"),
    "deprecate": (deprecate, "mark a version you own as deprecated"),
    "yank": (yank, "yank a version you own (no new imports or runs)"),
}
