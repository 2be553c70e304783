"""The SDK's public surface is pinned: a name appearing or vanishing is a deliberate change."""

from __future__ import annotations

from types import ModuleType

import pytest

import sdk
import sdk as wf
from sdk import data, policy, steps

EXPECTED_TOP = [
    "AIGalleryAlgorithm",
    "Algorithm",
    "AlgorithmParameters",
    "AlgorithmRelease",
    "ApiError",
    "BaseAlgorithm",
    "ConfigurationError",
    "GalleryAlgorithm",
    "GalleryError",
    "Placeholder",
    "PlaceholderType",
    "PublishError",
    "Release",
    "Session",
    "Workflow",
    "WorkflowDefinitionError",
    "add_whitelist_users",
    "data",
    "delete_whitelist_users",
    "policy",
    "spec",
    "steps",
]

EXPECTED_STEPS = [
    "Condition",
    "ConditionStep",
    "ConditionTypeEnum",
    "CreateDatasetInput",
    "CreateDatasetOutput",
    "CreateDatasetStep",
    "DatasetImportInput",
    "DatasetImportOutput",
    "DatasetImportStep",
    "DatasetProperties",
    "ImportConfig",
    "ImportDataInfo",
    "JobEngine",
    "JobInput",
    "JobOutput",
    "JobResource",
    "JobSpec",
    "JobStep",
    "LabelTaskProperties",
    "LabelingInput",
    "LabelingOutput",
    "LabelingStep",
    "MetricInfo",
    "ModelConfig",
    "ModelInput",
    "ModelOutput",
    "ModelStep",
    "ReleaseDatasetInput",
    "ReleaseDatasetOutput",
    "ReleaseDatasetStep",
    "ServiceConfig",
    "ServiceInput",
    "ServiceOutput",
    "ServiceStep",
    "Step",
    "StepPolicy",
]

EXPECTED_DATA = [
    "DataConsumptionSelector",
    "DataTypeEnum",
    "Dataset",
    "DatasetPlaceholder",
    "DatasetVersionConfig",
    "GalleryModel",
    "InputStorage",
    "LabelTask",
    "LabelTaskPlaceholder",
    "LabelTaskTypeEnum",
    "MetricsConfig",
    "OBSOutputConfig",
    "OBSPath",
    "OBSPlaceholder",
    "ObjectPath",
    "ObjectPlaceholder",
    "OutputConfig",
    "OutputConsumption",
    "OutputStorage",
    "SWRImage",
    "SWRImagePlaceholder",
    "ServiceData",
    "ServiceInputPlaceholder",
    "ServiceUpdatePlaceholder",
    "Storage",
    "StorageJoin",
]

EXPECTED_POLICY = ["Policy", "Scene"]

MODULES: list[tuple[ModuleType, list[str]]] = [
    (sdk, EXPECTED_TOP),
    (steps, EXPECTED_STEPS),
    (data, EXPECTED_DATA),
    (policy, EXPECTED_POLICY),
]


@pytest.mark.parametrize(("module", "expected"), MODULES, ids=lambda m: getattr(m, "__name__", ""))
def test_all_is_exactly_the_documented_list(module: ModuleType, expected: list[str]) -> None:
    assert module.__all__ == expected


@pytest.mark.parametrize(("module", "expected"), MODULES, ids=lambda m: getattr(m, "__name__", ""))
def test_every_exported_name_exists(module: ModuleType, expected: list[str]) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize(("module", "expected"), MODULES, ids=lambda m: getattr(m, "__name__", ""))
def test_public_members_are_all_exported(module: ModuleType, expected: list[str]) -> None:
    """Like httpx's test: every public class or function the module offers is in ``__all__``."""
    offered = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (isinstance(value, type) or callable(value) or isinstance(value, ModuleType))
        and name not in {"annotations"}
    }
    if module is sdk:
        offered -= {  # submodules, not re-exports
            "examples",
            "cli",
            "cli_assets",
            "cli_runs",
            "cli_workflows",
            "completion",
            "interface",
            "metrics",
            "vocabulary",
        }
    assert sorted(offered - set(module.__all__)) == []


def test_modelarts_aliases_are_the_same_objects() -> None:
    assert wf.AIGalleryAlgorithm is wf.GalleryAlgorithm
    assert wf.data.OBSPath is wf.data.ObjectPath
    assert wf.data.OBSPlaceholder is wf.data.ObjectPlaceholder
    assert wf.data.OBSOutputConfig is wf.data.OutputConfig


def test_sub_namespaces_are_reachable_from_the_root() -> None:
    assert wf.steps is steps
    assert wf.data is data
    assert wf.policy is policy
    assert wf.spec.WorkflowSpec.__name__ == "WorkflowSpec"


def test_definition_errors_are_value_errors_and_gallery_errors() -> None:
    assert issubclass(wf.WorkflowDefinitionError, ValueError)
    assert issubclass(wf.WorkflowDefinitionError, wf.GalleryError)
    assert issubclass(wf.PublishError, wf.GalleryError)
    assert issubclass(wf.ApiError, wf.GalleryError)
    assert issubclass(wf.ConfigurationError, wf.GalleryError)
