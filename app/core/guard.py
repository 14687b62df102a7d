"""Before a route reads one byte of body: a NUL-free URL, authentication, a body size limit.

FastAPI reads and parses a route's body before it solves the route's dependencies, so an
auth dependency alone would let an anonymous caller make us read and parse megabytes. This
pure ASGI middleware holds the body back: on the route's first read (the router has matched
by then), it checks every auth dependency in the route's dependency tree
(core.auth.ScopeCheck: the Annotated aliases) from the headers alone, and the declared
length against the route's BodyLimit (else HTTP_MAX_BODY_BYTES); then it passes the body
through, cutting it off at the limit. A route added anywhere gets all of it by default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.auth import ScopeCheck
from app.core.errors import AppError, BadRequest, PayloadTooLarge

DEFAULT_LIMIT_SETTING = "HTTP_MAX_BODY_BYTES"


@dataclass(frozen=True)
class BodyLimit:
    """Route dependency naming the Settings field that limits its body, e.g. the webhook's.

    Use as `dependencies=[Depends(BodyLimit("WEBHOOK_MAX_BODY_BYTES"))]`; the guard reads it.
    """

    setting: str

    async def __call__(self) -> None:
        return None


@dataclass(frozen=True)
class RoutePolicy:
    checks: tuple[ScopeCheck, ...]
    limit_setting: str


def policy_of(dependants: list[Any]) -> RoutePolicy:
    """Every ScopeCheck and the BodyLimit anywhere in these dependency trees."""
    checks: list[ScopeCheck] = []
    limit = DEFAULT_LIMIT_SETTING
    pending = list(dependants)
    while pending:
        dependant = pending.pop()
        call = getattr(dependant, "call", None)
        if isinstance(call, ScopeCheck) and call not in checks:
            checks.append(call)
        elif isinstance(call, BodyLimit):
            limit = call.setting
        pending.extend(getattr(dependant, "dependencies", ()))
    return RoutePolicy(tuple(checks), limit)


def _route_dependants(scope: Scope) -> list[Any]:
    """The matched route's dependency trees: its own, and (FastAPI >= 0.16x) the effective one
    that adds the dependencies of the routers it was included through."""
    found = [getattr(scope.get("route"), "dependant", None)]
    context = scope.get("fastapi", {}).get("effective_route_context")
    found.append(getattr(context, "dependant", None))
    return [d for d in found if d is not None]


def route_policy(scope: Scope) -> RoutePolicy:
    """The auth checks and body limit of the route the router matched for this request."""
    return policy_of(_route_dependants(scope))


def _has_nul(scope: Scope) -> bool:
    # PostgreSQL text refuses NUL: no path or query parameter may carry one to a query.
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"\x00" in query or b"%00" in query


async def _answer(send: Send, error: AppError) -> None:
    body = json.dumps({"detail": error.reason}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread body must not be taken for the next request
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """NUL in the URL → 400; auth → 401/403; body over the route's limit → 413; all before the body."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if _has_nul(scope):
            await _answer(send, BadRequest("the URL carries a NUL byte"))
            return
        if declared is not None and not declared.isdigit():
            await _answer(send, BadRequest("Content-Length is not a number"))
            return
        settings: Any = self.fastapi_app.state.settings
        received = 0
        limit: int | None = None  # known at the first read, once the router has matched
        refused = started = False

        async def refuse(error: AppError) -> Message:
            nonlocal refused
            refused = True
            if not started:
                await _answer(send, error)
            return {"type": "http.disconnect"}  # the app sees a client that went away

        async def guarded_receive() -> Message:
            nonlocal received, limit
            if refused:
                return {"type": "http.disconnect"}
            if limit is None:
                policy = route_policy(scope)
                limit = int(getattr(settings, policy.limit_setting))
                authorization = headers.get(b"authorization")
                try:
                    for check in policy.checks:
                        check.authorize(
                            settings, authorization.decode("latin-1") if authorization else None
                        )
                except AppError as error:
                    return await refuse(error)
                if declared is not None and int(declared) > limit:
                    size = int(declared)
                    return await refuse(
                        PayloadTooLarge(f"body of {size} bytes exceeds the {limit}-byte limit")
                    )
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return await refuse(PayloadTooLarge(f"body exceeds the {limit}-byte limit"))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # our 4xx is the answer; the app's reply to the withheld body is not
            started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The app failed on the body we withheld; the client already has its answer.
