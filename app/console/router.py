"""Console pages: login, overview, incidents. Reads go through the domains' services."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console import queries
from app.console.charts import stacked_hours
from app.console.paging import explain
from app.console.render import render, render_fragment
from app.console.session import (
    LOGIN_CSRF_COOKIE,
    ConsoleAuth,
    ConsoleLoginRefused,
    ConsoleWrite,
    CsrfRefused,
    clear_session,
    cookie_flags,
    log_in,
    read_form,
    read_session,
    redirect_with_flash,
    safe_next,
    set_session,
)
from app.core.db import SessionDep
from app.core.deps import ClockDep, SettingsDep
from app.core.errors import AppError
from app.incidents import service
from app.incidents.deps import PipelineDep
from app.incidents.lifecycle import ACTIONS
from app.incidents.models import Incident, IncidentStatus, Priority
from app.incidents.timeline import list_events
from app.ops.checks import CheckContext, check_overdue_pages

router = APIRouter(prefix="/console", include_in_schema=False)


def _back(request: Request, url: str, **params: str) -> RedirectResponse:
    return redirect_with_flash(request, url, **params)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    if read_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)  # type: ignore[return-value]
    csrf = secrets.token_urlsafe(24)
    page = render(request, "login.html", None, next=safe_next(next), csrf=csrf, failed=False)
    page.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=1800, **cookie_flags(request))
    return page


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    target = safe_next(form.get("next"))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(form.get("csrf", ""), expected):
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
    try:
        cookie, _ = log_in(request, form.get("token", ""))
    except ConsoleLoginRefused as exc:
        page = render(
            request, "login.html", None, next=target, csrf=expected, failed=True, why=exc.reason
        )
        page.status_code = 401
        return page
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, cookie)
    response.delete_cookie(LOGIN_CSRF_COOKIE, **cookie_flags(request))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    user = read_session(request)
    form = await read_form(request)
    if user is not None and not secrets.compare_digest(form.get("csrf", ""), user.csrf):
        raise CsrfRefused("the form's CSRF token does not match this session")
    response = RedirectResponse("/console/login", status_code=303)
    clear_session(request, response)
    return response


@router.get("")
async def overview(
    request: Request, user: ConsoleAuth, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    now = clock.now()
    async with session.begin():
        grouped = await queries.open_incidents(session)
        counts = await queries.open_counts(session)
        buckets = await queries.hourly(session, now)
        times = await queries.response_times(session, now)
        noisy = await queries.noisiest(session, now)
        failed = await queries.failed_calls(session)
        unpaged = await check_overdue_pages(
            CheckContext(session=session, settings=settings, now=now)
        )
        held = await queries.held_pages(session)
        beats = await queries.heartbeats(session)
    return render(
        request,
        "overview.html",
        user,
        grouped=grouped,
        counts=counts,
        chart=stacked_hours(buckets),
        opened_24h=sum(b.total for b in buckets),
        times=times,
        noisy=noisy,
        failed=failed,
        unpaged=unpaged,
        held=held,
        heartbeats=beats,
    )


async def _incident_rows(
    session: SessionDep,
    status: list[IncidentStatus],
    priority: list[Priority],
    service_name: str | None,
    alert_name: str | None,
    cursor: str | None,
) -> tuple[list[Incident], str | None]:
    filters = service.IncidentFilter(
        statuses=status,
        priorities=priority,
        since=None,
        until=None,
        alert_name=alert_name or None,
        service=service_name or None,
    )
    async with session.begin():
        return await service.list_incidents(session, filters, 50, cursor or None)


StatusQ = Annotated[list[IncidentStatus], Query()]
PriorityQ = Annotated[list[Priority], Query()]


@router.get("/incidents")
async def incidents(
    request: Request,
    user: ConsoleAuth,
    session: SessionDep,
    status: StatusQ = [],  # noqa: B006 - FastAPI copies it
    priority: PriorityQ = [],  # noqa: B006
    service_name: Annotated[str | None, Query(alias="service", max_length=100)] = None,
    alert_name: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    fragment: bool = False,
) -> HTMLResponse:
    rows, next_cursor = await _incident_rows(
        session, status, priority, service_name, alert_name, cursor
    )
    if next_cursor:
        older = str(
            request.url.include_query_params(cursor=next_cursor).remove_query_params("fragment")
        )
    else:
        older = None
    if fragment:  # the table body only: the page refreshes it without a full reload
        html = render_fragment("_incident_rows.html", rows=rows, older=older)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
    return render(
        request,
        "incidents.html",
        user,
        statuses=[s.value for s in IncidentStatus],
        priorities=[p.value for p in Priority],
        chosen_status={s.value for s in status},
        chosen_priority={p.value for p in priority},
        service_name=service_name or "",
        alert_name=alert_name or "",
        rows=rows,
        older=older,
    )


@router.get("/incidents/{incident_id}")
async def incident_detail(
    request: Request,
    incident_id: str,
    user: ConsoleAuth,
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    async with session.begin():
        incident = await service.get_incident(session, incident_id)
        timeline = await list_events(session, incident_id)
        calls = await queries.incident_calls(session, incident)
        group = await queries.group_ledger(session, incident)
    allowed = [action for action, (sources, _) in ACTIONS.items() if incident.status in sources]
    if incident.acknowledged_at is not None and "acknowledge" in allowed:
        allowed.remove("acknowledge")
    return render(
        request,
        "incident.html",
        user,
        incident=incident,
        timeline=timeline,
        calls=calls,
        group=group,
        why=explain(settings, incident, calls),
        actions=allowed,
    )


@router.post("/incidents/{incident_id}/{action}")
async def incident_action(
    request: Request,
    incident_id: str,
    action: Literal["acknowledge", "resolve", "close", "reopen"],
    writer: ConsoleWrite,
    session: SessionDep,
    background: BackgroundTasks,
    clock: ClockDep,
    pipeline: PipelineDep,
) -> Response:
    user, form = writer
    url = f"/console/incidents/{quote(incident_id)}"
    note = form.get("note", "").strip()[:2000] or None
    try:
        await service.act(session, incident_id, action, actor=user.name, note=note, now=clock.now())
    except AppError as exc:
        return _back(request, url, error=exc.reason)
    if pipeline is not None:
        # PagerDuty acknowledge/resolve follow the change now, as the API's action does.
        background.add_task(pipeline.sweep_once)
    return _back(request, url, done=f"{action} recorded")
