"""The manual's big-data job step (``MrsJobStep``, §5.11.2), refused: it runs a Spark job on a
Huawei MRS / DLI cluster, and Gallery has no such cluster.

Its parts (algorithm, input, output) construct, so a pasted definition stops at the step with
an error that says what to write instead: a ``JobStep`` that runs the script itself.
"""

from __future__ import annotations

from typing import Any

from sdk._algorithm import AlgorithmParameters
from sdk._data import OutputConfig
from sdk._errors import WorkflowDefinitionError
from sdk._placeholder import Placeholder
from sdk._steps import JobInput, JobOutput


class MrsJobAlgorithm:
    """The script an MRS job runs (``boot_file``, an object-store path) and its arguments."""

    def __init__(
        self,
        boot_file: str | Placeholder,
        parameters: list[AlgorithmParameters] | None = None,
    ) -> None:
        self.boot_file = boot_file
        self.parameters = list(parameters or [])


class MrsJobInput(JobInput):
    """An MRS job's input: as a ``JobInput``."""


class MrsJobOutput(JobOutput):
    """An MRS job's output directory: as a ``JobOutput(obs_config=...)``."""

    def __init__(self, name: str, obs_config: OutputConfig | None = None) -> None:
        super().__init__(name, obs_config=obs_config)


class MrsJobStep:
    """Refused at construction: Gallery has no MRS/DLI cluster to run a Spark job on."""

    def __init__(
        self,
        name: str,
        mrs_algorithm: MrsJobAlgorithm | None = None,
        inputs: Any = None,
        outputs: Any = None,
        cluster_id: str | Placeholder | None = None,
        **_: Any,
    ) -> None:
        raise WorkflowDefinitionError(
            f"step {name!r}: MrsJobStep runs a Spark job on an MRS/DLI cluster, and Gallery has "
            "no big-data cluster to send it to; run the script in a wf.steps.JobStep instead: "
            "wf.BaseAlgorithm(code_dir=<folder with the script>, command='python "
            "<script>.py' (or pyspark in local mode)), its inputs as JobInput and outputs as "
            "JobOutput, the same arguments as wf.AlgorithmParameters"
        )
