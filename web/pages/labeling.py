"""The labeling page: one sample of a label task at a time (an image inline, text shown as
text), the label set as buttons (keys 1 to 9; arrows for the previous and next sample with
``labeling.js``), progress, and the upload of a labels file. Every button is a form: the page
works without JavaScript. Labels go through ``registry.labeling.service`` (what the API uses).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.params import QueryParameter
from litestar.response import File, Redirect, Template

from registry.accounts.service import Principal
from registry.errors import InvalidInput
from registry.labeling import service
from registry.labeling.routes import LabelTaskId, SamplePath, sample_response
from registry.labeling.schemas import LabelTaskRead
from web.render import AnyRequest, ctx_of, form_data, page, see_other, signed_in_user

IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
TEXT_PREVIEW = 16 * 1024
"""How much of a text sample the page shows."""


@dataclass(frozen=True)
class Shown:
    index: int
    path: str
    label: str | None
    image: bool
    text: str | None
    url: str


def _here(task_id: str, index: int | None = None) -> str:
    return f"/label-tasks/{task_id}" + (f"?i={index}" if index is not None else "")


async def _page(
    request: AnyRequest,
    user: Principal,
    task_id: str,
    index: int | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    ctx = ctx_of(request)
    async with ctx.db.read() as session:
        task, workspace = await service.find_task(session, task_id, user)
        read: LabelTaskRead = await service.read(session, task, workspace)
        if index is None:
            index = await service.first_unlabelled(session, task) or 0
        index = min(max(index, 0), max(read.samples - 1, 0))
        row = await service.sample_at(session, task, index)
        key, sha = await service.package_of(session, task.dataset_pin)
    shown = None
    if row is not None:
        url = f"/label-tasks/{task_id}/sample/{quote(row.path)}"
        image = row.path.lower().endswith(IMAGES)
        text = None
        if not image:
            found = await asyncio.to_thread(
                service.sample_file,
                ctx.blobs,
                ctx.settings.data_dir / "cache" / "label-samples",
                key,
                sha,
                row.path,
            )
            with found.open("rb") as handle:
                text = handle.read(TEXT_PREVIEW).decode("utf-8", errors="replace")
        shown = Shown(index, row.path, row.label, image, text, url)
    return await page(
        request,
        "labeling.html",
        status_code=status_code,
        title=f"Label {read.name}",
        task=read,
        shown=shown,
        error=error,
        keys=shortcuts(read.labels),
    )


def shortcuts(labels: list[str]) -> dict[str, str]:
    """Label → its key: the label itself when every label is one digit (a digits task: key
    5 is label 5), else 1 to 9 in order (labels past the ninth have none)."""
    if all(len(label) == 1 and label.isdigit() for label in labels):
        return {label: label for label in labels}
    return {label: str(index) for index, label in enumerate(labels[:9], start=1)}


@get("/label-tasks/{task_id:str}", include_in_schema=False)
async def labeling_page(
    request: AnyRequest,
    task_id: LabelTaskId,
    i: Annotated[int | None, QueryParameter(ge=0, le=10_000_000)] = None,
) -> Template:
    user = await signed_in_user(request)
    return await _page(request, user, task_id, i)


@get("/label-tasks/{task_id:str}/sample/{path:path}", include_in_schema=False)
async def sample(request: AnyRequest, task_id: LabelTaskId, path: SamplePath) -> File:
    """The sample's bytes for the page's ``<img>`` (the API's answer, signed in by cookie)."""
    user = await signed_in_user(request)
    return await sample_response(ctx_of(request), user, task_id, path)


@post("/label-tasks/{task_id:str}/label", include_in_schema=False)
async def label(request: AnyRequest, task_id: LabelTaskId) -> Redirect | Template:
    """One sample's label (a button of the label set); then the next sample still
    unlabelled (or the next one)."""
    user = await signed_in_user(request)
    form = await form_data(request)
    index = int(form["index"]) if form.get("index", "").isdigit() else 0
    path = form.get("path", "")
    value = form.get("label") or None
    ctx = ctx_of(request)
    try:
        async with ctx.db.write() as session:
            task, _ = await service.find_task(session, task_id, user)
            await service.set_labels(session, task, {path: value}, user, field="label")
            await session.flush()
            following = await service.first_unlabelled(session, task)
    except InvalidInput as exc:
        return await _page(request, user, task_id, index, error=exc.detail, status_code=422)
    return see_other(_here(task_id, following if following is not None else index))


@post("/label-tasks/{task_id:str}/upload", include_in_schema=False)
async def upload(request: AnyRequest, task_id: LabelTaskId) -> Redirect | Template:
    """A labels file (``path,label`` lines); a malformed one is shown again naming its line."""
    user = await signed_in_user(request)
    form = await request.form()
    file = form.get("file")
    ctx = ctx_of(request)
    try:
        if not isinstance(file, UploadFile):
            raise InvalidInput.field("file", "required", "choose a CSV file to upload")
        labels = service.parse_csv(await file.read())
        async with ctx.db.write() as session:
            task, _ = await service.find_task(session, task_id, user)
            await service.set_labels(session, task, labels, user, field="file")
    except InvalidInput as exc:
        return await _page(request, user, task_id, None, error=exc.detail, status_code=422)
    return see_other(_here(task_id))


PAGES = [labeling_page, sample, label, upload]
