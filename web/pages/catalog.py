"""The catalog, asset pages and subscribing; what I published is in ``web.pages.my_assets``.

Every read goes through the registry's own lookups (``find_asset``, ``find_version``,
``list_versions``, ``search``) with the caller, so a page shows exactly what the API would
answer them, and an asset they may not read is the same 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.assets.crud import asset_read, find_asset
from registry.assets.models import Asset, Subscription
from registry.assets.schemas import AssetRead, Kind, VersionRead
from registry.assets.version_reads import find_version, list_versions, versions_read, with_changes
from registry.catalog.service import CatalogPage, CatalogQuery, search
from registry.context import current_principal
from registry.errors import FieldError, InvalidInput, NotFound
from registry.executions.service import find_execution
from registry.params import EXECUTION, VERSION, ContentId
from registry.subscriptions import service as subscriptions
from registry.workspaces.schemas import WorkspaceRead
from registry.workspaces.service import DEFAULT, my_workspaces
from sdk.spec import AlgorithmAssetSpec, WorkflowSpec, gallery_algorithms
from web.dag import dag_svg
from web.pages import my_assets
from web.render import AnyRequest, ctx_of, form_data, here, page, see_other

KINDS = tuple(k.value for k in Kind)
SORTS = ("popular", "newest", "name")
PAGE_SIZE = 24
"""Cards per catalog page (fills rows of 1, 2, 3 or 4 columns)."""


def errors_by_field(errors: list[FieldError]) -> dict[str, FieldError]:
    """The first error of each field, for showing next to it."""
    found: dict[str, FieldError] = {}
    for error in errors:
        found.setdefault(error.field, error)
    return found


# --- the catalog -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogFilters:
    q: str
    kind: str
    tag: str
    sort: str

    def link(self, **changes: str | None) -> str:
        """The catalog with these filters, some changed (None or "" drops one)."""
        values = {"q": self.q, "kind": self.kind, "tag": self.tag, "sort": self.sort}
        values.update({k: v or "" for k, v in changes.items() if k != "cursor"})
        if values["sort"] == "popular":
            values["sort"] = ""
        query = {k: v for k, v in values.items() if v}
        if changes.get("cursor"):
            query["cursor"] = str(changes["cursor"])
        return "/?" + urlencode(query) if query else "/"


def _catalog_errors(kind: str, sort: str) -> list[FieldError]:
    errors = []
    if kind and kind not in KINDS:
        errors.append(FieldError("kind", "one_of", f"{kind!r} is not a kind: {', '.join(KINDS)}"))
    if sort not in SORTS:
        errors.append(FieldError("sort", "one_of", f"{sort!r} is not an order: {', '.join(SORTS)}"))
    return errors


@get("/", include_in_schema=False)
async def catalog_page(
    request: AnyRequest,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    kind: Annotated[str | None, QueryParameter(max_length=32)] = None,
    tag: Annotated[str | None, QueryParameter(max_length=64)] = None,
    sort: Annotated[str | None, QueryParameter(max_length=32)] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=500)] = None,
) -> Template:
    """Search what the caller may see: words, a kind, a tag, an order; keyset pages."""
    filters = CatalogFilters(
        q=(q or "").strip(),
        kind=(kind or "").strip(),
        tag=(tag or "").strip().lower(),
        sort=(sort or "popular").strip(),
    )
    errors = _catalog_errors(filters.kind, filters.sort)
    result: CatalogPage | None = None
    if not errors:
        query = CatalogQuery(
            q=filters.q or None,
            kind=filters.kind or None,
            tags=(filters.tag,) if filters.tag else (),
            sort=filters.sort,  # type: ignore[arg-type]  # checked against SORTS above
            page_size=PAGE_SIZE,
            cursor=cursor or None,
        )
        try:
            async with ctx_of(request).db.read() as session:
                result = await search(session, query, await current_principal(request))
        except InvalidInput as exc:
            errors = exc.errors or [FieldError("query", "invalid", exc.detail)]
    return await page(
        request,
        "catalog.html",
        status_code=422 if errors else 200,
        title="Catalog",
        filters=filters,
        result=result,
        errors=errors_by_field(errors),
        error_list=errors,
        kinds=KINDS,
        sorts=SORTS,
        paged=bool(cursor),
        here=here(request),
    )


# --- the asset page --------------------------------------------------------------------------


@dataclass(frozen=True)
class Dependency:
    content_id: str
    version: str
    steps: list[str]
    title: str | None  # None: the caller may not read it
    kind: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class LineageSource:
    step: str
    output: str
    algorithm: str | None
    """``CONTENT_ID@VERSION`` of a published algorithm, or a description (a workspace
    package)."""
    algorithm_title: str | None = None
    """The algorithm's title and version, when the viewer may see it."""

    @property
    def algorithm_link(self) -> str | None:
        """The algorithm's asset page, when it is a published version."""
        if self.algorithm is None or "@" not in self.algorithm or " " in self.algorithm:
            return None
        content_id, _, version = self.algorithm.partition("@")
        return f"/assets/{quote(content_id)}?{urlencode({'version': version})}"


