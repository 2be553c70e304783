"""The SDK's public surface is pinned: a name appearing or vanishing is a deliberate change."""

from __future__ import annotations

import re
from pathlib import Path
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
    "Execution",
    "ExecutionStep",
    "Experiment",
    "GalleryAlgorithm",
    "GalleryError",
    "Placeholder",
    "PlaceholderType",
    "PublishError",
    "Release",
    "Session",
    "Subgraph",
    "SystemEnv",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowHandle",
    "add_whitelist_users",
    "data",
    "delete_whitelist_users",
    "policy",
    "resource",
    "spec",
    "steps",
    "workflow",
]

EXPECTED_STEPS = [
    "AnnotationFormatConfig",
    "AnnotationFormatEnum",
    "AnnotationFormatParameters",
    "Condition",
    "ConditionStep",
    "ConditionTypeEnum",
    "CreateDatasetInput",
    "CreateDatasetOutput",
    "CreateDatasetStep",
    "DataOriginTypeEnum",
    "DatasetImportInput",
    "DatasetImportOutput",
    "DatasetImportStep",
    "DatasetProperties",
    "ImportConfig",
    "ImportDataInfo",
    "ImportTypeEnum",
    "JobEngine",
    "JobInput",
    "JobMetadata",
    "JobOutput",
    "JobResource",
    "JobSpec",
    "JobStep",
    "JobTypeEnum",
    "Label",
    "LabelFormat",
    "LabelTaskProperties",
    "LabelTypeEnum",
    "LabelingInput",
    "LabelingOutput",
    "LabelingStep",
    "LogExportPath",
    "MetricInfo",
    "ModelConfig",
    "ModelInput",
    "ModelOutput",
    "ModelStep",
    "MrsJobAlgorithm",
    "MrsJobInput",
    "MrsJobOutput",
    "MrsJobStep",
    "ReleaseDatasetInput",
    "ReleaseDatasetOutput",
    "ReleaseDatasetStep",
    "SchemaField",
    "ServiceConfig",
    "ServiceInput",
    "ServiceOutput",
    "ServiceStep",
    "Step",
    "StepPolicy",
    "Template",
    "TemplateInputs",
    "job_step",
]

