"""HTTP: deployed services (list, read, delete) and predictions through the registry.

Members of the service's workspace only; everyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, post
from litestar.params import JSONBody

from registry.context import CtxDep, UserDep, signed_in_routes
from registry.params import EXCEPTION_HANDLERS, ServiceId, WorkspaceName
from registry.services import service
from registry.services.schemas import PredictBody, ServiceRead
from registry.workspaces import service as workspaces


@get("/workspaces/{ws:str}/services")
async def list_services(ctx: CtxDep, user: UserDep, ws: WorkspaceName) -> list[ServiceRead]:
    """The workspace's deployed services, newest first."""
    async with ctx.db.write() as session:  # may create the default workspace
        found = await workspaces.find_workspace(session, ws, user)
        return await service.list_services(session, found)


@get("/services")
async def my_services(ctx: CtxDep, user: UserDep) -> list[ServiceRead]:
    """Services of every workspace you belong to, newest first."""
    async with ctx.db.read() as session:
        return await service.my_services(session, user)


@get("/services/{service_id:str}")
async def read_service(ctx: CtxDep, user: UserDep, service_id: ServiceId) -> ServiceRead:
    async with ctx.db.read() as session:
        found, workspace = await service.find_service(session, service_id, user)
        return service.to_read(found, workspace)


@delete("/services/{service_id:str}", status_code=202)
async def delete_service(ctx: CtxDep, user: UserDep, service_id: ServiceId) -> ServiceRead:
    """Marks the service ``deleting``: its worker stops the process and removes the record."""
    async with ctx.db.write() as session:
        found, workspace = await service.find_service(session, service_id, user)
        await service.mark_deleting(session, found)
        read = service.to_read(found, workspace)
    return read


@post("/services/{service_id:str}/predict", status_code=200)
async def predict(
    ctx: CtxDep, user: UserDep, service_id: ServiceId, data: JSONBody[PredictBody]
) -> Response[dict[str, Any]]:
    """``{"inputs": [...]}`` forwarded to the service's ``POST /predict``; its answer."""
    async with ctx.db.read() as session:
        found, _ = await service.find_service(session, service_id, user)
    status, body = await service.forward(found, data.inputs)
    return Response(body, status_code=status)


router = Router(
    path="/",
    route_handlers=[
        signed_in_routes(list_services, my_services, read_service, delete_service, predict)
    ],
    exception_handlers=EXCEPTION_HANDLERS,
)
