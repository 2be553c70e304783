"""The parts of a job step's ``spec`` and ``algorithm`` besides the code: resources, engine,
log export, and the manual's job metadata names.

What Gallery cannot honour is refused here, at construction, saying what to do instead:
``JobSpec(schedule_policy=...)`` (there are no shared pools to queue in) and
``JobSpec(volumes=...)`` (sandboxed steps mount nothing). An engine or a container image is
carried into the workflow; a step asking for anything but the built-in engine fails when it
runs (docs/sdk.md, "The manual's names").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sdk._data import Storage, StorageJoin
from sdk._errors import WorkflowDefinitionError
from sdk._placeholder import Placeholder

EngineValue = str | Placeholder | None


def _engine_value(field: str, value: Any) -> EngineValue:
    if value is not None and not isinstance(value, str | Placeholder):
        raise WorkflowDefinitionError(
            f"JobEngine: {field} must be text or a wf.Placeholder, not {value!r}"
        )
    return value


class JobEngine:
    """The environment a job asks for: an engine by name and version (or id), or a container
    image (``image_url``, text or a placeholder such as ``SWRImagePlaceholder``).

    Jobs here run on the worker's own Python: ``JobEngine(engine_name="python")`` (optionally
    with the version, e.g. ``"3.12"``) names it. Any other engine or an image is kept in the
    compiled workflow, and the step fails when it runs, naming what it asked for."""

    def __init__(
        self,
        engine_id: str | Placeholder | None = None,
        engine_name: str | Placeholder | None = None,
        engine_version: str | Placeholder | None = None,
        image_url: str | Placeholder | None = None,
    ) -> None:
        self.engine_id = _engine_value("engine_id", engine_id)
        self.engine_name = _engine_value("engine_name", engine_name)
        self.engine_version = _engine_value("engine_version", engine_version)
        self.image_url = _engine_value("image_url", image_url)


class JobResource:
    """What a job runs on: a flavor (a flavor id, or the manual's JSON form
    ``{"flavor_id": ..., "pool_id": ...}``, often a placeholder) and the node count."""

    def __init__(self, flavor: Any = None, node_count: int | Placeholder = 1) -> None:
        if isinstance(node_count, bool) or not isinstance(node_count, int | Placeholder):
            raise WorkflowDefinitionError(
                f"JobResource: node_count must be an int or a wf.Placeholder, not {node_count!r}"
            )
        if isinstance(node_count, int) and node_count != 1:
            raise WorkflowDefinitionError(
                f"JobResource: node_count={node_count} asks for a distributed job, and a "
                "Gallery job runs as one process on one worker; leave node_count at 1"
            )
        self.flavor = flavor
        self.node_count = node_count


class LogExportPath:
    """Where a job's log is copied when the step ends (``JobSpec(log_export_path=...)``): a
    directory, usually ``output_storage.join("logs/")``. The log is written there as
    ``<step>-<attempt>.log``, also when the step fails; the registry keeps its own copy."""

    def __init__(self, obs_url: str | Placeholder | Storage | StorageJoin) -> None:
        if not isinstance(obs_url, str | Placeholder | Storage | StorageJoin):
            raise WorkflowDefinitionError(
                f"LogExportPath: obs_url must be a path, a storage path or a placeholder, "
                f"not {obs_url!r}"
            )
        self.obs_url = obs_url


class JobSpec:
    """A job's resources and log export. ``schedule_policy`` and ``volumes`` are refused:
    Gallery has no shared pools to queue in, and sandboxed steps mount nothing."""

    def __init__(
        self,
        resource: JobResource | None = None,
        log_export_path: LogExportPath | None = None,
        schedule_policy: Any = None,
        volumes: Any = None,
    ) -> None:
        if resource is not None and not isinstance(resource, JobResource):
            raise WorkflowDefinitionError(
                f"JobSpec: resource must be a wf.steps.JobResource, not {resource!r}"
            )
        if log_export_path is not None and not isinstance(log_export_path, LogExportPath):
            raise WorkflowDefinitionError(
                "JobSpec: log_export_path must be a wf.steps.LogExportPath(obs_url=...), "
                f"not {log_export_path!r}"
            )
        if schedule_policy is not None:
            raise WorkflowDefinitionError(
                "JobSpec: schedule_policy (a job's priority in a shared pool) cannot be "
                "honoured: Gallery has no shared pools to queue in, a step starts as soon as "
                "a worker serving its flavor is free; leave schedule_policy out"
            )
        if volumes is not None:
            raise WorkflowDefinitionError(
                "JobSpec: volumes (file systems mounted into the job) cannot be honoured: "
                "steps run sandboxed and mount nothing; give the data as a "
                "wf.steps.JobInput(data=wf.data.OBSPath(...)) instead, which the job "
                "receives as a local path"
            )
        self.resource = resource or JobResource()
        self.log_export_path = log_export_path
        self.schedule_policy = None
        self.volumes = None


class JobTypeEnum(StrEnum):
    """The kinds of ModelArts training jobs (undocumented in the manual). Here a job step is
    always ``JOB``; an MRS job is refused (see ``MrsJobStep``)."""

    JOB = "job"
    HETERO_JOB = "hetero_job"
    AUTOSEARCH_JOB = "autosearch_job"
    MRS_JOB = "mrs_job"
    EDGE_JOB = "edge_job"


class JobMetadata:
    """A training job's metadata in ModelArts (undocumented in the manual): its name,
    description and annotations. Here a job is a step: its step's ``name``, ``title`` and
    ``description`` are that metadata, so no step takes a JobMetadata."""

    def __init__(
        self,
        name: str | None = None,
        description: str | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.annotations = dict(annotations or {})