EXPECTED_DATA = [
    "DataConsumptionSelector",
    "DataSelector",
    "DataTypeEnum",
    "Dataset",
    "DatasetPlaceholder",
    "DatasetTypeEnum",
    "DatasetVersionConfig",
    "GalleryModel",
    "InputStorage",
    "LabelTask",
    "LabelTaskConfig",
    "LabelTaskPlaceholder",
    "LabelTaskTypeEnum",
    "MetricsConfig",
    "ModelData",
    "OBSOutputConfig",
    "OBSPath",
    "OBSPlaceholder",
    "ObjectPath",
    "ObjectPlaceholder",
    "OutputConfig",
    "OutputConsumption",
    "OutputStorage",
    "OutputVariable",
    "SWRImage",
    "SWRImagePlaceholder",
    "ServiceData",
    "ServiceInputPlaceholder",
    "ServiceUpdatePlaceholder",
    "Storage",
    "StorageJoin",
    "TripartiteServiceConfig",
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
            "cli_develop",
            "cli_runs",
            "cli_services",
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


# The manual's import list (§5.12.4), in its order: every name a pasted example can reach.
MANUAL_IMPORTS = [
    "data.DatasetTypeEnum",
    "data.Dataset",
    "data.DatasetVersionConfig",
    "data.DatasetPlaceholder",
    "data.ServiceInputPlaceholder",
    "data.ServiceData",
    "data.ServiceUpdatePlaceholder",
    "data.DataTypeEnum",
    "data.ModelData",
    "data.GalleryModel",
    "data.OBSPath",
    "data.OBSOutputConfig",
    "data.OBSPlaceholder",
    "data.SWRImage",
    "data.SWRImagePlaceholder",
    "data.Storage",
    "data.InputStorage",
    "data.OutputStorage",
    "data.LabelTask",
    "data.LabelTaskPlaceholder",
    "data.LabelTaskConfig",
    "data.LabelTaskTypeEnum",
    "data.MetricsConfig",
    "data.TripartiteServiceConfig",
    "data.DataConsumptionSelector",
    "policy.Policy",
    "policy.Scene",
    "steps.MetricInfo",
    "steps.Condition",
    "steps.ConditionTypeEnum",
    "steps.ConditionStep",
    "steps.LabelingStep",
    "steps.LabelingInput",
    "steps.LabelingOutput",
    "steps.LabelTaskProperties",
    "steps.ImportDataInfo",
    "steps.DataOriginTypeEnum",
    "steps.DatasetImportStep",
    "steps.DatasetImportInput",
    "steps.DatasetImportOutput",
    "steps.AnnotationFormatConfig",
    "steps.AnnotationFormatParameters",
    "steps.AnnotationFormatEnum",
    "steps.Label",
    "steps.ImportTypeEnum",
    "steps.LabelFormat",
    "steps.LabelTypeEnum",
    "steps.ReleaseDatasetStep",
    "steps.ReleaseDatasetInput",
    "steps.ReleaseDatasetOutput",
    "steps.CreateDatasetStep",
    "steps.CreateDatasetInput",
    "steps.CreateDatasetOutput",
    "steps.DatasetProperties",
    "steps.SchemaField",
    "steps.ImportConfig",
    "steps.JobStep",
    "steps.JobMetadata",
    "steps.JobSpec",
    "steps.JobResource",
    "steps.JobTypeEnum",
    "steps.JobEngine",
    "steps.JobInput",
    "steps.JobOutput",
    "steps.LogExportPath",
    "steps.MrsJobStep",
    "steps.MrsJobInput",
    "steps.MrsJobOutput",
    "steps.MrsJobAlgorithm",
    "steps.ModelStep",
    "steps.ModelInput",
    "steps.ModelOutput",
    "steps.ModelConfig",
    "steps.Template",
    "steps.TemplateInputs",
    "steps.ServiceStep",
    "steps.ServiceInput",
    "steps.ServiceOutput",
    "steps.ServiceConfig",
    "steps.StepPolicy",
    "workflow",
    "Subgraph",
    "Placeholder",
    "PlaceholderType",
    "AlgorithmParameters",
    "BaseAlgorithm",
    "Algorithm",
    "AIGalleryAlgorithm",
    "resource",
    "SystemEnv",
    "add_whitelist_users",
    "delete_whitelist_users",
]


def test_the_manual_import_list_has_92_names() -> None:
    assert len(MANUAL_IMPORTS) == len(set(MANUAL_IMPORTS)) == 92


@pytest.mark.parametrize("dotted", MANUAL_IMPORTS)
def test_every_name_the_manual_imports_exists(dotted: str) -> None:
    found: object = wf
    for part in dotted.split("."):
        found = getattr(found, part)
    assert found is not None


def test_the_manual_spellings_of_modules() -> None:
    """``wf.workflow.Workflow``, ``wf.resource.Workspace`` and the module path the manual uses
    for LogExportPath (§5.3.4) reach the same objects."""
    assert wf.workflow.Workflow is wf.Workflow
    assert wf.steps.job_step.LogExportPath is wf.steps.LogExportPath
    assert wf.resource.Workspace(workspace_id="team-a").name == "team-a"


def test_the_sdk_guide_gives_every_manual_name_a_status() -> None:
    """docs/sdk.md, "The manual's names": one row per name, no silent gaps."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "sdk.md").read_text()
    table = guide[guide.index("### The table") :]
    rows = dict(re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", table, re.MULTILINE))
    assert [name for name in MANUAL_IMPORTS if name not in rows] == []
    statuses = {"same", "compiles", "nearest", "refused", "undocumented", "see Development mode"}
    assert {status.strip() for status in rows.values()} <= statuses
