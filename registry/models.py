"""Every table model, imported in one place for Alembic's metadata."""

from sqlmodel import SQLModel

from registry.accounts.models import AccessToken, Group, GroupMember, RevokedToken, User
from registry.assets.models import (
    Asset,
    AssetTag,
    AssetVersion,
    Subscription,
    VersionDependency,
    VersionWhitelist,
)
from registry.executions.models import Execution, Experiment, StepRun
from registry.labeling.models import LabelTask, SampleLabel
from registry.services.models import Service
from registry.workspaces.models import RuntimeWorkflow, Workspace, WorkspaceMember

metadata = SQLModel.metadata

__all__ = [
    "AccessToken",
    "Asset",
    "AssetTag",
    "AssetVersion",
    "Execution",
    "Experiment",
    "Group",
    "GroupMember",
    "LabelTask",
    "RevokedToken",
    "RuntimeWorkflow",
    "SampleLabel",
    "Service",
    "StepRun",
    "Subscription",
    "User",
    "VersionDependency",
    "VersionWhitelist",
    "Workspace",
    "WorkspaceMember",
    "metadata",
]
