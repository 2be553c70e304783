"""The ``gallery`` command. SDK-side verbs live here; server verbs come from entry points
(group ``gallery.commands``) that the server packages declare, so the SDK imports none of them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import runpy
import socket
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from importlib.metadata import entry_points
from typing import Any

from sdk import completion
from sdk._errors import ConfigurationError, GalleryError
from sdk._session import DEFAULT_URL, Session, load_credentials, save_credentials
from sdk.vocabulary import Visibility

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
        password = args.password or ask_password(f"Password for {args.username}: ")
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


def ask_password(prompt: str, option: str = "--password-stdin") -> str:
    """A password typed on the terminal; without one, a clear error naming ``option``."""
    if not sys.stdin.isatty():
        raise ConfigurationError(
            f"no terminal to ask for the password on: pipe it in with {option}"
        )
    return getpass.getpass(prompt)


def _token_name() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"cli-{socket.gethostname()}")[:64]


def _read_passwords(stdin: bool, username: str) -> tuple[str, str]:
    """The current and the new password: two lines of stdin, or asked for on the terminal."""
    if stdin:
        current = sys.stdin.readline().rstrip("\n")
        new = sys.stdin.readline().rstrip("\n")
        if not new:
            raise ConfigurationError(
                "--password-stdin reads two lines: the current password, then the new one"
            )
        return current, new
    current = ask_password(f"Current password for {username}: ")
    new = getpass.getpass("New password: ")
    if getpass.getpass("New password again: ") != new:
        raise ConfigurationError("the two new passwords differ; nothing was changed")
    return current, new


def passwd(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery passwd",
        description="Change your password. Your earlier sign-ins end and your personal access "
        "tokens are revoked (so a stolen one stops working); the saved login is renewed.",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the current and the new password as two lines from stdin",
    )
    args = parser.parse_args(argv)
    stored = load_credentials()
    with Session() as session:
        username = session.get("/me")["username"]
        current, new = _read_passwords(args.password_stdin, username)
        changed = session.post(
            "/me/password", json={"current_password": current, "new_password": new}
        )
        url, used = session.url, session.token
    print(f"Changed the password of {username}: {changed['detail']}", flush=True)
    if used != stored.get("token") or url != stored.get("url", "").rstrip("/"):
        print("The token you used no longer works; sign in again with 'gallery login'.")
        return 0
    with Session(url, token="") as anonymous:
        grant = anonymous.post(
            "/auth/token", data={"grant_type": "password", "username": username, "password": new}
        )
    with Session(url, grant["access_token"]) as signed_in:
        created = signed_in.post("/tokens", json={"name": _token_name(), "expires_in_days": 90})
    path = save_credentials(url, created["token"], username)
    print(f"Signed in again as {username}; new token saved in {path}")
    return 0


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
    parser.add_argument(
        "--visibility",
        choices=list(Visibility),
        help="who may see it (default: unchanged; a first release is private)",
    )
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


def _out(line: str) -> None:
    print(line, flush=True)


def add_param_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--param/-p NAME=VALUE`` (repeatable), typed later by the workflow's placeholders;
    ``what`` says what the value is for."""
    parser.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"{what} (typed by the placeholder; repeatable)",
    )


def _values(pairs: list[str], workflow: dict[str, Any], option: str) -> dict[str, Any]:
    from sdk._runs import parse_assignments, placeholders_of

    try:
        return parse_assignments(pairs, placeholders_of(workflow), option)
    except ValueError as exc:
        raise ConfigurationError(f"workflow {workflow['name']!r}: {exc}") from None


def _report(execution: dict[str, Any]) -> None:
    """The execution's status, one line per step, and what to do next."""
    from sdk._runs import headline, hints, step_row

    print(headline(execution))
    rows = [step_row(step) for step in execution["steps"]]
    if rows:
        _table(("STEP", "STATUS", "ATTEMPT", "DURATION", "NOTE"), rows)
    for line in hints(execution):
        print(line)


def _follow(session: Session, execution_id: str) -> int:
    from sdk._runs import exit_code, follow

    execution = follow(session, execution_id, _out)
    _report(execution)
    return exit_code(execution["status"])


RUN_RULE = """\
TARGET is one of your workflows first: its id, or its name in --workspace. Otherwise it is a
workflow asset of the catalog: CONTENT_ID, or CONTENT_ID@VERSION (an @ always names an asset;
see 'gallery search'). The asset's version (default: the latest you may import) is imported
into --workspace (as --name), or the workflow imported from that version there before is
reused, and started in the same call when every required parameter has a value; when some
have none, it says which and how to set them, and exits with status 1."""