@dataclass(frozen=True)
class Lineage:
    """Where a model version came from, as recorded when it was published (by the model step
    that registered it; an owner publishing by hand may write anything here)."""

    workflow: str
    step: str
    execution_id: str
    execution_visible: bool
    sources: list[LineageSource]
    metrics: dict[str, float]
    settings: dict[str, str]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def _lineage(
    session: AsyncSession, shown: VersionRead | None, principal: Principal | None
) -> Lineage | None:
    """A model version's lineage from its metadata, read defensively (publisher-written)."""
    metadata = shown.manifest.get("metadata") if shown is not None else None
    found = metadata.get("lineage") if isinstance(metadata, dict) else None
    if not isinstance(found, dict) or not isinstance(metadata, dict):
        return None
    sources = []
    for item in found.get("inputs") or []:
        if not isinstance(item, dict) or not isinstance(item.get("algorithm") or "", str):
            continue
        source = LineageSource(_text(item.get("step")), _text(item.get("output")), None)
        algorithm = item.get("algorithm") or None
        if algorithm is not None:
            source = LineageSource(source.step, source.output, algorithm)
            if source.algorithm_link is not None:
                content_id, _, version = algorithm.partition("@")
                try:
                    named = await find_asset(session, content_id, principal)
                    title = f"{named.title or named.name} v{version}"
                except NotFound:
                    title = algorithm  # not one the viewer may see: the bare reference
                source = LineageSource(source.step, source.output, algorithm, title)
        sources.append(source)
    raw_metrics = metadata.get("metrics")
    metrics = {
        str(k): float(v)
        for k, v in (raw_metrics.items() if isinstance(raw_metrics, dict) else [])
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    raw_settings = metadata.get("model")
    settings = {
        str(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in (raw_settings.items() if isinstance(raw_settings, dict) else [])
        if v is not None and k != "description"  # shown as the version's description
    }
    execution_id = _text(found.get("execution_id"))
    visible = False
    if principal is not None and EXECUTION.well_formed(execution_id):
        try:
            await find_execution(session, execution_id, principal)
            visible = True
        except NotFound:
            pass
    return Lineage(
        _text(found.get("workflow")),
        _text(found.get("step")),
        execution_id,
        visible,
        sources,
        metrics,
        settings,
    )


@dataclass(frozen=True)
class DatasetContents:
    """A dataset version's samples, labels and splits, from its metadata."""

    data_type: str | None
    samples: int
    labelled: int
    labels: list[str]
    splits: dict[str, int]


def _contents(shown: VersionRead | None) -> DatasetContents | None:
    metadata = shown.manifest.get("metadata") if shown is not None else None
    found = metadata.get("dataset") if isinstance(metadata, dict) else None
    if not isinstance(found, dict):
        return None

    def count(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    splits = found.get("splits")
    return DatasetContents(
        found.get("data_type") if isinstance(found.get("data_type"), str) else None,
        count(found.get("samples")),
        count(found.get("labelled")),
        [str(label) for label in found.get("labels") or [] if isinstance(label, str)][:200],
        {str(k): count(v) for k, v in (splits.items() if isinstance(splits, dict) else [])},
    )


@dataclass(frozen=True)
class AssetView:
    asset: AssetRead
    versions: list[VersionRead]
    shown: VersionRead | None
    workflow: WorkflowSpec | None
    algorithm: AlgorithmAssetSpec | None
    spec_problem: str | None
    dependencies: list[Dependency]
    subscribed: bool
    workspaces: list[tuple[str, str]]
    lineage: Lineage | None = None
    contents: DatasetContents | None = None

    @property
    def usable_versions(self) -> list[VersionRead]:
        return [v for v in self.versions if v.status != "yanked"]

    def context(self) -> dict[str, Any]:
        dag = None
        if self.workflow is not None:
            dag = dag_svg(self.workflow, label_id="asset-dag")
        return {"view": self, "dag": dag}


def _spec_of(
    kind: str, shown: VersionRead | None
) -> tuple[WorkflowSpec | None, AlgorithmAssetSpec | None, str | None]:
    """The shown version's workflow or algorithm spec; a problem when it holds one this
    server cannot read (stored by an older server, or a publisher's own claim)."""
    raw = shown.manifest.get("spec") if shown is not None else None
    if not isinstance(raw, dict):
        return None, None, None
    try:
        if kind == Kind.WORKFLOW:
            return WorkflowSpec.model_validate(raw), None, None
        if kind == Kind.ALGORITHM:
            return None, AlgorithmAssetSpec.model_validate(raw), None
    except (ValidationError, ValueError, TypeError):
        return None, None, "this version's spec cannot be read by this server"
    return None, None, None


async def _dependencies(
    session: AsyncSession,
    shown: VersionRead | None,
    workflow: WorkflowSpec | None,
    principal: Principal | None,
) -> list[Dependency]:
    if shown is None:
        return []
    used_by: dict[tuple[str, str], list[str]] = {}
    if workflow is not None:
        try:
            for step, content_id, version in gallery_algorithms(workflow):
                used_by.setdefault((content_id, version), []).append(step)
        except (ValueError, TypeError):
            pass
    found = []
    for ref in shown.dependencies:
        steps = used_by.get((ref.content_id, ref.version), [])
        try:
            asset = await find_asset(session, ref.content_id, principal)
            row = await find_version(session, asset, ref.version, principal)
        except NotFound:
            found.append(Dependency(ref.content_id, ref.version, steps, None))
            continue
        found.append(
            Dependency(
                ref.content_id,
                ref.version,
                steps,
                asset.title or asset.name,
                asset.kind,
                row.status,
            )
        )
    return found


async def asset_view(
    session: AsyncSession, content_id: str, version: str | None, principal: Principal | None
) -> AssetView:
    """Everything the asset page shows, read as ``principal`` (``version``: one named by a
    query or a form, held to the rule of the path's versions)."""
    asset: Asset = await find_asset(session, content_id, principal)
    read = await asset_read(session, asset, principal)
    rows = await list_versions(session, asset, principal)
    versions = with_changes(await versions_read(session, asset, rows, principal))
    shown: VersionRead | None = None
    if version:
        named = VERSION.checked(version, content_id=content_id)
        row = await find_version(session, asset, named, principal)
        shown = next((v for v in versions if v.version == row.version), None)
    else:
        wanted = read.latest_version
        shown = next((v for v in versions if v.version == wanted), None)
        shown = shown or (versions[0] if versions else None)
    workflow, algorithm, problem = _spec_of(asset.kind, shown)
    subscribed = False
    spaces: list[WorkspaceRead] = []
    if principal is not None:
        key = (principal.user_id, asset.id)
        subscribed = await session.get(Subscription, key) is not None
        spaces = await my_workspaces(session, principal)
    return AssetView(
        asset=read,
        versions=versions,
        shown=shown,
        workflow=workflow,
        algorithm=algorithm,
        spec_problem=problem,
        dependencies=await _dependencies(session, shown, workflow, principal),
        subscribed=subscribed,
        workspaces=_workspace_choices(spaces, principal),
        lineage=(
            await _lineage(session, shown, principal)
            if asset.kind in (Kind.MODEL, Kind.DATASET)
            else None
        ),
        contents=_contents(shown) if asset.kind == Kind.DATASET else None,
    )


def _workspace_choices(
    spaces: list[WorkspaceRead], principal: Principal | None
) -> list[tuple[str, str]]:
    """(name, label) of the workspaces an import can go to: by name, the caller's own first
    (as ``find_workspace`` looks them up), ``default`` always (it is made on first use)."""
    if principal is None:
        return []
    own = [w for w in spaces if w.owner == principal.username]
    shared = [w for w in spaces if w.owner != principal.username]
    choices = {DEFAULT: DEFAULT}
    for w in own:
        choices.setdefault(w.name, w.name)
    for w in shared:
        choices.setdefault(w.name, f"{w.name} (shared by {w.owner})")
    return list(choices.items())


async def render_asset(
    request: AnyRequest,
    content_id: str,
    version: str | None = None,
    *,
    status_code: int = 200,
    errors: list[FieldError] | None = None,
    open_import: bool = False,
) -> Template:
    user = await current_principal(request)
    async with ctx_of(request).db.read() as session:
        view = await asset_view(session, content_id, version, user)
    return await page(
        request,
        "asset.html",
        status_code=status_code,
        title=view.asset.title or view.asset.name,
        errors=errors_by_field(errors or []),
        open_import=open_import,
        sign_in=_sign_in(view.asset.content_id),
        **view.context(),
    )


@get("/assets/{content_id:str}", include_in_schema=False)
async def asset_page(
    request: AnyRequest,
    content_id: ContentId,
    version: Annotated[str | None, QueryParameter()] = None,
    dialog: Annotated[str | None, QueryParameter(name="import", max_length=10)] = None,
) -> Template:
    """An asset: description, versions, interface, DAG, dependencies, and what to do."""
    return await render_asset(request, content_id, version or None, open_import=bool(dialog))


@post("/assets/{content_id:str}/subscribe", include_in_schema=False)
async def subscribe(request: AnyRequest, content_id: ContentId) -> Redirect | Template:
    """Subscribe; an asset with terms needs the terms box ticked (``accept_terms=on``)."""
    user = await current_principal(request)
    if user is None:
        return see_other(_sign_in(content_id))
    form = await form_data(request)
    try:
        async with ctx_of(request).db.write() as session:
            asset = await find_asset(session, content_id, user, for_update=True)
            accepted = form.get("accept_terms") == "on" or not asset.terms.strip()
            await subscriptions.subscribe(
                session, asset=asset, accept_terms=accepted, principal=user
            )
    except InvalidInput as exc:
        errors = [
            FieldError(e.field, e.rule, "tick the box to accept the asset's terms")
            if e.field == "accept_terms"
            else e
            for e in exc.errors
        ]
        return await render_asset(
            request, content_id, form.get("version") or None, status_code=422, errors=errors
        )
    return see_other(_back_to_asset(content_id, form.get("version")))


@post("/assets/{content_id:str}/unsubscribe", include_in_schema=False)
async def unsubscribe(request: AnyRequest, content_id: ContentId) -> Redirect:
    user = await current_principal(request)
    if user is None:
        return see_other(_sign_in(content_id))
    form = await form_data(request)
    async with ctx_of(request).db.write() as session:
        asset = await find_asset(session, content_id, user, for_update=True)
        await subscriptions.unsubscribe(session, asset=asset, principal=user)
    return see_other(_back_to_asset(content_id, form.get("version")))


def _sign_in(content_id: str) -> str:
    """Sign in, then back to the asset's page (not to the form's address)."""
    return f"/login?{urlencode({'next': f'/assets/{content_id}'})}"


def _back_to_asset(content_id: str, version: str | None) -> str:
    if version and VERSION.well_formed(version):
        return f"/assets/{content_id}?{urlencode({'version': version})}"
    return f"/assets/{content_id}"


PAGES = [catalog_page, asset_page, subscribe, unsubscribe, *my_assets.PAGES]
