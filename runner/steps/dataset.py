"""Dataset steps: ``CreateDatasetStep`` and ``ReleaseDatasetStep``.

A dataset is an asset of kind ``dataset``. Each of its versions is a package holding the
sample files under ``files/`` and ``manifest.json``::

    {"format": 1, "data_type": "image", "labels": ["0", "1", …],
     "samples": [{"path": "files/a/1.png", "label": "1", "split": "train"}, …]}

(``label`` and ``split`` may be null). Creating a dataset (or adding to it) publishes a
*draft* version, ``X.Y.Z-draft.N``; releasing freezes the next ``X.Y.Z`` with every sample
assigned to ``train`` or ``eval`` by the ratio asked for. A job given a dataset version as an
input finds that same layout in its input directory.

Labels of already labelled data come with the files as ``annotations.csv`` at the top of the
source directory: a header ``path,label`` and one row per file (``path`` relative to that
directory). It is read, checked (every path a file of the source, no path twice, no empty
label) and not kept as a sample.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import semver
from sqlmodel import select

from registry.assets.models import Asset
from registry.labeling.models import LabelTask
from runner import objects
from runner.messages import StepTask
from runner.packages import install_version
from runner.steps.assets import (
    asset_name,
    named_version,
    own_asset,
    owner_of,
    package_of,
    publish,
    versions_of,
)
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk.vocabulary import Kind

MANIFEST = "manifest.json"
FILES = "files"
ANNOTATIONS = "annotations.csv"
MAX_SAMPLES = 200_000


def _output(task: StepTask) -> str:
    found = [o.name for o in task.step.outputs if o.kind == "dataset"]
    if len(found) != 1:
        raise StepFailure(
            f"step {task.step.name!r}: a dataset step declares one dataset output (it has "
            f"{len(found)})",
            non_retryable=True,
        )
    return found[0]


def _one_input(task: StepTask) -> tuple[str, Any]:
    if len(task.inputs) != 1:
        raise StepFailure(
            f"step {task.step.name!r}: takes one input (it has {len(task.inputs)})",
            non_retryable=True,
        )
    name, value = next(iter(task.inputs.items()))
    return name, value


def read_annotations(path: Path, files: set[str], where: str) -> dict[str, str]:
    """``annotations.csv``: relative path → label; StepFailure names the line at fault."""
    labels: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            header = next(rows, None)
            if header is None or [h.strip().lower() for h in header] != ["path", "label"]:
                raise StepFailure(
                    f"{where}: {ANNOTATIONS} must start with the header 'path,label' "
                    f"(found {','.join(header or [])!r})",
                    non_retryable=True,
                )
            for number, row in enumerate(rows, start=2):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != 2:
                    raise StepFailure(
                        f"{where}: {ANNOTATIONS} line {number}: {len(row)} columns, not 2 "
                        "(path,label)",
                        non_retryable=True,
                    )
                sample, label = row[0].strip().lstrip("./"), row[1].strip()
                if sample not in files:
                    raise StepFailure(
                        f"{where}: {ANNOTATIONS} line {number}: {row[0]!r} is not a file of "
                        "the data",
                        non_retryable=True,
                    )
                if not label:
                    raise StepFailure(
                        f"{where}: {ANNOTATIONS} line {number}: the label is empty",
                        non_retryable=True,
                    )
                if sample in labels:
                    raise StepFailure(
                        f"{where}: {ANNOTATIONS} line {number}: {sample!r} is labelled twice",
                        non_retryable=True,
                    )
                labels[sample] = label
    except UnicodeDecodeError:
        raise StepFailure(f"{where}: {ANNOTATIONS} is not UTF-8 text", non_retryable=True) from None
    except csv.Error as exc:
        raise StepFailure(f"{where}: {ANNOTATIONS}: {exc}", non_retryable=True) from None
    return labels


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a version's page shows: counts, labels and splits."""
    samples = manifest["samples"]
    splits: dict[str, int] = {}
    for sample in samples:
        if sample.get("split"):
            splits[sample["split"]] = splits.get(sample["split"], 0) + 1
    return {
        "data_type": manifest.get("data_type"),
        "samples": len(samples),
        "labelled": sum(1 for s in samples if s.get("label") is not None),
        "labels": manifest["labels"],
        "splits": splits,
    }


