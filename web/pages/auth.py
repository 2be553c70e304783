"""Sign in and out of the web console."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from registry.accounts.sign_in import end_all_sign_ins, end_sign_in, issue_token
from registry.context import SESSION_COOKIE, current_principal
from registry.errors import InvalidInput, TooManyRequests
from web.render import AnyRequest, ctx_of, form_data, page, see_other
from web.session import safe_next, session_cookie, signed_out_cookie


@get("/login", include_in_schema=False)
async def login_page(
    request: AnyRequest, next: Annotated[str | None, QueryParameter(max_length=2000)] = None
) -> Template:
    return await page(request, "login.html", title="Sign in", next=safe_next(next), username="")


@post("/login", include_in_schema=False)
async def login(request: AnyRequest) -> Response[object] | Template:
    form = await form_data(request)
    username = form.get("username", "").strip()[:200]
    password = form.get("password", "")[:1000]
    target = safe_next(form.get("next"))
    ctx = ctx_of(request)
    error = None
    status = 400
    try:
        if not username or not password:
            raise InvalidInput("enter your username and password")
        issued = await issue_token(
            ctx,
            username=username,
            password=password,
            address=request.client.host if request.client else None,
        )
    except TooManyRequests as exc:
        error, status = exc.detail, 429
    except InvalidInput as exc:
        error = exc.detail
    if error is not None:
        return await page(
            request,
            "login.html",
            status_code=status,
            title="Sign in",
            next=target,
            username=username,
            error=error,
        )
    response: Redirect = see_other(target)
    response.cookies.append(
        session_cookie(request, issued.token, ctx.settings.access_token_ttl_seconds)
    )
    return response


@post("/logout", include_in_schema=False)
async def logout(request: AnyRequest) -> Redirect:
    """Sign out: the cookie's token stops working at once, wherever a copy of it is (another
    tab, a stolen cookie). With ``everywhere=1``, every sign-in of this user ends too (personal
    access tokens go on)."""
    form = await form_data(request)
    ctx = ctx_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if form.get("everywhere") == "1":
        user = await current_principal(request)
        if user is not None:
            await end_all_sign_ins(ctx, user)
    if token:
        await end_sign_in(ctx, token)
    response = see_other("/")
    response.cookies.append(signed_out_cookie(request))
    return response


PAGES = [login_page, login, logout]
