"""``release_to_gallery``: local algorithms first (reused when unchanged), then the workflow.

Each publish is idempotent by content, so a retry after a failure publishes only what is still
missing; the error says which asset failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdk import spec as ir
from sdk._errors import ApiError, ConfigurationError, PublishError, WorkflowDefinitionError
from sdk._packaging import pack
from sdk._session import Session
from sdk.vocabulary import Visibility

if TYPE_CHECKING:
    from sdk._workflow import Workflow

VISIBILITIES = tuple(Visibility)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class AlgorithmRelease:
    name: str
    content_id: str
    version: str
    reused: bool


@dataclass(frozen=True)
class Release:
    """What ``release_to_gallery`` published (or found already published)."""

    content_id: str
    version: str
    reused: bool
    bump: str | None = None
    changes: list[dict[str, str]] = field(default_factory=list)
    algorithms: list[AlgorithmRelease] = field(default_factory=list)

    def __iter__(self) -> Any:  # ``content_id, version = workflow.release_to_gallery()``
        return iter((self.content_id, self.version))


def _quiet(_: str) -> None:
    pass


def _parameter(
    parameter: ir.ParameterSpec, placeholders: dict[str, ir.PlaceholderSpec]
) -> ir.AlgorithmParameterSpec:
    """The algorithm's view of a parameter: its type and default (from a placeholder if any)."""
    value = parameter.value
    if isinstance(value, ir.PlaceholderRef) and value.name in placeholders:
        p = placeholders[value.name]
        kind = "str" if p.type == "enum" else p.type
        return ir.AlgorithmParameterSpec(
            name=parameter.name, type=kind, default=p.default, description=p.description
        )
    if isinstance(value, ir.LiteralValue):
        v = value.value
        for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str)):
            if isinstance(v, types):
                return ir.AlgorithmParameterSpec(name=parameter.name, type=kind, default=v)  # type: ignore[arg-type]
        kind = "list" if isinstance(v, list) else "json"
        return ir.AlgorithmParameterSpec(name=parameter.name, type=kind, default=v)  # type: ignore[arg-type]
    return ir.AlgorithmParameterSpec(name=parameter.name, type="str")


def _own_asset(session: Session, kind: str, name: str, owner: str) -> dict[str, Any] | None:
    page = session.get("/assets", params={"owner": owner, "kind": kind, "name": name})
    for item in page["items"]:
        if item["name"] == name and item["kind"] == kind and item["owner"] == owner:
            return dict(item)
    return None


def _ensure_asset(
    session: Session,
    *,
    kind: str,
    name: str,
    title: str,
    owner: str,
    visibility: str | None,
    desc: str,
) -> dict[str, Any]:
    """The caller's asset of that kind and name, made if missing. ``visibility`` None: a new
    asset is private and an existing one keeps the visibility it has."""
    asset = _own_asset(session, kind, name, owner)
    if asset is None:
        body = {"kind": kind, "name": name, "title": title, "description": desc}
        return dict(session.post("/assets", json={**body, "visibility": visibility or "private"}))
    if visibility is not None and asset["visibility"] != visibility:
        asset = session.request(
            "PATCH", f"/assets/{asset['content_id']}", json={"visibility": visibility}
        )
    return asset


def _latest_version(session: Session, content_id: str) -> dict[str, Any] | None:
    """The newest version that is not yanked: a yanked version is never reused."""
    versions = session.get(f"/assets/{content_id}/versions")
    usable = [v for v in versions if v.get("status") != "yanked"]
    return dict(usable[0]) if usable else None


def _publish_version(
    session: Session, content_id: str, manifest: dict[str, Any], package: bytes | None
) -> dict[str, Any]:
    files: dict[str, Any] = {"manifest": (None, json.dumps(manifest), "application/json")}
    if package is not None:
        files["package"] = ("package.tar.gz", package, "application/gzip")
    return dict(session.post(f"/assets/{content_id}/versions", files=files))