def _gather(ctx: StepContext, task: StepTask, source: str, folder: Path) -> dict[str, Any]:
    """Fetch the source directory into ``folder/files`` and describe it (a manifest)."""
    where = f"step {task.step.name!r}"
    incoming = folder / "incoming"
    try:
        objects.download(ctx.blobs, source, incoming, ctx.tenant.namespace)
    except FileNotFoundError:
        raise StepFailure(
            f"{where}: the data path {source} does not exist (nothing is stored there)",
            non_retryable=True,
        ) from None
    except objects.ObjectPathError as exc:
        raise StepFailure(f"{where}: {exc}", non_retryable=True) from None
    if incoming.is_file():  # a single object: a dataset of one file
        single = incoming
        incoming = folder / "single"
        incoming.mkdir()
        single.rename(incoming / single.name)
    annotations_path = incoming / ANNOTATIONS
    files = sorted(
        p.relative_to(incoming).as_posix()
        for p in incoming.rglob("*")
        if p.is_file() and p != annotations_path
    )
    if not files:
        raise StepFailure(f"{where}: the data path {source} holds no files", non_retryable=True)
    if len(files) > MAX_SAMPLES:
        raise StepFailure(
            f"{where}: {len(files)} files, over the {MAX_SAMPLES} samples a dataset holds",
            non_retryable=True,
        )
    labels: dict[str, str] = {}
    if annotations_path.is_file():
        labels = read_annotations(annotations_path, set(files), where)
        annotations_path.unlink()
    (folder / "dataset").mkdir()
    incoming.rename(folder / "dataset" / FILES)
    return {
        "format": 1,
        "labels": sorted(set(labels.values())),
        "samples": [
            {"path": f"{FILES}/{name}", "label": labels.get(name), "split": None} for name in files
        ],
    }


def _draft_version(versions: list[semver.Version]) -> str:
    """The next draft: ``X.Y.Z-draft.N`` of the next release after the latest one."""
    releases = [v for v in versions if not v.prerelease]
    base = max(releases).bump_minor() if releases else semver.Version(1, 0, 0)
    drafts = [
        v
        for v in versions
        if v.prerelease and v.finalize_version() == base and v.prerelease.startswith("draft.")
    ]
    return f"{base}-draft.{len(drafts) + 1}"


def _release_version(pin: str, versions: list[semver.Version]) -> str:
    """The release a draft becomes (its ``X.Y.Z``), or the next patch when that is taken."""
    drafted = semver.Version.parse(pin.rpartition("@")[2]).finalize_version()
    releases = [v for v in versions if not v.prerelease]
    if drafted in releases or (releases and drafted < max(releases)):
        return str(max(releases).bump_patch())
    return str(drafted)


