"""Deployed model services: the list (``/services``) and one service's page (endpoint,
status, model version, adoption note, a *try it* form, delete)."""

from __future__ import annotations

import json
from typing import Any

from litestar import get, post
from litestar.response import Redirect, Template

from registry.errors import GalleryError
from registry.params import ServiceId
from registry.services import service
from registry.services.schemas import ServiceRead
from web.render import AnyRequest, ctx_of, form_data, page, see_other, signed_in_user

TRY_EXAMPLE = "[[0, 1, 2]]"


def model_link(pin: str) -> str:
    """The model version's page (``CONTENT_ID@VERSION``)."""
    content_id, _, version = pin.partition("@")
    return f"/assets/{content_id}?version={version}" if version else f"/assets/{content_id}"


@get("/services", include_in_schema=False)
async def services_page(request: AnyRequest) -> Template:
    """The services of every workspace I belong to, newest first."""
    user = await signed_in_user(request)
    async with ctx_of(request).db.read() as session:
        rows = await service.my_services(session, user)
    return await page(request, "services.html", title="Services", services=rows)


async def _read(request: AnyRequest, service_id: str) -> ServiceRead:
    user = await signed_in_user(request)
    async with ctx_of(request).db.read() as session:
        found, workspace = await service.find_service(session, service_id, user)
        return service.to_read(found, workspace)


async def _service_page(
    request: AnyRequest,
    read: ServiceRead,
    *,
    inputs: str = TRY_EXAMPLE,
    answer: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Template:
    return await page(
        request,
        "service.html",
        status_code=status_code,
        title=f"Service {read.name}",
        s=read,
        model_href=model_link(read.model),
        inputs=inputs,
        answer=answer,
        problem=problem,
        curl=(
            f"curl -X POST {read.endpoint}/predict -H 'content-type: application/json' "
            f"-d '{{\"inputs\": {TRY_EXAMPLE}}}'"
        ),
    )


@get("/services/{service_id:str}", include_in_schema=False)
async def service_page(request: AnyRequest, service_id: ServiceId) -> Template:
    return await _service_page(request, await _read(request, service_id))


@post("/services/{service_id:str}/try", include_in_schema=False)
async def try_it(request: AnyRequest, service_id: ServiceId) -> Template:
    """The form's JSON inputs sent to the service (through the registry); its answer."""
    read = await _read(request, service_id)
    text = (await form_data(request)).get("inputs", "")
    try:
        inputs: Any = json.loads(text)
    except ValueError:
        return await _service_page(
            request, read, inputs=text, problem="The inputs are not JSON.", status_code=422
        )
    if not isinstance(inputs, list):
        return await _service_page(
            request,
            read,
            inputs=text,
            problem="The inputs must be a JSON list, e.g. " + TRY_EXAMPLE,
            status_code=422,
        )
    user = await signed_in_user(request)
    async with ctx_of(request).db.read() as session:
        found, _ = await service.find_service(session, service_id, user)
    try:
        status, body = await service.forward(found, inputs)
    except GalleryError as exc:
        return await _service_page(
            request, read, inputs=text, problem=exc.detail, status_code=exc.status
        )
    if status != 200:
        detail = str(body.get("detail", body))
        return await _service_page(request, read, inputs=text, problem=detail, status_code=status)
    return await _service_page(request, read, inputs=text, answer=json.dumps(body, indent=2))


@post("/services/{service_id:str}/delete", include_in_schema=False)
async def delete_service(request: AnyRequest, service_id: ServiceId) -> Redirect:
    """Marks it deleting: its worker stops the process, then the record goes."""
    user = await signed_in_user(request)
    async with ctx_of(request).db.write() as session:
        found, _ = await service.find_service(session, service_id, user)
        await service.mark_deleting(session, found)
    return see_other("/services")


PAGES = [services_page, service_page, try_it, delete_service]
