"""``ModelStep``: register what a job produced as a version of a *model* asset.

The step's input (a job's output directory, or an object-store path of the workspace) is
packed as ``release_to_gallery`` packs code (sorted entries, zeroed times) and published as a
version of the workspace owner's model asset named ``model_name`` (made, private, on first
use): the next version, or the explicit ``model_version``. The version's metadata holds the
model's settings (``model_type`` …), its lineage — which execution, workflow and step produced
it, with which algorithm version — and the float metrics that step reported. The step's
output is the model version, ``CONTENT_ID@VERSION``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from registry.versions.uploads import PackageFile
from runner.messages import StepTask
from runner.objects import ObjectPathError, download
from runner.steps.assets import asset_name, own_asset, owner_of, package_of, publish
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk.vocabulary import Kind

VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


def _settings(task: StepTask) -> tuple[str, dict[str, Any]]:
    """The model output's name and its resolved settings."""
    outputs = [o for o in task.step.outputs if o.kind == "model"]
    if len(outputs) != 1:
        raise StepFailure(
            f"step {task.step.name!r}: a model step declares one ModelOutput (it has "
            f"{len(outputs)})",
            non_retryable=True,
        )
    name = outputs[0].name
    settings = task.settings.get(name)
    return name, dict(settings) if isinstance(settings, dict) else {}


def _model_version(step: str, settings: dict[str, Any]) -> str | None:
    version = settings.get("model_version")
    if version in (None, ""):
        return None
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        raise StepFailure(
            f"step {step!r}: model_version {version!r} is not a version like 1.2.0",
            non_retryable=True,
        )
    return version


def _source(task: StepTask) -> str:
    paths = [v.path for v in task.inputs.values() if v.kind == "path" and v.path]
    if len(paths) != 1:
        raise StepFailure(
            f"step {task.step.name!r}: a model step takes one input, the model's files (a "
            f"job's output or an object-store path); it has {len(paths)}",
            non_retryable=True,
        )
    return paths[0]


def _gather(ctx: StepContext, task: StepTask, folder: Path) -> PackageFile:
    """Fetch the model's files and pack them; the package (the model's files, checked)."""
    source = _source(task)
    missing = f"step {task.step.name!r}: the model output at {source} is missing its files"
    try:
        download(ctx.blobs, source, folder / "model", ctx.tenant.namespace)
    except FileNotFoundError:
        raise StepFailure(f"{missing} (the job wrote nothing there)", non_retryable=True) from None
    except ObjectPathError as exc:
        raise StepFailure(f"step {task.step.name!r}: {exc}", non_retryable=True) from None
    if not any(p.is_file() for p in (folder / "model").rglob("*")):
        raise StepFailure(missing, non_retryable=True)
    return package_of(task.step.name, folder / "model", ctx.settings.max_upload_bytes)


async def run(ctx: StepContext, task: StepTask) -> Outcome:
    output, settings = _settings(task)
    name = asset_name(task.step.name, "model_name", settings.get("model_name"))
    version = _model_version(task.step.name, settings)
    owner = await owner_of(ctx)
    lineage = task.settings.get("lineage") or {}
    description = str(settings.get("description") or "")
    folder = Path(tempfile.mkdtemp(prefix="gallery-model-", dir=ctx.work_root))
    try:
        package = await asyncio.to_thread(_gather, ctx, task, folder)
        metadata = {
            "model": {
                k: v for k, v in settings.items() if k not in ("model_name", "model_version")
            },
            "lineage": lineage,
            "metrics": {
                key: value
                for source in lineage.get("inputs", [])
                for key, value in (source.get("metrics") or {}).items()
            },
        }
        manifest: dict[str, Any] = {"description": description, "metadata": metadata}
        if version is not None:
            manifest["version"] = version
        asset = await own_asset(ctx, owner, Kind.MODEL, name, description)
        pin = await publish(ctx, task, owner, asset, package, manifest)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    return Outcome(outputs={output: pin})
