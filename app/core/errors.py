"""Errors carry their HTTP status; one handler renders `{"detail": reason}`."""

from __future__ import annotations

import logging
from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base for expected failures; subclasses set `status_code`."""

    status_code: ClassVar[int] = 400
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class Unprocessable(AppError):
    status_code = 422


class Unauthorized(AppError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status_code = 403


class PayloadTooLarge(AppError):
    status_code = 413


class ServiceUnavailable(AppError):
    status_code = 503
    headers = {"Retry-After": "5"}


async def _handle_app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse({"detail": exc.reason}, status_code=exc.status_code, headers=exc.headers)


async def _handle_database_down(_: Request, exc: Exception) -> JSONResponse:
    # Only connection-level failures land here (see install_error_handlers): a 503 tells
    # callers (Alertmanager, daily_ops.sh) to retry instead of giving up on a 500.
    log.warning("database unavailable", extra={"error_class": type(exc).__name__})
    return JSONResponse(
        {"detail": "database unavailable, retry later"},
        status_code=503,
        headers=ServiceUnavailable.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the AppError handler and the database-unreachable → 503 mapping."""
    app.add_exception_handler(AppError, _handle_app_error)
    for exc_type in (OperationalError, InterfaceError, ConnectionRefusedError, TimeoutError):
        app.add_exception_handler(exc_type, _handle_database_down)
