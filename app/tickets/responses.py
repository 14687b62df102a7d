"""Response models of /api/tickets (the contract's own lines are in `schemas.py`).

The list and the detail are the stored lines as they are, answered without re-validation
(a page may hold hundreds of them); these models document that shape in the OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.tickets.schemas import Payload, RequestType, TicketEventV1, TicketStatus

IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class TicketSubmitted(BaseModel):
    result: Literal["OK"] = "OK"
    request_id: str


class TicketView(BaseModel):
    """A TICKET_REQUEST_V1 line with the ticket's current status."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    schema_: Literal["TICKET_REQUEST_V1"] = Field(alias="schema")
    request_id: str
    requested_at: IsoTime
    request_type: RequestType
    payload: Payload
    status: TicketStatus
    status_updated_at: IsoTime | None
    trace_id: str | None


class TicketDetail(TicketView):
    events: list[TicketEventV1]  # oldest first


class TicketList(BaseModel):
    items: list[TicketView]  # newest first
    next_cursor: str | None
    skipped_lines: int  # corrupt lines passed over
    torn_tail_bytes: int  # a torn last line (a writer that crashed mid-line)


class StatusChanged(BaseModel):
    result: Literal["OK"] = "OK"
    event: TicketEventV1
