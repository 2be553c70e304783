"""``LabelingStep``: people label the samples of a dataset version, then the pipeline goes on.

The step runs twice. First (phase ``start``) it creates — or reuses, by ``task_name`` in the
workspace — the label task (``registry.labeling``) over its input dataset version, with the
labels the dataset already has that are in the label set, and answers "wait for people": the
workflow records the step ``waiting_input`` (``waiting_for: ["labels"]``), the to-do list
shows it, and people label on the labeling page or through the API. *Continue* is accepted
once the task's completion rule holds (the registry checks it); the step then runs again
(phase ``finish``) and publishes the labels as a new draft version of the dataset, its output
(``CONTENT_ID@VERSION``, an input a ReleaseDatasetStep or a job takes as a dataset).

The completion rule: every sample labelled, unless ``LabelTaskProperties(properties=
{"min_labelled": N})`` asks for at least ``N`` labelled samples.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from registry.labeling import service as labeling
from registry.labeling.models import MAX_LABEL, WAITING_FOR, needed
from runner.messages import StepTask
from runner.packages import install_version
from runner.steps.assets import asset_name, owner_of
from runner.steps.base import Outcome, StepContext, StepFailure
from runner.steps.dataset import FILES, _manifest, _name_of, _publish, dataset_pin


def _output(task: StepTask) -> str:
    found = [o.name for o in task.step.outputs if o.kind in ("label_task", "dataset")]
    if len(found) != 1:
        raise StepFailure(
            f"step {task.step.name!r}: a labeling step declares one LabelingOutput (it has "
            f"{len(found)})",
            non_retryable=True,
        )
    return found[0]


def _label_set(where: str, labels: Any) -> list[str]:
    names: list[str] = []
    for item in labels or []:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_LABEL:
            raise StepFailure(
                f"{where}: label {name!r} is not a label name (text of 1 to {MAX_LABEL} "
                "characters)",
                non_retryable=True,
            )
        if name.strip() in names:
            raise StepFailure(f"{where}: label {name!r} is named twice", non_retryable=True)
        names.append(name.strip())
    return names


def _min_labelled(where: str, extra: Any) -> int | None:
    value = extra.get("min_labelled") if isinstance(extra, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StepFailure(
            f"{where}: properties min_labelled {value!r} is not a whole number of at least 1",
            non_retryable=True,
        )
    return value


def _relative(path: str) -> str:
    return path.removeprefix(f"{FILES}/")


async def run(ctx: StepContext, task: StepTask) -> Outcome:
    if task.phase == "finish":
        return await _finish(ctx, task)
    return await _start(ctx, task)


async def _start(ctx: StepContext, task: StepTask) -> Outcome:
    where = f"step {task.step.name!r}"
    _output(task)
    if len(task.inputs) != 1:
        raise StepFailure(
            f"{where}: takes one input, the dataset to label (it has {len(task.inputs)})",
            non_retryable=True,
        )
    source = next(iter(task.inputs.values()))
    properties = task.settings.get("properties") or {}
    named = source.value if isinstance(source.value, dict) else {}
    # wf.data.LabelTask(dataset_name, task_name) (or a placeholder's such value): that task
    given = properties.get("task_name") or named.get("task_name") or task.step.name
    name = asset_name(task.step.name, "task_name", given)
    labels = _label_set(where, properties.get("labels"))
    minimum = _min_labelled(where, properties.get("properties"))
    task_type = properties.get("task_type")
    await owner_of(ctx)
    kind = "dataset" if named else source.kind  # a dataset or label task named by value
    pin = await dataset_pin(ctx, kind, source.value, where)
    folder = Path(tempfile.mkdtemp(prefix="gallery-labeling-", dir=ctx.work_root))
    try:
        await install_version(ctx, pin, folder / "dataset", f"{where}: dataset {pin}")
        manifest = _manifest(folder / "dataset", where)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    if not labels:
        labels = [str(label) for label in manifest["labels"]]
    if not labels:
        raise StepFailure(
            f"{where}: no label set: give LabelTaskProperties(labels=[wf.steps.Label(name=...)"
            ", ...]) (the dataset has no labels either)",
            non_retryable=True,
        )
    samples = {_relative(s["path"]): s.get("label") for s in manifest["samples"]}
    if not samples:
        raise StepFailure(f"{where}: the dataset {pin} has no samples", non_retryable=True)
    async with ctx.db.write() as session:
        await labeling.open_task(
            session,
            workspace_id=ctx.tenant.workspace_id,
            name=name,
            dataset_pin=pin,
            labels=labels,
            task_type=str(task_type) if task_type else None,
            min_labelled=minimum,
            execution_id=task.execution_id,
            step=task.step.name,
            samples=samples,
        )
    return Outcome(waiting=[WAITING_FOR])


async def _finish(ctx: StepContext, task: StepTask) -> Outcome:
    """Continued: the labels become a draft version of the dataset (unless the rule no longer
    holds: then the step waits again)."""
    where = f"step {task.step.name!r}"
    output = _output(task)
    async with ctx.db.read() as session:
        found = await labeling.task_of(session, task.execution_id, task.step.name)
        if found is None:
            raise StepFailure(
                f"{where}: its label task is gone (deleted with its workspace?)",
                non_retryable=True,
            )
        total, labelled = await labeling.counts(session, found)
        _, labels = await labeling.labels_of(session, found.task_id)
    if labelled < needed(found, total):
        return Outcome(waiting=[WAITING_FOR])
    owner = await owner_of(ctx)
    folder = Path(tempfile.mkdtemp(prefix="gallery-labeling-", dir=ctx.work_root))
    try:
        await install_version(
            ctx, found.dataset_pin, folder / "dataset", f"{where}: dataset {found.dataset_pin}"
        )
        manifest = _manifest(folder / "dataset", where)
        for sample in manifest["samples"]:
            sample["label"] = labels.get(_relative(sample["path"]))
        manifest["labels"] = list(found.labels)
        name = await _name_of(ctx, found.dataset_pin)
        outcome = await _publish(ctx, task, owner, name, output, manifest, folder, draft=None)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    async with ctx.db.write() as session:
        await labeling.finish(session, found.task_id, outcome.outputs[output])
    return outcome
