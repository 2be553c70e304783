"""Label tasks: finding them (members of their workspace only), counting, labelling (by
body or CSV file), the completion rule, and a sample's bytes from its dataset version.

The runner's labeling step uses ``open_task``, ``labels_of`` and ``finish`` (the same rows
the API reads and writes); ``check_continue`` is what *continue* asks before the step goes on.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.assets.models import Asset, AssetVersion
from registry.blobs import BlobNotFound, BlobStore
from registry.errors import Conflict, FieldError, InvalidInput, NotFound
from registry.labeling.models import (
    DONE,
    MAX_LABEL,
    OPEN,
    LabelTask,
    SampleLabel,
    needed,
    rule_text,
)
from registry.labeling.schemas import (
    LabelTaskRead,
    LabelTaskSummary,
    SamplePage,
    SampleRead,
)
from registry.models_base import utcnow
from registry.workspaces.models import Workspace, WorkspaceMember

PAGE = 100
MAX_CSV_BYTES = 8 * 1024 * 1024
MAX_NAMED = 10
"""An answer naming bad paths or labels names this many of them."""
FILES = "files/"


def _named(items: list[str]) -> str:
    shown = ", ".join(repr(i) for i in items[:MAX_NAMED])
    return shown + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")


async def find_task(
    session: AsyncSession, task_id: str, principal: Principal
) -> tuple[LabelTask, Workspace]:
    """A task of one of the principal's workspaces; 404 for everyone else."""
    row = (
        await session.exec(
            select(LabelTask, Workspace)
            .join(Workspace, col(Workspace.id) == col(LabelTask.workspace_id))
            .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
            .where(LabelTask.task_id == task_id, WorkspaceMember.user_id == principal.user_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no label task {task_id!r}")
    return row[0], row[1]


async def counts(session: AsyncSession, task: LabelTask) -> tuple[int, int]:
    """(samples, labelled)."""
    total, labelled = (
        await session.exec(
            select(func.count(col(SampleLabel.id)), func.count(col(SampleLabel.label))).where(
                SampleLabel.task_pk == task.id
            )
        )
    ).one()
    return int(total), int(labelled)


async def summary(session: AsyncSession, task: LabelTask, workspace: Workspace) -> LabelTaskSummary:
    total, labelled = await counts(session, task)
    return LabelTaskSummary(
        id=task.task_id,
        name=task.name,
        workspace=workspace.name,
        dataset=task.dataset_pin,
        task_type=task.task_type,
        status=task.status,
        samples=total,
        labelled=labelled,
        remaining=total - labelled,
        execution_id=task.execution_id,
        step=task.step,
        created_at=task.created_at,
    )


async def read(session: AsyncSession, task: LabelTask, workspace: Workspace) -> LabelTaskRead:
    base = await summary(session, task, workspace)
    need = needed(task, base.samples)
    return LabelTaskRead(
        **base.model_dump(),
        labels=list(task.labels),
        completion_rule=rule_text(task),
        needed=need,
        complete=base.labelled >= need,
        result=task.result_pin,
    )


async def list_tasks(session: AsyncSession, workspace: Workspace) -> list[LabelTaskSummary]:
    tasks = (
        await session.exec(
            select(LabelTask)
            .where(LabelTask.workspace_id == workspace.id)
            .order_by(col(LabelTask.created_at).desc(), col(LabelTask.id).desc())
        )
    ).all()
    return [await summary(session, t, workspace) for t in tasks]


def _cursor(cursor: str | None) -> int:
    if cursor in (None, ""):
        return 0
    assert cursor is not None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput.field("cursor", "cursor", f"{cursor!r} is not a cursor of this list")
    return int(cursor)


async def samples(
    session: AsyncSession,
    task: LabelTask,
    *,
    state: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE,
) -> SamplePage:
    """The task's samples in dataset order, ``state`` ``labelled`` or ``unlabelled`` (or
    both), ``limit`` at a time after ``cursor``."""
    if state not in (None, "", "labelled", "unlabelled"):
        raise InvalidInput.field("state", "enum", f"{state!r} is not 'labelled' or 'unlabelled'")
    query = select(SampleLabel).where(
        SampleLabel.task_pk == task.id, col(SampleLabel.id) > _cursor(cursor)
    )
    if state == "labelled":
        query = query.where(col(SampleLabel.label).is_not(None))
    elif state == "unlabelled":
        query = query.where(col(SampleLabel.label).is_(None))
    rows = (await session.exec(query.order_by(col(SampleLabel.id)).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return SamplePage(
        items=[SampleRead(path=r.path, label=r.label) for r in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


async def sample_at(session: AsyncSession, task: LabelTask, index: int) -> SampleLabel | None:
    """The ``index``-th sample (0-based, dataset order)."""
    return (
        await session.exec(
            select(SampleLabel)
            .where(SampleLabel.task_pk == task.id)
            .order_by(col(SampleLabel.id))
            .offset(max(index, 0))
            .limit(1)
        )
    ).first()


async def first_unlabelled(session: AsyncSession, task: LabelTask) -> int | None:
    """The index of the first sample still without a label."""
    first = (
        await session.exec(
            select(SampleLabel.id)
            .where(SampleLabel.task_pk == task.id, col(SampleLabel.label).is_(None))
            .order_by(col(SampleLabel.id))
        )
    ).first()
    if first is None:
        return None
    before = (
        await session.exec(
            select(func.count(col(SampleLabel.id))).where(
                SampleLabel.task_pk == task.id, col(SampleLabel.id) < first
            )
        )
    ).one()
    return int(before)


def normal_path(path: str) -> str:
    """A sample's path as the task keeps it (as ``annotations.csv`` names it): without a
    leading ``./`` or ``/``."""
    path = path.strip()
    while path.startswith(("./", "/")):
        path = path[2:] if path.startswith("./") else path[1:]
    return path


async def set_labels(
    session: AsyncSession,
    task: LabelTask,
    labels: Mapping[str, str | None],
    principal: Principal,
    *,
    field: str = "labels",
) -> int:
    """Give samples their labels (None clears one). 422 naming labels outside the task's
    label set and paths that are not its samples; 409 once the task is done."""
    if task.status == DONE:
        raise Conflict(
            f"label task {task.name!r} is done (its labels were published as "
            f"{task.result_pin}); a new run of its labeling step reopens it"
        )
    wanted = {
        normal_path(p): (v.strip() if isinstance(v, str) else None) for p, v in labels.items()
    }
    errors: list[FieldError] = []
    outside = sorted({v for v in wanted.values() if v is not None and v not in task.labels})
    if outside:
        errors.append(
            FieldError(
                field,
                "label_set",
                f"{_named(outside)} {'is' if len(outside) == 1 else 'are'} not in the label "
                f"set ({', '.join(task.labels)})",
            )
        )
    rows: dict[str, SampleLabel] = {}
    paths = list(wanted)
    for start in range(0, len(paths), 500):
        chunk = paths[start : start + 500]
        found = await session.exec(
            select(SampleLabel).where(
                SampleLabel.task_pk == task.id, col(SampleLabel.path).in_(chunk)
            )
        )
        rows.update({r.path: r for r in found})
    unknown = [p for p in paths if p not in rows]
    if unknown:
        errors.append(
            FieldError(
                field,
                "sample",
                f"{_named(unknown)} {'is' if len(unknown) == 1 else 'are'} not a sample of "
                f"label task {task.name!r}",
            )
        )
    if errors:
        raise InvalidInput.of("labels", errors)
    now = utcnow()
    for path, label in wanted.items():
        row = rows[path]
        row.label = label
        row.labelled_by = principal.user_id if label is not None else None
        row.labelled_at = now if label is not None else None
        session.add(row)
    return len(wanted)


def parse_csv(data: bytes) -> dict[str, str]:
    """A labels file: a header ``path,label`` and one row per sample. 422 naming the line
    at fault."""
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput.field(
            "file", "size", f"the file is over {MAX_CSV_BYTES} bytes; send it in parts"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.field("file", "encoding", "the file is not UTF-8 text") from None
    labels: dict[str, str] = {}
    try:
        rows = csv.reader(io.StringIO(text, newline=""))
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header] != ["path", "label"]:
            raise InvalidInput.field(
                "file",
                "header",
                f"line 1: the file must start with the header 'path,label' (found "
                f"{','.join(header or [])!r})",
            )
        for row in rows:
            number = rows.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 2:
                raise InvalidInput.field(
                    "file", "columns", f"line {number}: {len(row)} columns, not 2 (path,label)"
                )
            path, label = normal_path(row[0]), row[1].strip()
            if not path or not label:
                raise InvalidInput.field(
                    "file",
                    "empty",
                    f"line {number}: the {'path' if not path else 'label'} is empty",
                )
            if len(label) > MAX_LABEL:
                raise InvalidInput.field(
                    "file", "length", f"line {number}: the label is over {MAX_LABEL} characters"
                )
            if path in labels:
                raise InvalidInput.field(
                    "file", "duplicate", f"line {number}: {path!r} is labelled twice"
                )
            labels[path] = label
    except csv.Error as exc:
        raise InvalidInput.field("file", "csv", f"line {rows.line_num}: {exc}") from None
    if not labels:
        raise InvalidInput.field("file", "empty", "the file labels no sample")
    return labels


async def check_continue(session: AsyncSession, execution_id: str, step: str) -> None:
    """*Continue* of a labeling step: 409 saying how many samples remain unless the task's
    completion rule holds."""
    task = (
        await session.exec(
            select(LabelTask).where(LabelTask.execution_id == execution_id, LabelTask.step == step)
        )
    ).first()
    if task is None:
        raise Conflict(
            f"step {step!r} has no label task: it has not made it yet, or a later run of a "
            "step with the same task_name took the task over"
        )
    total, labelled = await counts(session, task)
    need = needed(task, total)
    if labelled < need:
        remaining = need - labelled
        raise Conflict(
            f"{remaining} sample{'s remain' if remaining != 1 else ' remains'} to be labelled in "
            f"label task {task.name!r} ({labelled} of {total} labelled; the rule: "
            f"{rule_text(task)})"
        )


# --- for the runner's labeling step ---------------------------------------------------------


async def open_task(
    session: AsyncSession,
    *,
    workspace_id: int,
    name: str,
    dataset_pin: str,
    labels: list[str],
    task_type: str | None,
    min_labelled: int | None,
    execution_id: str,
    step: str,
    samples: Mapping[str, str | None],
) -> LabelTask:
    """The workspace's task ``name``, made or reused: it now labels ``dataset_pin`` (its
    ``samples``: path → the label the dataset has), for this execution's step. A reused
    task keeps the labels people gave to samples still there; samples no longer there go."""
    task = (
        await session.exec(
            select(LabelTask).where(LabelTask.workspace_id == workspace_id, LabelTask.name == name)
        )
    ).first()
    if task is None:
        task = LabelTask(
            task_id=str(uuid.uuid4()), workspace_id=workspace_id, name=name, dataset_pin=dataset_pin
        )
    task.dataset_pin = dataset_pin
    task.labels = list(labels)
    task.task_type = task_type
    task.min_labelled = min_labelled
    task.status = OPEN
    task.execution_id = execution_id
    task.step = step
    task.result_pin = None
    session.add(task)
    await session.flush()
    existing = {
        r.path: r
        for r in (await session.exec(select(SampleLabel).where(SampleLabel.task_pk == task.id)))
    }
    gone = [r.id for p, r in existing.items() if p not in samples]
    for start in range(0, len(gone), 500):
        await session.exec(
            delete(SampleLabel).where(col(SampleLabel.id).in_(gone[start : start + 500]))
        )  # type: ignore[call-overload]
    assert task.id is not None
    for path, label in samples.items():
        row = existing.get(path)
        if row is None:
            session.add(
                SampleLabel(task_pk=task.id, path=path, label=label if label in labels else None)
            )
        elif row.label is not None and row.label not in labels:
            row.label = None
            session.add(row)
    return task


async def labels_of(session: AsyncSession, task_id: str) -> tuple[LabelTask, dict[str, str | None]]:
    task = (await session.exec(select(LabelTask).where(LabelTask.task_id == task_id))).one()
    rows = await session.exec(
        select(SampleLabel.path, SampleLabel.label)
        .where(SampleLabel.task_pk == task.id)
        .order_by(col(SampleLabel.id))
    )
    return task, dict(rows.all())


async def task_of(session: AsyncSession, execution_id: str, step: str) -> LabelTask | None:
    return (
        await session.exec(
            select(LabelTask).where(LabelTask.execution_id == execution_id, LabelTask.step == step)
        )
    ).first()


async def finish(session: AsyncSession, task_id: str, result_pin: str) -> None:
    task = (await session.exec(select(LabelTask).where(LabelTask.task_id == task_id))).one()
    task.status = DONE
    task.result_pin = result_pin
    session.add(task)


# --- a sample's bytes ------------------------------------------------------------------------


async def package_of(session: AsyncSession, pin: str) -> tuple[str, str]:
    """(blob key, sha256) of the dataset version's package."""
    content_id, _, version = pin.partition("@")
    row = (
        await session.exec(
            select(AssetVersion.package_key, AssetVersion.package_sha256)
            .join(Asset, col(Asset.id) == col(AssetVersion.asset_id))
            .where(Asset.content_id == content_id, AssetVersion.version == version)
        )
    ).first()
    if row is None or not row[0] or not row[1]:
        raise NotFound(f"the dataset version {pin} of this task is gone")
    return str(row[0]), str(row[1])


def sample_file(blobs: BlobStore, cache: Path, key: str, sha256: str, path: str) -> Path:
    """The sample ``path`` of a dataset package, from its unpacked copy under ``cache``
    (unpacked on first use; packages never change, so their sha names the copy)."""
    tree = cache / sha256
    if not tree.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=cache))
        try:
            archive = work / "package.tar.gz"
            try:
                with archive.open("wb") as sink:
                    for chunk in blobs.open(key):
                        sink.write(chunk)
            except BlobNotFound:
                raise NotFound("the dataset version's package is missing from storage") from None
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work / "tree", filter="data")
            with contextlib.suppress(OSError):  # unpacked meanwhile by another request
                os.rename(work / "tree", tree)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    root = (tree / FILES.rstrip("/")).resolve()
    found = (root / path).resolve()
    if not found.is_relative_to(root) or not found.is_file():
        raise NotFound(f"no sample {path!r} in the dataset version")
    return found
