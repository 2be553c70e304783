"""Whose step is this: the workspace an execution belongs to, looked up by the worker itself.

The worker does not take a task's word for where a step may read and write or whose access
rights it runs with: it asks the database, by execution id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from registry.accounts.models import User
from registry.accounts.service import Principal, principal_for
from registry.db import Database
from registry.executions.models import Execution
from registry.workspaces.models import RuntimeWorkflow, Workspace
from registry.workspaces.storage import namespace
from runner.reads import Reads


class UnknownExecution(LookupError):
    """No execution record with that id: nothing may run for it."""


@dataclass(frozen=True)
class Tenant:
    execution_id: str
    workspace_id: int
    owner_id: int
    namespace: str


class Tenants:
    """Execution id → its workspace (which never changes, so it is remembered per worker)."""

    def __init__(self, db: Database, reads: Reads | None = None) -> None:
        self.db = db
        self.reads = reads or Reads(db)
        self._known: dict[str, Tenant] = {}

    async def of(self, execution_id: str) -> Tenant:
        found = self._known.get(execution_id)
        if found is not None:
            return found
        row = await self.reads.first(
            select(Workspace.id, Workspace.name, User.id, User.username)
            .join(RuntimeWorkflow, col(RuntimeWorkflow.workspace_id) == col(Workspace.id))
            .join(Execution, col(Execution.workflow_pk) == col(RuntimeWorkflow.id))
            .join(User, col(User.id) == col(Workspace.owner_id))
            .where(col(Execution.execution_id) == execution_id)
        )
        if row is None:
            raise UnknownExecution(f"no execution {execution_id!r} is recorded")
        workspace_id, workspace_name, owner_id, owner_name = row
        assert workspace_id is not None and owner_id is not None
        tenant = Tenant(execution_id, workspace_id, owner_id, namespace(owner_name, workspace_name))
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[execution_id] = tenant
        return tenant

    async def owner(self, tenant: Tenant) -> Principal | None:
        """The workspace owner's rights as they are now (groups and status change), or None
        when the owner's account is gone or deactivated."""
        async with self.db.read() as session:
            user = await session.get(User, tenant.owner_id)
            if user is None or not user.is_active:
                return None
            return await principal_for(session, user)
