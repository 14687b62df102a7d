"""HTTP routes of operator tickets (contract A): parameters, scopes and status codes only."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from app.core.auth import OperatorAuth, OperatorOrScriptAuth, ReadAuth
from app.core.deps import ClockDep
from app.tickets.responses import StatusChanged, TicketDetail, TicketList, TicketSubmitted
from app.tickets.schemas import RequestType, StatusChange, TicketStatus, TicketSubmitV1
from app.tickets.store import TicketFilter, TicketNotFound, TicketStore, store_for

router = APIRouter(prefix="/api/tickets", tags=["tickets"])

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _store(request: Request) -> TicketStore:
    return store_for(request.app)


@router.post("", status_code=201)
async def submit_ticket(
    body: TicketSubmitV1, request: Request, clock: ClockDep, _: OperatorAuth
) -> TicketSubmitted:
    """Record an operator's request (TICKET_REQUEST_V1, status OPEN). Executes nothing."""
    ticket = await run_in_threadpool(_store(request).submit, body.root, clock.now())
    return TicketSubmitted(request_id=ticket.request_id)


@router.get("", response_model=TicketList)
async def list_tickets(
    request: Request,
    _: ReadAuth,
    status: Annotated[list[TicketStatus] | None, Query()] = None,
    request_type: Annotated[list[RequestType] | None, Query()] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    trace_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=0)] = None,
) -> JSONResponse:
    """Tickets newest first with their current status; `next_cursor` continues the list."""
    filters = TicketFilter(
        statuses=frozenset(s.value for s in status or ()),
        request_types=frozenset(t.value for t in request_type or ()),
        since=since,
        until=until,
        trace_id=trace_id,
    )
    page = await run_in_threadpool(_store(request).list, filters, limit, cursor)
    answer = JSONResponse(page.as_dict())
    if page.next_cursor is not None:
        url = request.url.include_query_params(cursor=page.next_cursor)
        answer.headers["Link"] = f'<{url}>; rel="next"'
    return answer


@router.get("/{request_id}", response_model=TicketDetail)
async def get_ticket(request: Request, request_id: str, _: ReadAuth) -> JSONResponse:
    """One ticket, its current status and its status events."""
    if not _is_uuid(request_id):
        raise TicketNotFound(f"ticket {request_id} not found")
    return JSONResponse(await run_in_threadpool(_store(request).get, request_id))


@router.post("/{request_id}/status")
async def change_status(
    request: Request,
    request_id: str,
    body: StatusChange,
    clock: ClockDep,
    principal: OperatorOrScriptAuth,
) -> StatusChanged:
    """Append a status event (OPEN → IN_PROGRESS → DONE | FAILED); 409 for any other change."""
    if not _is_uuid(request_id):
        raise TicketNotFound(f"ticket {request_id} not found")
    event = await run_in_threadpool(
        _store(request).change_status,
        request_id,
        TicketStatus(body.status),
        principal.name,
        body.note,
        clock.now(),
    )
    return StatusChanged(event=event)


def _is_uuid(value: str) -> bool:
    return re.fullmatch(UUID_PATTERN, value) is not None