async def create(ctx: StepContext, task: StepTask) -> Outcome:
    """``CreateDatasetStep``: the files of an object-store directory (and their labels, from
    ``annotations.csv``) become a draft version of the dataset ``dataset_name``."""
    output = _output(task)
    properties = task.settings.get("properties") or {}
    name = asset_name(task.step.name, "dataset_name", properties.get("dataset_name"))
    _, source = _one_input(task)
    if source.kind != "path" or not source.path:
        raise StepFailure(
            f"step {task.step.name!r}: its input is the data's object-store directory",
            non_retryable=True,
        )
    owner = await owner_of(ctx)
    folder = Path(tempfile.mkdtemp(prefix="gallery-dataset-", dir=ctx.work_root))
    try:
        manifest = await asyncio.to_thread(_gather, ctx, task, source.path, folder)
        manifest["data_type"] = properties.get("data_type")
        return await _publish(ctx, task, owner, name, output, manifest, folder, draft=None)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _ratio(step: str, value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        ratio = -1.0
    if not 0.0 < ratio <= 1.0:
        raise StepFailure(
            f"step {step!r}: train_evaluate_sample_ratio {value!r} is not a number in (0, 1]",
            non_retryable=True,
        )
    return ratio


def split(manifest: dict[str, Any], ratio: float) -> None:
    """Assign each sample to ``train`` or ``eval``: the share ``ratio`` of them, picked by a
    hash of their path (the same samples each time, whatever order they came in)."""
    samples = manifest["samples"]
    ranked = sorted(samples, key=lambda s: hashlib.sha256(s["path"].encode()).hexdigest())
    train = round(ratio * len(ranked))
    for index, sample in enumerate(ranked):
        sample["split"] = "train" if index < train else "eval"


async def release(ctx: StepContext, task: StepTask) -> Outcome:
    """``ReleaseDatasetStep``: a dataset version (a draft) frozen as the next release, with
    its train/eval split."""
    output = _output(task)
    where = f"step {task.step.name!r}"
    ratio = _ratio(
        task.step.name, (task.settings.get(output) or {}).get("train_evaluate_sample_ratio")
    )
    _, source = _one_input(task)
    owner = await owner_of(ctx)
    pin = await dataset_pin(ctx, source.kind, source.value, where)
    folder = Path(tempfile.mkdtemp(prefix="gallery-dataset-", dir=ctx.work_root))
    try:
        await install_version(ctx, pin, folder / "dataset", f"{where}: dataset {pin}")
        manifest = _manifest(folder / "dataset", where)
        if ratio is not None:
            split(manifest, ratio)
        name = await _name_of(ctx, pin)
        return await _publish(ctx, task, owner, name, output, manifest, folder, draft=pin)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _manifest(tree: Path, where: str) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((tree / MANIFEST).read_text())
        assert isinstance(manifest.get("samples"), list)
        assert isinstance(manifest.get("labels"), list)
    except (OSError, ValueError, AssertionError):
        raise StepFailure(f"{where}: the dataset version has no readable {MANIFEST}") from None
    return manifest


async def _name_of(ctx: StepContext, pin: str) -> str:
    async with ctx.db.read() as session:
        asset = (
            await session.exec(select(Asset).where(Asset.content_id == pin.partition("@")[0]))
        ).one()
    return asset.name


async def dataset_pin(ctx: StepContext, kind: str, value: Any, where: str) -> str:
    """The dataset version an input names: ``CONTENT_ID@VERSION`` (another step's output),
    or ``{"dataset_name", "version_name"}`` (one of the owner's datasets, by name: its latest
    release when no version is named)."""
    if kind == "dataset" and isinstance(value, str) and "@" in value:
        return value
    if kind == "dataset" and isinstance(value, dict) and value.get("task_name"):
        return await _label_task_pin(ctx, value, where)
    if kind == "dataset" and isinstance(value, dict):
        owner = await owner_of(ctx)
        name = asset_name(where, "dataset_name", value.get("dataset_name"))
        version = value.get("version_name")
        return await named_version(
            ctx, owner, Kind.DATASET, name, version if isinstance(version, str) else None, where
        )
    raise StepFailure(
        f"{where}: its input is a dataset (another step's dataset output, or "
        "wf.data.Dataset(dataset_name=...))",
        non_retryable=True,
    )


async def _label_task_pin(ctx: StepContext, value: dict[str, Any], where: str) -> str:
    """A label task of the workspace named in a definition (``wf.data.LabelTask``): the
    dataset version its labels were published as, or (not done yet) the one it labels."""
    name = value.get("task_name")
    async with ctx.db.read() as session:
        task = (
            await session.exec(
                select(LabelTask).where(
                    LabelTask.workspace_id == ctx.tenant.workspace_id, LabelTask.name == name
                )
            )
        ).first()
    if task is not None:
        return task.result_pin or task.dataset_pin
    if value.get("dataset_name"):  # no such task yet: its dataset (a labeling step makes it)
        owner = await owner_of(ctx)
        dataset = asset_name(where, "dataset_name", value.get("dataset_name"))
        return await named_version(ctx, owner, Kind.DATASET, dataset, None, where)
    raise StepFailure(f"{where}: this workspace has no label task {name!r}", non_retryable=True)


async def _publish(
    ctx: StepContext,
    task: StepTask,
    owner: Any,
    name: str,
    output: str,
    manifest: dict[str, Any],
    folder: Path,
    *,
    draft: str | None,
) -> Outcome:
    (folder / "dataset" / MANIFEST).write_text(json.dumps(manifest, indent=1))
    package = await asyncio.to_thread(
        package_of, task.step.name, folder / "dataset", ctx.settings.max_upload_bytes
    )
    # A release of someone else's dataset (shared with the owner) goes to a dataset of the
    # owner's own, of the same name.
    asset = await own_asset(ctx, owner, Kind.DATASET, name)
    versions = await versions_of(ctx, asset)
    version = _draft_version(versions) if draft is None else _release_version(draft, versions)
    metadata = {"dataset": summary(manifest), "lineage": task.settings.get("lineage") or {}}
    pin = await publish(
        ctx, task, owner, asset, package, {"version": version, "metadata": metadata}
    )
    return Outcome(outputs={output: pin})


def _import_inputs(task: StepTask, where: str) -> tuple[Any, str]:
    """(the target dataset's input, the source directory) of a dataset import step."""
    sources = [v for v in task.inputs.values() if v.kind == "path" and v.path]
    targets = [v for v in task.inputs.values() if not (v.kind == "path" and v.path)]
    if len(task.inputs) != 2 or len(sources) != 1 or len(targets) != 1:
        raise StepFailure(
            f"{where}: takes two inputs, the dataset to add to (a dataset step's output, or "
            "wf.data.Dataset(dataset_name=...)) and the data's object-store directory",
            non_retryable=True,
        )
    source = sources[0].path
    assert source is not None
    return targets[0], source


async def import_data(ctx: StepContext, task: StepTask) -> Outcome:
    """``DatasetImportStep``: the files of an object-store directory (and their labels, from
    its ``annotations.csv``) added to a dataset, as its next draft version. A file whose path
    the dataset already holds replaces it (and its label, when the import gives one)."""
    output = _output(task)
    where = f"step {task.step.name!r}"
    target, source = _import_inputs(task, where)
    kind = "dataset" if isinstance(target.value, dict) else target.kind
    pin = await dataset_pin(ctx, kind, target.value, where)
    properties = task.settings.get("properties") or {}
    owner = await owner_of(ctx)
    folder = Path(tempfile.mkdtemp(prefix="gallery-dataset-", dir=ctx.work_root))
    try:
        await install_version(ctx, pin, folder / "dataset", f"{where}: dataset {pin}")
        manifest = _manifest(folder / "dataset", where)
        (folder / "new").mkdir()
        added = await asyncio.to_thread(_gather, ctx, task, source, folder / "new")
        keep_labels = properties.get("import_annotations") is not False

        def merge() -> None:
            samples = {s["path"]: s for s in manifest["samples"]}
            for sample in added["samples"]:
                target_file = folder / "dataset" / sample["path"]
                target_file.parent.mkdir(parents=True, exist_ok=True)
                (folder / "new" / "dataset" / sample["path"]).replace(target_file)
                label = sample["label"] if keep_labels else None
                if sample["path"] in samples:
                    if label is not None:
                        samples[sample["path"]]["label"] = label
                else:
                    samples[sample["path"]] = {
                        "path": sample["path"],
                        "label": label,
                        "split": None,
                    }
            if len(samples) > MAX_SAMPLES:
                raise StepFailure(
                    f"{where}: {len(samples)} samples, over the {MAX_SAMPLES} a dataset holds",
                    non_retryable=True,
                )
            manifest["samples"] = list(samples.values())
            present = {s["label"] for s in manifest["samples"] if s.get("label") is not None}
            manifest["labels"] = sorted(present | set(manifest["labels"]))

        await asyncio.to_thread(merge)
        name = await _name_of(ctx, pin)
        return await _publish(ctx, task, owner, name, output, manifest, folder, draft=None)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
