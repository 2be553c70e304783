"""HTTP: label tasks — list, read, their samples (and each sample's bytes), labelling by
body or CSV file. Members of the task's workspace only; everyone else gets 404."""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Annotated, Any

from litestar import Request, Router, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import JSONBody, QueryParameter
from litestar.response import File

from registry.accounts.service import Principal
from registry.context import Context, CtxDep, UserDep, signed_in_routes
from registry.errors import InvalidInput
from registry.labeling import service
from registry.labeling.schemas import (
    LabelsBody,
    LabelsDone,
    LabelTaskRead,
    LabelTaskSummary,
    SamplePage,
)
from registry.params import EXCEPTION_HANDLERS, UUID_PATTERN, IdKind, WorkspaceName
from registry.workspaces import service as workspaces

LABEL_TASK = IdKind(UUID_PATTERN, 36, "a UUID", "no label task {value!r}")
LabelTaskId = Annotated[str, LABEL_TASK.parameter("The label task's id"), LABEL_TASK]
SAMPLE = IdKind(
    r"^/?[^\x00-\x1f\x7f]{1,1024}$", 1025, "a path of 1 to 1024 characters", "no sample {value!r}"
)
SamplePath = Annotated[
    str, SAMPLE.parameter("The sample's path (as the task's sample list names it)"), SAMPLE
]
INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
"""Sample types answered as themselves; every other sample is answered as plain text (or
bytes), so a sample never runs as a page of the console."""


@get("/workspaces/{workspace:str}/label-tasks")
async def list_label_tasks(
    ctx: CtxDep, user: UserDep, workspace: WorkspaceName
) -> list[LabelTaskSummary]:
    """The workspace's label tasks, newest first, with their counts."""
    async with ctx.db.read() as session:
        found = await workspaces.find_workspace(session, workspace, user)
        return await service.list_tasks(session, found)


@get("/label-tasks/{task_id:str}")
async def read_label_task(ctx: CtxDep, user: UserDep, task_id: LabelTaskId) -> LabelTaskRead:
    """A task: its label set, counts (samples, labelled, remaining) and completion rule."""
    async with ctx.db.read() as session:
        task, workspace = await service.find_task(session, task_id, user)
        return await service.read(session, task, workspace)


@get("/label-tasks/{task_id:str}/samples")
async def list_samples(
    ctx: CtxDep,
    user: UserDep,
    task_id: LabelTaskId,
    which: Annotated[
        str | None,
        QueryParameter(name="state", description="labelled or unlabelled (default: both)"),
    ] = None,
    cursor: Annotated[str | None, QueryParameter(max_length=20)] = None,
) -> SamplePage:
    """The task's samples (paths and labels) in dataset order, a page at a time."""
    async with ctx.db.read() as session:
        task, _ = await service.find_task(session, task_id, user)
        return await service.samples(session, task, state=which, cursor=cursor)


async def sample_response(ctx: Context, user: Principal, task_id: str, path: str) -> File:
    """A sample's bytes (images as themselves, anything else as text), never runnable."""
    async with ctx.db.read() as session:
        task, _ = await service.find_task(session, task_id, user)
        key, sha = await service.package_of(session, task.dataset_pin)
    path = service.normal_path(path)
    found = await asyncio.to_thread(
        service.sample_file,
        ctx.blobs,
        ctx.settings.data_dir / "cache" / "label-samples",
        key,
        sha,
        path,
    )
    guessed = mimetypes.guess_type(found.name)[0] or ""
    media = guessed if guessed in INLINE else "text/plain; charset=utf-8"
    return File(
        path=found,
        filename=found.name,
        media_type=media,
        content_disposition_type="inline",
        headers={
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": "private, max-age=3600",
        },
    )


@get("/label-tasks/{task_id:str}/samples/{path:path}")
async def sample_bytes(ctx: CtxDep, user: UserDep, task_id: LabelTaskId, path: SamplePath) -> File:
    """One sample's bytes, from the dataset version's package."""
    return await sample_response(ctx, user, task_id, path)


@put("/label-tasks/{task_id:str}/labels")
async def put_labels(
    ctx: CtxDep, user: UserDep, task_id: LabelTaskId, data: JSONBody[LabelsBody]
) -> LabelsDone:
    """Label samples: ``{"labels": {path: label}}`` (null clears a label). Labels outside the
    label set and paths that are not samples are refused (422 naming them)."""
    async with ctx.db.write() as session:
        task, workspace = await service.find_task(session, task_id, user)
        done = await service.set_labels(session, task, data.labels, user)
        await session.flush()
        return LabelsDone(labelled=done, task=await service.read(session, task, workspace))


async def upload(ctx: Context, user: Principal, task_id: str, data: bytes) -> LabelsDone:
    labels = service.parse_csv(data)
    async with ctx.db.write() as session:
        task, workspace = await service.find_task(session, task_id, user)
        done = await service.set_labels(session, task, labels, user, field="file")
        await session.flush()
        return LabelsDone(labelled=done, task=await service.read(session, task, workspace))


@post(
    "/label-tasks/{task_id:str}/labels/upload",
    request_max_body_size=service.MAX_CSV_BYTES + 64 * 1024,
    status_code=200,
)
async def upload_labels(
    ctx: CtxDep, user: UserDep, task_id: LabelTaskId, request: Request[Any, Any, Any]
) -> LabelsDone:
    """Label samples from a CSV file (header ``path,label``): the request body, or the form
    field ``file`` of a multipart form. A malformed file is refused naming its line."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidInput.field("file", "required", "send the CSV file as the field 'file'")
        data = await file.read()
    else:
        data = await request.body()
    return await upload(ctx, user, task_id, data)


router = Router(
    path="/",
    route_handlers=[
        signed_in_routes(
            list_label_tasks,
            read_label_task,
            list_samples,
            sample_bytes,
            put_labels,
            upload_labels,
        )
    ],
    exception_handlers=EXCEPTION_HANDLERS,
)
