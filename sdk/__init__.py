"""Gallery SDK: define ML workflows in Python and publish them (``import sdk as wf``).

The names follow ModelArts Workflow so its users feel at home::

    import sdk as wf

    lr = wf.Placeholder("learning_rate", wf.PlaceholderType.FLOAT, default=0.01)
    train = wf.steps.JobStep(
        name="train",
        algorithm=wf.BaseAlgorithm(
            code_dir="algo", boot_file="train.py",
            parameters=[wf.AlgorithmParameters("learning_rate", lr)],
        ),
        outputs=[wf.steps.JobOutput("model", wf.data.OBSOutputConfig(out.join("model/")))],
    )
    workflow = wf.Workflow(name="digits", desc="…", steps=[train], storages=[out])
    workflow.release_to_gallery(visibility="private")  # a gallery asset, or:
    workflow.release_and_run(parameters={"learning_rate": 0.02})  # run it in a workspace
"""

from sdk import data, policy, resource, spec, steps, workflow
from sdk._algorithm import (
    AIGalleryAlgorithm,
    Algorithm,
    AlgorithmParameters,
    BaseAlgorithm,
    GalleryAlgorithm,
)
from sdk._errors import (
    ApiError,
    ConfigurationError,
    GalleryError,
    PublishError,
    WorkflowDefinitionError,
)
from sdk._execution import Execution, ExecutionStep, WorkflowHandle
from sdk._experiment import Experiment
from sdk._manual import Subgraph, SystemEnv
from sdk._placeholder import Placeholder, PlaceholderType
from sdk._publish import AlgorithmRelease, Release, add_whitelist_users, delete_whitelist_users
from sdk._session import Session
from sdk._workflow import Workflow

__all__ = [
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