def _own_workflow(session: Session, target: str, workspace: str) -> dict[str, Any] | None:
    """The workflow ``target`` names, or None when it names a catalog asset instead (see
    ``RUN_RULE``)."""
    from sdk._errors import ApiError
    from sdk._refs import UUID_RE
    from sdk._runs import find_workflow

    if "@" in target:
        return None
    if UUID_RE.fullmatch(target.strip()):
        try:
            return dict(session.get(f"/workflows/{target.strip()}"))
        except ApiError as exc:
            if exc.status != 404:
                raise
            return None
    return find_workflow(session, target, workspace)


def _asset_values(
    session: Session, content_id: str, version: str | None, pairs: list[str]
) -> tuple[str | None, dict[str, Any]]:
    """``--param`` values typed by the placeholders of the version that will run (the latest
    importable one when none is given, which is then named to the server so both agree)."""
    from urllib.parse import quote

    from sdk._runs import parse_assignments, placeholders_of

    if not pairs:
        return version, {}
    asset = quote(content_id, safe="")
    if version is None:
        listed = session.get(f"/assets/{asset}/versions")
        usable = [v for v in listed if v.get("status") != "yanked"]
        if not usable:
            raise ConfigurationError(f"asset {content_id} has no version you can import")
        chosen = usable[0]  # newest first
    else:
        chosen = session.get(f"/assets/{asset}/versions/{quote(version, safe='')}")
    manifest = chosen.get("manifest") or {}
    workflow = {"spec": manifest.get("spec") or {}}
    try:
        values = parse_assignments(pairs, placeholders_of(workflow), "--param")
    except ValueError as exc:
        raise ConfigurationError(f"{content_id}@{chosen['version']}: {exc}") from None
    return str(chosen["version"]), values


def _run_asset(session: Session, args: argparse.Namespace) -> int:
    from urllib.parse import quote

    from sdk._errors import ApiError
    from sdk._refs import execution_label

    if args.scene:
        raise ConfigurationError(
            "--scene runs part of a workflow that has run before; run the asset whole first, "
            "then 'gallery run WORKFLOW --scene ...'"
        )
    content_id, _, version = args.target.strip().partition("@")
    if not content_id or "/" in content_id or (args.target.count("@") and not version):
        raise ConfigurationError(
            f"{args.target!r} is neither one of your workflows nor CONTENT_ID[@VERSION]"
        )
    chosen, parameters = _asset_values(session, content_id, version or None, args.param)
    body: dict[str, Any] = {"workspace": args.workspace, "parameters": parameters}
    if chosen:
        body["version"] = chosen
    if args.name:
        body["name"] = args.name
    try:
        done = session.post(f"/assets/{quote(content_id, safe='')}/run", json=body)
    except ApiError as exc:
        if exc.status == 404 and not version:
            raise ConfigurationError(
                f"{args.target!r} is neither one of your workflows (an id, or a name in "
                f"workspace {args.workspace!r}) nor a workflow asset you can see: {exc.detail}"
            ) from None
        raise
    workflow = done["workflow"]
    where = f"{workflow['workspace']}/{workflow['name']}"
    source = f"{workflow['source_content_id']}@{workflow['source_version']}"
    verb = "using" if done["reused"] else "imported"
    how = "imported before" if done["reused"] else "new"
    print(f"{verb} {source} as {where} ({how}; workflow id {workflow['id']})", flush=True)
    execution = done.get("execution")
    if execution is None:
        missing = list(done["missing"])
        values = " ".join(f"-p {name}=VALUE" for name in missing)
        print(
            f"error: not started: {where} needs a value for {', '.join(missing)}; save them with\n"
            f"  gallery config {workflow['id']} {values}\n"
            f"then run 'gallery run {workflow['id']}', or give them now: "
            f"gallery run {args.target} {values}",
            file=sys.stderr,
        )
        return 1
    print(f"started {execution_label(execution)} (id {execution['id']})", flush=True)
    if args.follow:
        return _follow(session, execution["id"])
    return 0


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gallery run",
        description="Start an execution of one of your workflows, or run a workflow asset of\n"
        "the catalog in one call (import it, then start it).",
        epilog=RUN_RULE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="workflow id or name, else CONTENT_ID[@VERSION] of a workflow asset (see below)",
    )
    add_param_option(parser, "placeholder value for this run")
    parser.add_argument("--scene", help="run only this scene of the workflow")
    parser.add_argument("--workspace", "-w", default="default")
    parser.add_argument(
        "--name",
        help="name of the workflow an asset is imported as (default: the one imported from "
        "that version before, else a new name)",
    )
    parser.add_argument("--follow", "-f", action="store_true", help="watch it until it ends")
    args = parser.parse_args(argv)
    from sdk._refs import execution_label
    from sdk._runs import start_execution

    with Session() as session:
        workflow = _own_workflow(session, args.target, args.workspace)
        if workflow is None:
            return _run_asset(session, args)
        if args.name:
            raise ConfigurationError("--name is for a catalog asset; this is a workflow of yours")
        parameters = _values(args.param, workflow, "--param")
        execution = start_execution(session, workflow["id"], parameters, args.scene)
        print(f"started {execution_label(execution)} (id {execution['id']})", flush=True)
        if args.follow:
            return _follow(session, execution["id"])
    return 0


