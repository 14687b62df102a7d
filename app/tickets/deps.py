"""Typed dependency of the ticket routes (and the console's): the process's ticket store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.tickets.store import TicketStore, store_for


async def ticket_store(request: Request) -> TicketStore:
    return store_for(request.app)


TicketStoreDep = Annotated[TicketStore, Depends(ticket_store)]
