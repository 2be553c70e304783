"""Deployed services: lists, reads, deletion (the worker stops the process), predictions
forwarded to the service's endpoint. Members of the service's workspace only."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from registry.accounts.service import Principal
from registry.errors import Conflict, NotFound, Unavailable
from registry.models_base import utcnow
from registry.services.models import Service
from registry.services.schemas import ServiceRead
from registry.workspaces.models import Workspace, WorkspaceMember

FORWARD_TIMEOUT = 30.0


def to_read(service: Service, workspace: Workspace) -> ServiceRead:
    return ServiceRead(
        id=service.service_id,
        workspace=workspace.name,
        name=service.name,
        model=service.model,
        status=service.status,
        host=service.host,
        port=service.port,
        endpoint=service.endpoint,
        note=service.note,
        error=service.error,
        execution_id=service.execution_id,
        step=service.step,
        created_at=service.created_at,
        updated_at=service.updated_at,
    )


async def list_services(session: AsyncSession, workspace: Workspace) -> list[ServiceRead]:
    rows = await session.exec(
        select(Service)
        .where(Service.workspace_id == workspace.id)
        .order_by(col(Service.created_at).desc(), col(Service.id).desc())
    )
    return [to_read(s, workspace) for s in rows.all()]


async def my_services(session: AsyncSession, principal: Principal) -> list[ServiceRead]:
    """Services of every workspace the principal belongs to."""
    rows = await session.exec(
        select(Service, Workspace)
        .join(Workspace, col(Workspace.id) == col(Service.workspace_id))
        .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
        .where(WorkspaceMember.user_id == principal.user_id)
        .order_by(col(Service.created_at).desc(), col(Service.id).desc())
    )
    return [to_read(s, w) for s, w in rows.all()]


async def find_service(
    session: AsyncSession, service_id: str, principal: Principal
) -> tuple[Service, Workspace]:
    """A service of one of the principal's workspaces; 404 for everyone else."""
    row = (
        await session.exec(
            select(Service, Workspace)
            .join(Workspace, col(Workspace.id) == col(Service.workspace_id))
            .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
            .where(Service.service_id == service_id, WorkspaceMember.user_id == principal.user_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no service {service_id!r}")
    return row[0], row[1]


async def find_by_name(
    session: AsyncSession, name: str, principal: Principal
) -> tuple[Service, Workspace]:
    """A service by name in one of the principal's workspaces (their own first); 404."""
    row = (
        await session.exec(
            select(Service, Workspace)
            .join(Workspace, col(Workspace.id) == col(Service.workspace_id))
            .join(WorkspaceMember, col(WorkspaceMember.workspace_id) == col(Workspace.id))
            .where(Service.name == name, WorkspaceMember.user_id == principal.user_id)
            .order_by(col(Workspace.owner_id) != principal.user_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no service named {name!r}")
    return row[0], row[1]


async def mark_deleting(session: AsyncSession, service: Service) -> None:
    """The worker that runs it stops the process, then removes the record."""
    if service.status != "deleting":
        service.status = "deleting"
        service.updated_at = utcnow()
        session.add(service)


async def forward(service: Service, inputs: list[Any]) -> tuple[int, dict[str, Any]]:
    """``POST /predict`` at the service's endpoint; its status and JSON answer."""
    if service.status != "running":
        raise Conflict(
            f"service {service.name!r} is {service.status}; only a running service predicts"
        )
    try:
        async with httpx.AsyncClient(timeout=FORWARD_TIMEOUT) as client:
            answer = await client.post(f"{service.endpoint}/predict", json={"inputs": inputs})
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"service {service.name!r} did not answer at {service.endpoint} ({type(exc).__name__})"
        ) from None
    try:
        body = answer.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    if not isinstance(body, dict):
        raise Unavailable(f"service {service.name!r} answered {answer.status_code} without JSON")
    if answer.status_code >= 500:
        raise Unavailable(
            f"service {service.name!r} failed ({answer.status_code}): {body.get('detail', '')}"
        )
    return answer.status_code, body
