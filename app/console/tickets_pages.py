"""Console tickets page: a form per request type (contract A's choices) and the list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.console.render import render
from app.console.session import ConsoleAuth, ConsoleWrite, redirect_with_flash
from app.core.deps import ClockDep
from app.tickets.deps import TicketStoreDep
from app.tickets.schemas import (
    ReconcileMode,
    ReportsMode,
    RequestType,
    Submission,
    TicketStatus,
    TicketSubmitV1,
)
from app.tickets.store import TicketFilter

router = APIRouter(prefix="/console", include_in_schema=False)


def submission_from_form(form: dict[str, str]) -> Submission:
    """Build TICKET_SUBMIT_V1 from the form's fields; the contract's validation decides."""
    request_type = form.get("request_type", "")
    payload: dict[str, Any]
    if request_type == RequestType.ACKNOWLEDGE:
        payload = {"message_id": form.get("message_id", "")}
    elif request_type == RequestType.REQUEST_REPORTS:
        payload = {
            "mode": form.get("mode", ""),
            "scope": form.get("scope", ""),
            "reason": form.get("reason", ""),
        }
    else:
        payload = {"mode": form.get("mode", ""), "reason": form.get("reason", "")}
    body: dict[str, Any] = {"request_type": request_type, "payload": payload}
    if form.get("trace_id", "").strip():
        body["trace_id"] = form["trace_id"]
    return TicketSubmitV1.model_validate(body).root


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"][1:]) or "form"
    return f"{where}: {first['msg']}"


@router.get("/tickets")
async def tickets(
    request: Request,
    user: ConsoleAuth,
    store: TicketStoreDep,
    status: Annotated[list[TicketStatus] | None, Query()] = None,
    request_type: Annotated[list[RequestType] | None, Query()] = None,
    cursor: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    filters = TicketFilter(
        statuses=frozenset(s.value for s in status or ()),
        request_types=frozenset(t.value for t in request_type or ()),
    )
    page = await run_in_threadpool(store.list, filters, 50, cursor)
    older = (
        str(request.url.include_query_params(cursor=page.next_cursor))
        if page.next_cursor is not None
        else None
    )
    return render(
        request,
        "tickets.html",
        user,
        page=page,
        older=older,
        reconcile_modes=[m.value for m in ReconcileMode],
        reports_modes=[m.value for m in ReportsMode],
        statuses=[s.value for s in TicketStatus],
        request_types=[t.value for t in RequestType],
        chosen_status={s.value for s in status or ()},
        chosen_type={t.value for t in request_type or ()},
        prefill_message=request.query_params.get("message_id", ""),
    )


@router.post("/tickets")
async def submit(
    request: Request, writer: ConsoleWrite, store: TicketStoreDep, clock: ClockDep
) -> Response:
    """File a ticket from a form: the same validation and append as POST /api/tickets."""
    _, form = writer
    back = form.get("back") if form.get("back") in ("/console/push", "/console/tickets") else None
    target = back or "/console/tickets"
    try:
        submission = submission_from_form(form)
    except ValidationError as exc:
        return _redirect(request, target, error=_problem(exc))
    ticket = await run_in_threadpool(store.submit, submission, clock.now())
    return _redirect(
        request, target, done=f"ticket {ticket.request_id} filed ({ticket.request_type.value})"
    )


def _redirect(request: Request, target: str, **params: str) -> RedirectResponse:
    return redirect_with_flash(request, target, **params)
