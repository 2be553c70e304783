"""Algorithms a job step runs: local code, an algorithm asset, or a subscribed gallery one."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from sdk._errors import WorkflowDefinitionError
from sdk._placeholder import Placeholder, check_name


class AlgorithmParameters:
    """One ``--name=value`` argument of the algorithm; the value may be a placeholder."""

    def __init__(self, name: str, value: Any) -> None:
        self.name = check_name("algorithm parameter", name)
        self.value = value


class _AlgorithmBase:
    parameters: list[AlgorithmParameters]

    def _set_parameters(self, parameters: list[AlgorithmParameters] | None) -> None:
        items = list(parameters or [])
        names = [p.name for p in items]
        for name in names:
            if names.count(name) > 1:
                raise WorkflowDefinitionError(f"algorithm parameter {name!r} is given twice")
        for item in items:
            if not isinstance(item, AlgorithmParameters):
                raise WorkflowDefinitionError(
                    f"algorithm parameters must be wf.AlgorithmParameters, not {item!r}"
                )
        self.parameters = items


class BaseAlgorithm(_AlgorithmBase):
    """Code from a local directory started with ``boot_file`` (a Python file inside it) or
    ``command``; or, with ``id`` / ``subscription_id``, an existing algorithm asset."""

    def __init__(
        self,
        id: str | None = None,
        subscription_id: str | None = None,
        item_version_id: str | None = None,
        code_dir: str | Path | None = None,
        boot_file: str | None = None,
        command: str | Placeholder | None = None,
        parameters: list[AlgorithmParameters] | None = None,
        engine: Any = None,
        environments: dict[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.id = id
        self.subscription_id = subscription_id
        self.item_version_id = item_version_id
        if code_dir is not None and not isinstance(code_dir, str | PathLike):
            raise WorkflowDefinitionError(
                f"BaseAlgorithm: code_dir must be a local directory path, not {code_dir!r}"
            )
        if boot_file is not None and not isinstance(boot_file, str):
            raise WorkflowDefinitionError(
                f"BaseAlgorithm: boot_file must be a file name inside code_dir, not {boot_file!r}"
            )
        self.code_dir = Path(code_dir).resolve() if code_dir is not None else None
        self.boot_file = boot_file
        self.command = command
        self.engine = engine
        self.environments = dict(environments or {})
        self.name = check_name("algorithm", name) if name is not None else None
        self._set_parameters(parameters)
        if self.code_dir is not None:
            if id or subscription_id:
                raise WorkflowDefinitionError(
                    "BaseAlgorithm: give code_dir for local code, or id/subscription_id for an "
                    "existing algorithm, not both"
                )
            if bool(boot_file) == bool(command):
                raise WorkflowDefinitionError(
                    f"BaseAlgorithm({str(self.code_dir)!r}): give exactly one of boot_file or "
                    "command"
                )
            if isinstance(command, Placeholder):
                raise WorkflowDefinitionError(
                    "BaseAlgorithm: a local algorithm's command must be fixed text, "
                    f"not placeholder {command.name!r}"
                )
        elif not (id or (subscription_id and item_version_id)):
            raise WorkflowDefinitionError(
                "BaseAlgorithm needs code_dir (local code), id (an algorithm asset) or "
                "subscription_id with item_version_id (a subscribed gallery algorithm)"
            )

    @property
    def is_local(self) -> bool:
        return self.code_dir is not None

    def check_local(self, step: str) -> None:
        """Checks that need the file system, made at compile time."""
        assert self.code_dir is not None
        if not self.code_dir.is_dir():
            raise WorkflowDefinitionError(
                f"step {step!r}: code_dir {str(self.code_dir)!r} is not a directory"
            )
        if self.boot_file:
            boot = (self.code_dir / self.boot_file).resolve()
            if not boot.is_relative_to(self.code_dir) or not boot.is_file():
                raise WorkflowDefinitionError(
                    f"step {step!r}: boot_file {self.boot_file!r} is not a file inside code_dir "
                    f"{str(self.code_dir)!r}"
                )


class Algorithm(_AlgorithmBase):
    """An algorithm asset of this gallery by content id (``version`` None → its latest)."""

    def __init__(
        self,
        algorithm_id: str,
        parameters: list[AlgorithmParameters] | None = None,
        version: str | None = None,
    ) -> None:
        if not algorithm_id:
            raise WorkflowDefinitionError("Algorithm: algorithm_id is empty")
        self.algorithm_id = algorithm_id
        self.version = version
        self._set_parameters(parameters)


class GalleryAlgorithm(_AlgorithmBase):
    """A subscribed gallery algorithm: its content id and the chosen version.
    Alias: ``AIGalleryAlgorithm``."""

    def __init__(
        self,
        subscription_id: str,
        item_version_id: str,
        parameters: list[AlgorithmParameters] | None = None,
    ) -> None:
        if not subscription_id or not item_version_id:
            raise WorkflowDefinitionError(
                "GalleryAlgorithm needs subscription_id (the asset's content id) and "
                "item_version_id (its version)"
            )
        self.subscription_id = subscription_id
        self.item_version_id = item_version_id
        self._set_parameters(parameters)


AIGalleryAlgorithm = GalleryAlgorithm
AnyAlgorithm = BaseAlgorithm | Algorithm | GalleryAlgorithm