def status(argv: list[str]) -> int:
    from sdk._refs import EXECUTION_HELP, resolve_execution

    parser = argparse.ArgumentParser(
        prog="gallery status",
        description="Show an execution and its steps. Exit status 1 when it failed or was "
        "stopped, else 0.",
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="watch it until it succeeds, fails, is stopped or waits for input",
    )
    args = parser.parse_args(argv)
    from sdk._runs import exit_code, read_execution

    with Session() as session:
        execution_id = resolve_execution(session, args.execution)
        if args.follow:
            return _follow(session, execution_id)
        execution = read_execution(session, execution_id)
    _report(execution)
    return exit_code(execution["status"])


def _moved_on(step_name: str, before: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """True once the server shows the step left the state it had before a continue/retry."""
    from sdk._runs import find_step

    def check(execution: dict[str, Any]) -> bool:
        now = find_step(execution, step_name)
        return any(now[key] != before[key] for key in ("status", "attempt", "started_at"))

    return check


def _after_action(
    session: Session, execution: dict[str, Any], step_name: str, verb: str, follow: bool
) -> int:
    """Wait (briefly) until the runner took the step up, say so, and follow if asked."""
    from sdk._refs import execution_label
    from sdk._runs import find_step, wait_until

    before = find_step(execution, step_name)
    now, moved = wait_until(
        session, execution["id"], _moved_on(step_name, before), timeout=ACTION_WAIT_SECONDS
    )
    step = find_step(now, step_name)
    label = execution_label(now)
    if moved:
        print(f"{verb} step {step_name!r} of {label}: now {step['status']}", flush=True)
    else:
        print(
            f"{verb} step {step_name!r} of {label}; the runner has not picked it up yet "
            f"(see 'gallery status {label}')",
            flush=True,
        )
    if follow:
        return _follow(session, now["id"])
    return 0


ACTION_WAIT_SECONDS = 30.0


def _step_action(
    args: argparse.Namespace, action: str, field: str, pairs: list[str], flag: str, verb: str
) -> int:
    """``continue`` / ``retry``: values typed by the workflow's placeholders, posted to the
    step's action, then the step's new state (and ``--follow``)."""
    from sdk._runs import find_step, read_execution

    with Session() as session:
        execution = read_execution(session, args.execution)
        find_step(execution, args.step)
        workflow = session.get(f"/workflows/{execution['workflow_id']}")
        values = _values(pairs, workflow, flag)
        session.post(
            f"/executions/{args.execution}/steps/{args.step}/{action}", json={field: values}
        )
        return _after_action(session, execution, args.step, verb, args.follow)


def continue_(argv: list[str]) -> int:
    from sdk._refs import EXECUTION_HELP, resolve_execution

    parser = argparse.ArgumentParser(
        prog="gallery continue",
        description="Give a step that waits for input the values of its delayed placeholders.",
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("step", help="the waiting step")
    parser.add_argument(
        "--input",
        "-i",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a placeholder the step waits for (typed by it; repeatable)",
    )
    parser.add_argument("--follow", "-f", action="store_true", help="then watch the run")
    args = parser.parse_args(argv)
    with Session() as session:
        args.execution = resolve_execution(session, args.execution)
    return _step_action(args, "continue", "inputs", args.input, "--input", "continued")


def retry(argv: list[str]) -> int:
    from sdk._refs import EXECUTION_HELP, resolve_execution

    parser = argparse.ArgumentParser(
        prog="gallery retry",
        description="Run a failed or stopped step again, optionally with changed values.",
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("step", help="the failed or stopped step")
    add_param_option(parser, "placeholder value to change from now on")
    parser.add_argument("--follow", "-f", action="store_true", help="then watch the run")
    args = parser.parse_args(argv)
    with Session() as session:
        args.execution = resolve_execution(session, args.execution)
    return _step_action(args, "retry", "parameters", args.param, "--param", "retried")


def stop(argv: list[str]) -> int:
    from sdk._refs import EXECUTION_HELP, execution_label, resolve_execution

    parser = argparse.ArgumentParser(
        prog="gallery stop", description="Stop an execution (or one of its steps)."
    )
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("--step", help="stop only this step (it can be retried later)")
    parser.add_argument(
        "--no-wait", action="store_true", help="do not wait until the runner has stopped it"
    )
    args = parser.parse_args(argv)
    from sdk._runs import find_step, read_execution, wait_until

    step_name: str | None = args.step

    def done(e: dict[str, Any]) -> bool:
        if step_name is None:
            return bool(e["status"] == "stopped")
        if find_step(e, step_name)["status"] not in ("stopped", "failed", "succeeded"):
            return False
        # ... and the execution's status says so too, unless other steps still run
        others = [s for s in e["steps"] if s["name"] != step_name and s["status"] == "running"]
        return bool(others) or e["status"] != "running"

    with Session() as session:
        execution_id = resolve_execution(session, args.execution)
        execution = read_execution(session, execution_id)
        name = execution_label(execution)
        if step_name is not None:
            find_step(execution, step_name)
            session.post(f"/executions/{execution_id}/steps/{step_name}/stop")
            what = f"step {step_name!r} of {name}"
        else:
            session.post(f"/executions/{execution_id}/stop")
            what = name
        if args.no_wait:
            print(f"asked to stop {what}", flush=True)
            return 0
        print(f"stopping {what} ...", flush=True)
        now, stopped = wait_until(session, execution_id, done, timeout=STOP_WAIT_SECONDS)
    if not stopped:
        print(
            f"error: {what} has not stopped after {STOP_WAIT_SECONDS:.0f}s "
            f"(execution is {now['status']}); see 'gallery status {name}'",
            file=sys.stderr,
        )
        return 1
    state = find_step(now, args.step)["status"] if args.step else now["status"]
    print(f"{what}: {state}")
    return 0


STOP_WAIT_SECONDS = 60.0


def logs(argv: list[str]) -> int:
    from sdk._refs import EXECUTION_HELP, resolve_execution

    parser = argparse.ArgumentParser(prog="gallery logs", description="Print a step's output.")
    parser.add_argument("execution", help=EXECUTION_HELP)
    parser.add_argument("step")
    parser.add_argument("--attempt", type=int, help="an earlier attempt (default: the latest)")
    parser.add_argument(
        "--follow", "-f", action="store_true", help="keep printing until the step ends"
    )
    args = parser.parse_args(argv)
    import codecs

    from sdk._errors import ApiError
    from sdk._runs import StepWatch

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    offset = 0
    with Session() as session:
        execution_id = resolve_execution(session, args.execution)
        path = f"/executions/{execution_id}/steps/{args.step}/logs"
        watch = StepWatch(session, execution_id, args.step) if args.follow else None
        while True:
            ended = watch is None or watch.ended(session)
            params: dict[str, Any] = {"offset": offset}
            if args.attempt:
                params["attempt"] = args.attempt
            try:
                answer = session.response("GET", path, params=params)
            except ApiError as exc:
                if exc.status != 404 or ended:
                    raise
                time.sleep(0.5)
                continue
            chunk = answer.content
            offset += len(chunk)
            sys.stdout.write(decoder.decode(chunk))
            sys.stdout.flush()
            size = int(answer.headers.get("X-Log-Size", offset))
            if offset < size:
                continue
            if ended:
                break
            time.sleep(0.5)
    sys.stdout.write(decoder.decode(b"", final=True))
    return 0


REMOVAL = re.compile(r"^-[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_POSITIONAL = "\x00"


def removals_as_words(argv: list[str], options: Sequence[str] = ("-h",)) -> list[str]:
    """``-word`` arguments (a tag or label to remove) marked so that argparse takes them as
    positional words, in their place (``+word`` already is one). The short ``options`` stay
    options; after ``--`` every word is a change. Undo with :func:`signed_words`."""
    marked: list[str] = []
    for index, word in enumerate(argv):
        if word == "--":
            return marked + argv[index:]
        removal = REMOVAL.fullmatch(word) and word not in options
        marked.append(_POSITIONAL + word if removal else word)
    return marked


def signed_words(parsed: Sequence[str]) -> list[str]:
    return [word.removeprefix(_POSITIONAL) for word in parsed]


def apply_changes(current: Sequence[str], changes: Sequence[str], what: str) -> list[str]:
    """``+word`` (or ``word``) adds, ``-word`` removes; words are lower case. ``what`` names
    them in the error (``TAG``, ``LABEL``)."""
    words = list(current)
    for change in changes:
        signed = change[:1] in ("+", "-")
        word = (change[1:] if signed else change).strip().lower()
        if not word:
            raise ConfigurationError(f"{change!r}: give +{what} or -{what}")
        if change.startswith("-"):
            words = [w for w in words if w != word]
        elif word not in words:
            words.append(word)
    return words


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


BUILTIN: dict[str, tuple[Command, str]] = {
    "login": (login, "sign in and store a personal access token"),
    "passwd": (passwd, "change your password (ends your other sign-ins and tokens)"),
    "search": (search, "search the catalog"),
    "publish": (publish, "publish a workflow from FILE.py[:VARIABLE]"),
    "import": (import_, "import CONTENT_ID[@VERSION] into a workspace"),
    "run": (run, "start an execution of a workflow (--follow to watch it)"),
    "status": (status, "show an execution and its steps (--follow to watch it)"),
    "continue": (continue_, "give a waiting step its input values"),
    "retry": (retry, "run a failed or stopped step again"),
    "stop": (stop, "stop an execution or one of its steps"),
    "logs": (logs, "print a step's output (--follow to tail it)"),
}


def _commands() -> dict[str, tuple[Command, str]]:
    """The SDK's verbs: the run loop here, the rest by concern in ``sdk.cli_*`` (imported
    here, since they use this module's helpers)."""
    from sdk import cli_assets, cli_develop, cli_runs, cli_services, cli_workflows

    return {
        **BUILTIN,
        **cli_assets.COMMANDS,
        **cli_workflows.COMMANDS,
        **cli_runs.COMMANDS,
        **cli_develop.COMMANDS,
        **cli_services.COMMANDS,
    }


SERVER_SUMMARIES = {
    "up": "run Gallery on the embedded default: web app, Temporal dev server and a worker",
    "serve": "serve the web app and API only",
    "worker": "run a worker that executes steps",
    "user": "manage users: create, set-password, deactivate, reactivate",
    "group": "manage groups and their members",
    "token": "create personal access tokens for a user",
}
"""One line each for the server's verbs (entry points, loaded only when used)."""


def version() -> str:
    try:
        return metadata.version("gallery")
    except metadata.PackageNotFoundError:
        return "unknown"


def _help(commands: dict[str, tuple[Command, str]], server: dict[str, Any]) -> None:
    print(f"usage: gallery COMMAND [ARGS]   (gallery {version()})\n\ncommands:")
    width = max(len(name) for name in [*commands, *server]) + 2
    for name, (_, summary) in sorted(commands.items()):
        print(f"  {name:<{width}}{summary}")
    if server:
        print("\nserver commands:")
        for name in sorted(server):
            summary = SERVER_SUMMARIES.get(name, f"see 'gallery {name} --help'")
            print(f"  {name:<{width}}{summary}")
    print(
        "\n'gallery COMMAND --help' tells more; "
        "'gallery completion bash|zsh' prints shell completion."
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = _main(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`gallery search | head`): end quietly, and keep Python from
        # complaining when it flushes stdout on the way out.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE


def _main(args: list[str]) -> int:
    server = _server_commands()
    commands = _commands()
    if not args or args[0] in ("-h", "--help", "help"):
        _help(commands, server)
        return 0
    if args[0] in ("-V", "--version", "version"):
        print(f"gallery {version()}")
        return 0
    name, rest = args[0], args[1:]
    try:
        if name == "completion":
            return completion.script(rest)
        if name == completion.COMPLETE:
            return completion.complete(rest, commands, server)
        if name in commands:
            return commands[name][0](rest)
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
