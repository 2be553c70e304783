"""The registry's side of Temporal: start, update, signal executions by *name*.

``registry`` never imports ``runner`` (DESIGN.md §1); it speaks to the execution workflow
through the names and input models in ``sdk.spec``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from registry.errors import Conflict, Unavailable
from sdk import spec as ir

CONNECT_TIMEOUT = 5.0


def temporal_id(execution_id: str) -> str:
    return f"execution-{execution_id}"


class RunnerClient:
    """A Temporal client made on first use (the app starts without waiting for Temporal)."""

    def __init__(self, address: str, namespace: str) -> None:
        self.address = address
        self.namespace = namespace
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        Client.connect(
                            self.address,
                            namespace=self.namespace,
                            data_converter=pydantic_data_converter,
                        ),
                        CONNECT_TIMEOUT,
                    )
                except Exception as exc:
                    raise Unavailable(
                        f"the runner (Temporal at {self.address}) cannot be reached: {exc}"
                    ) from None
            return self._client

    async def start(self, data: ir.ExecutionInput) -> None:
        client = await self.client()
        try:
            await client.start_workflow(
                ir.EXECUTION_WORKFLOW,
                data,
                id=temporal_id(data.execution_id),
                task_queue=data.task_queue,
            )
        except RPCError as exc:
            raise Unavailable(f"the runner could not start the execution: {exc.message}") from None

    async def update(self, execution_id: str, name: str, arg: BaseModel) -> dict[str, Any]:
        """Run an Update; the workflow's validator's refusal is a 409 with its message."""
        client = await self.client()
        handle = client.get_workflow_handle(temporal_id(execution_id))
        try:
            result: dict[str, Any] = await handle.execute_update(name, arg, result_type=dict)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = getattr(cause, "message", None) or str(cause or exc)
            raise Conflict(message) from None
        except RPCError as exc:
            raise self._closed(exc) from None
        return result

    async def stop(self, execution_id: str) -> None:
        client = await self.client()
        handle = client.get_workflow_handle(temporal_id(execution_id))
        try:
            await handle.signal(ir.SIGNAL_STOP)
        except RPCError as exc:
            raise self._closed(exc) from None

    @staticmethod
    def _closed(exc: RPCError) -> Exception:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Conflict("this execution is no longer open in the runner")
        return Unavailable(f"the runner did not answer: {exc.message}")
