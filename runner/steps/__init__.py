"""Step executors, one module per step kind, registered in one table (DESIGN.md §4).

``condition`` steps are evaluated inside the workflow and have no executor. Adding a kind means
its IR model in ``sdk.spec`` and its module here, nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from runner.messages import StepTask
from runner.steps import dataset, job, labeling, model, service
from runner.steps.base import Outcome, StepContext, StepFailure

Executor = Callable[[StepContext, StepTask], Awaitable[Outcome]]

EXECUTORS: dict[str, Executor] = {
    "job": job.run,
    "model": model.run,
    "create_dataset": dataset.create,
    "release_dataset": dataset.release,
    "dataset_import": dataset.import_data,
    "labeling": labeling.run,
    "service": service.run,
}


def executor_for(kind: str) -> Executor:
    found = EXECUTORS.get(kind)
    if found is None:
        raise StepFailure(
            f"this runner cannot execute {kind!r} steps yet (it runs: "
            f"{', '.join(sorted(EXECUTORS))} and condition steps)",
            non_retryable=True,
        )
    return found


__all__ = ["EXECUTORS", "Outcome", "StepContext", "StepFailure", "executor_for"]
