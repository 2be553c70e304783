"""Execution records written straight into the database, as the runner writes them: lists and
filters over records can be tested without Temporal or a worker."""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import select

from registry.db import Database
from registry.executions.models import Execution
from registry.workspaces.models import RuntimeWorkflow
from tests.support.gallery import Gallery


def record_runs(gallery: Gallery, workflow_id: str, statuses: list[str]) -> list[str]:
    """Executions 1, 2 … of the runtime workflow with these statuses; their ids."""

    async def main() -> list[str]:
        db = Database(gallery.settings.resolved_database_url)
        try:
            async with db.write() as session:
                found = await session.exec(
                    select(RuntimeWorkflow).where(RuntimeWorkflow.workflow_id == workflow_id)
                )
                workflow = found.one()
                assert workflow.id is not None
                first = 1 + len(
                    (
                        await session.exec(
                            select(Execution.id).where(Execution.workflow_pk == workflow.id)
                        )
                    ).all()
                )
                ids = []
                for number, status in enumerate(statuses, start=first):
                    ids.append(str(uuid.uuid4()))
                    session.add(
                        Execution(
                            execution_id=ids[-1],
                            workflow_pk=workflow.id,
                            number=number,
                            status=status,
                            parameters={},
                            storages={},
                            started_by=workflow.created_by,
                        )
                    )
                return ids
        finally:
            await db.dispose()

    return asyncio.run(main())