def _release_algorithm(
    session: Session,
    step: ir.StepSpec,
    algorithm: ir.AlgorithmSpec,
    *,
    owner: str,
    visibility: str | None,
    progress: Progress,
    placeholders: dict[str, ir.PlaceholderSpec],
) -> AlgorithmRelease:
    assert algorithm.code_dir is not None
    name = algorithm.name or step.name
    progress(f"packing algorithm {name!r} from {algorithm.code_dir}")
    package = pack(Path(algorithm.code_dir))
    asset_spec = ir.AlgorithmAssetSpec(
        name=name,
        boot_file=algorithm.boot_file,
        command=algorithm.command,
        parameters=[_parameter(p, placeholders) for p in algorithm.parameters],
        inputs=[i.name for i in step.inputs],
        outputs=[o.name for o in step.outputs],
        environments=algorithm.environments,
        image=algorithm.image,
    )
    spec_json = asset_spec.model_dump(mode="json")
    asset = _ensure_asset(
        session,
        kind="algorithm",
        name=name,
        title=name,
        owner=owner,
        visibility=visibility,
        desc=f"Algorithm of workflow step {step.name!r}",
    )
    latest = _latest_version(session, asset["content_id"])
    if (
        latest is not None
        and latest["package_sha256"] == package.sha256
        and latest["manifest"].get("spec") == spec_json
    ):
        progress(f"algorithm {name!r} unchanged: reusing {latest['version']}")
        return AlgorithmRelease(name, asset["content_id"], latest["version"], True)
    published = _publish_version(
        session,
        asset["content_id"],
        {"spec": spec_json, "package_sha256": package.sha256},
        package.data,
    )
    progress(
        f"published algorithm {name!r} {published['version']} "
        f"({package.files} files, {len(package.data)} bytes)"
    )
    return AlgorithmRelease(name, asset["content_id"], published["version"], False)


@dataclass(frozen=True)
class _Prepared:
    """A workflow ready to be released: its spec refers to gallery algorithms only."""

    spec: ir.WorkflowSpec
    owner: str
    algorithms: list[AlgorithmRelease]


def _publish_algorithms(
    workflow: Workflow, session: Session, *, visibility: str | None, progress: Progress
) -> _Prepared:
    """Compile the workflow and publish its local algorithms (reused when unchanged); local
    algorithms become gallery refs and ``latest`` refs are pinned to the newest version."""
    spec = workflow.compile()
    try:
        owner = session.get("/me")["username"]
    except (ApiError, ConfigurationError) as exc:
        raise PublishError(f"workflow {workflow.name!r}", exc) from None

    algorithms: list[AlgorithmRelease] = []
    released: dict[str, AlgorithmRelease] = {}
    steps = []
    for step in spec.steps:
        if step.type != "job":
            steps.append(step)
            continue
        props = step.typed_properties()
        algorithm: ir.AlgorithmSpec = props.algorithm
        if algorithm.source == "local":
            key = json.dumps([algorithm.code_dir, algorithm.name or step.name])
            if key not in released:
                try:
                    released[key] = _release_algorithm(
                        session,
                        step,
                        algorithm,
                        owner=owner,
                        visibility=visibility,
                        progress=progress,
                        placeholders={p.name: p for p in spec.placeholders},
                    )
                except (ApiError, ConfigurationError) as exc:
                    what = f"algorithm {algorithm.name or step.name!r} (step {step.name!r})"
                    raise PublishError(what, exc) from None
                algorithms.append(released[key])
            ref = released[key]
            algorithm = algorithm.model_copy(
                update={
                    "source": "gallery",
                    "code_dir": None,
                    "content_id": ref.content_id,
                    "version": ref.version,
                    "name": ref.name,
                }
            )
        elif algorithm.version == "latest":
            try:
                found = session.get(f"/assets/{algorithm.content_id}")
            except ApiError as exc:
                what = f"algorithm {algorithm.content_id!r} (step {step.name!r})"
                raise PublishError(what, exc) from None
            if not found["latest_version"]:
                raise PublishError(
                    f"algorithm {algorithm.content_id!r} (step {step.name!r})",
                    ValueError("it has no published version"),
                )
            algorithm = algorithm.model_copy(update={"version": found["latest_version"]})
        properties = {**step.properties, "algorithm": algorithm.model_dump(mode="json")}
        steps.append(step.model_copy(update={"properties": properties}))
    return _Prepared(spec.model_copy(update={"steps": steps}), owner, algorithms)


