"""Rendering pages: the shared context of every template (who is signed in, the CSRF token,
the to-do count), redirects, form reading, and the HTML answer to errors on page routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from registry.accounts.service import Principal
from registry.context import Context, current_principal, resolved_principal
from registry.errors import GalleryError, Unauthenticated
from registry.executions import service as executions
from registry.params import ill_formed
from web.session import CSRF_FIELD, csrf_cookies, csrf_token, sign_in_url

AnyRequest = Request[Any, Any, Any]


def ctx_of(request: AnyRequest) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def signed_in_user(request: AnyRequest) -> Principal:
    """The signed-in user, or ``Unauthenticated`` (the page router sends it to sign in)."""
    user = await current_principal(request)
    if user is None:
        raise Unauthenticated("sign in to see this page")
    return user


def _template(
    request: AnyRequest,
    template: str,
    *,
    user: Principal | None,
    todo_count: int,
    status_code: int,
    title: str,
    context: dict[str, Any],
) -> Template:
    return Template(
        template_name=template,
        context={
            "user": user,
            "csrf": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "todo_count": todo_count,
            "title": title,
            "path": request.url.path,
            **context,
        },
        cookies=csrf_cookies(request),
        status_code=status_code,
        headers={"cache-control": "no-store"},
    )


async def page(
    request: AnyRequest,
    template: str,
    *,
    status_code: int = 200,
    title: str = "",
    **context: Any,
) -> Template:
    """A page under ``base.html`` with what every page needs."""
    user = await current_principal(request)
    todo_count = 0
    if user is not None:
        async with ctx_of(request).db.read() as session:
            todo_count = await executions.todo_count(session, user)
    return _template(
        request,
        template,
        user=user,
        todo_count=todo_count,
        status_code=status_code,
        title=title,
        context=context,
    )


def here(request: AnyRequest) -> str:
    """This page's path and query: where a form on it sends the user back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def see_other(path: str) -> Redirect:
    """After a form: go to ``path`` (303, so a reload does not send the form again)."""
    return Redirect(path=path, status_code=303)


async def form_data(request: AnyRequest) -> dict[str, str]:
    """The submitted form's fields (the last value of each), without the CSRF token."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


async def form_lists(request: AnyRequest) -> dict[str, list[str]]:
    """Every value of each field (checkbox groups, multi-selects)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key != CSRF_FIELD:
            out.setdefault(key, []).append(value)
    return out


def _error_page(request: AnyRequest, status: int, heading: str, detail: str) -> Response[Any]:
    """The error page (exception handlers are synchronous: the caller as far as this request
    already resolved it, and the to-do badge fills itself in live)."""
    try:
        return _template(
            request,
            "error.html",
            user=resolved_principal(request),
            todo_count=0,
            status_code=status,
            title=heading,
            context={"heading": heading, "detail": detail},
        )
    except Exception:  # the error page itself must never fail: plain text then
        return Response(f"{heading}: {detail}", status_code=status, media_type="text/plain")


def page_error(request: AnyRequest, exc: Exception) -> Response[Any]:
    """Errors on page routes: sign in (and come back) when that is what is missing, else an
    HTML page saying what went wrong with the status of the API's answer."""
    if isinstance(exc, Unauthenticated):
        return Redirect(path=sign_in_url(request), status_code=303)
    if isinstance(exc, GalleryError):
        return _error_page(request, exc.status, exc.title, exc.detail)
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, "Not found", "there is no such page")
    if isinstance(exc, ValidationException):
        missing = ill_formed(request)  # an id in the path that cannot be one: the API's 404
        if missing is not None:
            return _error_page(request, missing.status, missing.title, missing.detail)
        return _error_page(request, 400, "Bad request", str(exc.detail))
    if isinstance(exc, HTTPException):
        return _error_page(request, exc.status_code, "Error", str(exc.detail))
    raise exc


PAGE_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GalleryError: page_error,
    HTTPException: page_error,
    ValidationException: page_error,  # named: the app's own handler for it would answer JSON
}


# --- template filters ------------------------------------------------------------------------


def when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


FILTERS = {"when": when, "duration": duration}
