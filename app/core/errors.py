"""Errors carry their HTTP status; one handler renders `{"detail": reason}`."""

from __future__ import annotations

import errno
import functools
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, ParamSpec, TypeVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class AppError(Exception):
    """Base for expected failures; subclasses set `status_code`."""

    status_code: ClassVar[int] = 400
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: text echoed from a request (a lone surrogate) always renders."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


class BadRequest(AppError):
    status_code = 400


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


class InsufficientStorage(AppError, OSError):
    """The disk (or quota) is full: 507; the file we meant to replace is intact."""

    status_code = 507


class StorageNotWritable(AppError, OSError):
    """The data directory refuses writes (permissions, read-only mount): 503, retry later."""

    status_code = 503
    headers = {"Retry-After": "30"}


_STORAGE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def storage_error(exc: OSError) -> AppError | None:
    """What a failed file write means to the caller, or None for other OS errors.

    Both classes are OSError too, so code that survives a failed write (`except OSError`)
    keeps doing so; uncaught, the request gets a clear 507 or 503 instead of a 500.
    """
    name = Path(str(exc.filename)).name if exc.filename else "a file"
    if exc.errno in _STORAGE_FULL:
        return InsufficientStorage(f"storage full: {name} not written; the previous one is intact")
    if exc.errno in _NOT_WRITABLE:
        return StorageNotWritable(f"data directory not writable: {name} not written")
    return None


def storage_errors(func: Callable[P, T]) -> Callable[P, T]:
    """For app/core/files.py's writers: a write failing on a full or unwritable disk raises
    InsufficientStorage (507) or StorageNotWritable (503), both OSError, after the writer
    removed its temporary file."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except OSError as exc:
            translated = storage_error(exc)
            if translated is None or isinstance(exc, AppError):
                raise
            raise translated from exc

    return wrapper


async def _handle_app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)  # type narrowing  # nosec B101
    return SafeJSONResponse(
        {"detail": exc.reason}, status_code=exc.status_code, headers=exc.headers
    )


async def _handle_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # type narrowing  # nosec B101
    return SafeJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


# SQLSTATE classes 22 (data exception: NUL, bad encoding, out of range) and 54 (too large):
# the request carries a value PostgreSQL can never store, so retrying cannot help.
_UNSTORABLE = (asyncpg.DataError, asyncpg.ProgramLimitExceededError)


def _unstorable(exc: BaseException) -> bool:
    if isinstance(exc, (*_UNSTORABLE, DataError)):
        return True
    cause = exc.orig.__cause__ if isinstance(exc, DBAPIError) and exc.orig else None
    return isinstance(cause, _UNSTORABLE)


async def _handle_unstorable(request: Request, exc: Exception) -> JSONResponse:
    if not _unstorable(exc):
        raise exc  # not ours: the last-resort handler answers
    # Never the message: the driver quotes the refused value in it.
    route = getattr(request.scope.get("route"), "path", None)
    log.info(
        "request refused: a value cannot be stored",
        extra={"error_class": type(exc).__name__, "route": route},
    )
    return SafeJSONResponse(
        {
            "detail": "the request carries a value the database cannot store (NUL, invalid text, "
            "or out of range)"
        },
        status_code=422,
    )


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
    app.add_exception_handler(RequestValidationError, _handle_validation)
    for exc_type in (
        OperationalError,
        InterfaceError,
        ConnectionRefusedError,
        TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        asyncpg.TooManyConnectionsError,
        asyncpg.InterfaceError,
    ):
        app.add_exception_handler(exc_type, _handle_database_down)
    for exc_type in (DataError, DBAPIError, *_UNSTORABLE):
        app.add_exception_handler(exc_type, _handle_unstorable)