def release_to_gallery(
    workflow: Workflow,
    session: Session,
    *,
    content_id: str | None = None,
    version: str | None = None,
    desc: str | None = None,
    title: str | None = None,
    visibility: str | None = None,
    group_users: list[str] | None = None,
    progress: Progress = _quiet,
) -> Release:
    """``visibility`` None keeps the visibility the workflow and algorithm assets have (new
    ones are private); a value sets it on all of them."""
    if visibility is not None and visibility not in VISIBILITIES:
        raise WorkflowDefinitionError(
            f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}"
        )
    if group_users and visibility != "group":
        raise WorkflowDefinitionError("group_users is only for visibility='group'")
    prepared = _publish_algorithms(workflow, session, visibility=visibility, progress=progress)
    spec, owner, algorithms = prepared.spec, prepared.owner, prepared.algorithms
    spec_json = spec.model_dump(mode="json")
    dependencies = sorted(
        {(cid, ver) for _, cid, ver in ir.pinned_versions(spec)}, key=lambda d: (d[0], d[1])
    )
    manifest: dict[str, Any] = {
        "spec": spec_json,
        "dependencies": [{"content_id": c, "version": v} for c, v in dependencies],
        "description": desc or workflow.desc,
    }
    if version is not None:
        manifest["version"] = version

    what = f"workflow {workflow.name!r}"
    try:
        if content_id is not None:
            asset = session.get(f"/assets/{content_id}")
            if visibility is not None and asset["visibility"] != visibility:
                session.request("PATCH", f"/assets/{content_id}", json={"visibility": visibility})
        else:
            asset = _ensure_asset(
                session,
                kind="workflow",
                name=workflow.name,
                title=title or workflow.name,
                owner=owner,
                visibility=visibility,
                desc=workflow.desc,
            )
        latest = _latest_version(session, asset["content_id"])
        if (
            version is None
            and latest is not None
            and latest["manifest"].get("spec") == spec_json
            and latest["manifest"].get("dependencies") == manifest["dependencies"]
        ):
            progress(f"workflow {workflow.name!r} unchanged: reusing {latest['version']}")
            release = Release(asset["content_id"], latest["version"], True, None, [], algorithms)
        else:
            published = _publish_version(session, asset["content_id"], manifest, None)
            release = Release(
                asset["content_id"],
                published["version"],
                False,
                published.get("bump"),
                list(published.get("changes") or []),
                algorithms,
            )
            progress(f"published workflow {workflow.name!r} {release.version}")
            for change in release.changes:
                progress(f"  {change['impact']}: {change['message']}")
        if group_users:
            session.post(
                f"/assets/{release.content_id}/versions/{release.version}/whitelist",
                json={"principals": list(group_users)},
            )
            progress(f"shared {release.version} with {', '.join(group_users)}")
    except (ApiError, ConfigurationError) as exc:
        raise PublishError(what, exc) from None
    return release


@dataclass(frozen=True)
class RuntimeWorkflow:
    """A workflow released into a workspace (what ``Workflow.release()`` made or updated)."""

    id: str
    name: str
    workspace: str
    created: bool
    """True when this release made the workflow; False when it updated an earlier release."""
    algorithms: list[AlgorithmRelease] = field(default_factory=list)


def release_to_workspace(
    workflow: Workflow,
    session: Session,
    *,
    workspace: str = "default",
    name: str | None = None,
    progress: Progress = _quiet,
) -> RuntimeWorkflow:
    """Publish the local algorithms as ``release_to_gallery`` does (new ones private), then
    create the runtime workflow ``name`` in the workspace, or update the one an earlier
    release of that name made."""
    prepared = _publish_algorithms(workflow, session, visibility=None, progress=progress)
    target = name or workflow.name
    try:
        answer = session.response(
            "POST",
            f"/workspaces/{workspace}/workflows",
            json={"spec": prepared.spec.model_dump(mode="json"), "name": target},
        )
    except (ApiError, ConfigurationError) as exc:
        raise PublishError(f"workflow {target!r} to workspace {workspace!r}", exc) from None
    made = answer.json()
    created = answer.status_code == 201
    progress(
        f"{'released' if created else 'updated'} workflow {made['workspace']}/{made['name']} "
        f"(workflow id {made['id']})"
    )
    return RuntimeWorkflow(
        str(made["id"]), str(made["name"]), str(made["workspace"]), created, prepared.algorithms
    )


def change_whitelist(
    session: Session, content_id: str, version_num: str, user_groups: list[str], *, add: bool
) -> dict[str, Any]:
    method = "POST" if add else "DELETE"
    answer = session.request(
        method,
        f"/assets/{content_id}/versions/{version_num}/whitelist",
        json={"principals": list(user_groups)},
    )
    return dict(answer)


def add_whitelist_users(
    content_id: str, version_num: str, user_groups: list[str], session: Session | None = None
) -> dict[str, Any]:
    """Share one version with users or ``group:<name>``s (cascades to its algorithms)."""
    if session is not None:
        return change_whitelist(session, content_id, version_num, user_groups, add=True)
    with Session() as own:
        return change_whitelist(own, content_id, version_num, user_groups, add=True)


def delete_whitelist_users(
    content_id: str, version_num: str, user_groups: list[str], session: Session | None = None
) -> dict[str, Any]:
    """Stop sharing one version with users or groups (cascades to its algorithms)."""
    if session is not None:
        return change_whitelist(session, content_id, version_num, user_groups, add=False)
    with Session() as own:
        return change_whitelist(own, content_id, version_num, user_groups, add=False)
