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
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import select

from registry.accounts.service import Principal
from registry.assets.crud import create_asset
from registry.assets.models import Asset
from registry.assets.schemas import AssetCreate
from registry.errors import GalleryError
from registry.versions.archives import PackageLimits
from registry.versions.service import publish_version
from registry.versions.uploads import PackageFile, PublishUpload
from runner.messages import StepTask
from runner.objects import ObjectPathError, download
from runner.steps.base import Outcome, StepContext, StepFailure
from sdk import spec as ir
from sdk._errors import WorkflowDefinitionError
from sdk._packaging import pack
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


def _model_name(step: str, settings: dict[str, Any]) -> str:
    name = settings.get("model_name")
    if not isinstance(name, str) or not ir.NAME_RE.fullmatch(name):
        raise StepFailure(
            f"step {step!r}: model_name {name!r} is not a model name ({ir.NAME_RULE})",
            non_retryable=True,
        )
    return name


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
    try:
        download(ctx.blobs, source, folder / "model", ctx.tenant.namespace)
    except FileNotFoundError:
        raise StepFailure(
            f"step {task.step.name!r}: the model output at {source} is missing its files "
            "(the job wrote nothing there)",
            non_retryable=True,
        ) from None
    except ObjectPathError as exc:
        raise StepFailure(f"step {task.step.name!r}: {exc}", non_retryable=True) from None
    try:
        package = pack(folder / "model")
    except WorkflowDefinitionError as exc:
        raise StepFailure(f"step {task.step.name!r}: {exc}", non_retryable=True) from None
    if package.files == 0:
        raise StepFailure(
            f"step {task.step.name!r}: the model output at {source} is missing its files",
            non_retryable=True,
        )
    limit = ctx.settings.max_upload_bytes
    if len(package.data) > limit:
        raise StepFailure(
            f"step {task.step.name!r}: the model's files pack to {len(package.data)} bytes, "
            f"over the {limit}-byte package limit (GALLERY_MAX_UPLOAD_BYTES)",
            non_retryable=True,
        )
    path = folder / "model.tar.gz"
    path.write_bytes(package.data)
    return PackageFile(path, len(package.data), package.sha256)


async def _asset(ctx: StepContext, owner: Principal, name: str, description: str) -> Asset:
    """The owner's model asset of that name, made (private) when missing."""
    async with ctx.db.write() as session:
        found = (
            await session.exec(
                select(Asset).where(
                    Asset.owner_id == owner.user_id, Asset.kind == "model", Asset.name == name
                )
            )
        ).first()
        if found is not None:
            return found
        data = AssetCreate(kind=Kind.MODEL, name=name, title=name, description=description)
        return await create_asset(session, data=data, principal=owner)


async def run(ctx: StepContext, task: StepTask) -> Outcome:
    output, settings = _settings(task)
    name = _model_name(task.step.name, settings)
    version = _model_version(task.step.name, settings)
    owner = await ctx.tenants.owner(ctx.tenant)
    if owner is None:
        raise StepFailure(
            "the workspace's owner is deactivated or gone: no model is registered",
            non_retryable=True,
        )
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
        manifest: dict[str, Any] = {
            "description": description,
            "package_sha256": package.sha256,
            "metadata": metadata,
        }
        if version is not None:
            manifest["version"] = version
        asset = await _asset(ctx, owner, name, description)
        try:
            published = await publish_version(
                ctx.db,
                ctx.blobs,
                asset=asset,
                upload=PublishUpload(json.dumps(manifest).encode(), package),
                principal=owner,
                limits=PackageLimits.from_settings(ctx.settings),
            )
        except GalleryError as exc:
            raise StepFailure(
                f"step {task.step.name!r}: registering model {name!r}: {exc.detail}",
                non_retryable=exc.status < 500,
            ) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    return Outcome(outputs={output: f"{asset.content_id}@{published.version.version}"})
