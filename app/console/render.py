"""Jinja2 pages of the console: one environment, autoescaped, assets served from the package."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.console.session import ConsoleUser, read_flash

PRIORITY_CLASS = {"P0": "p0", "P1": "p1", "P2": "p2"}
# Every response of the console: nothing off the machine may load, no framing, no sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _parse_when(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


def _ago(value: datetime | str | None, now: datetime) -> str:
    moment = _parse_when(value)
    if moment is None:
        return "—" if value is None else str(value)
    return duration((now - moment).total_seconds()) + " ago"


def duration(seconds: float | None) -> str:
    """3 d 4 h, 5 h 2 min, 4 min 10 s, 12 s."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _when(value: datetime | str | None) -> str:
    moment = _parse_when(value)
    if moment is None:
        return "—" if value is None else str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["duration"] = duration
_ENV.filters["when"] = _when
_ENV.globals["priority_class"] = PRIORITY_CLASS


STATIC_DIR = Path(__file__).parent / "static"
# Content hashes make the URLs change with the files (`?v=`): caches never serve a stale copy.
ASSETS: dict[str, str] = {
    name: hashlib.sha256(files("app.console").joinpath("static", name).read_bytes()).hexdigest()[
        :12
    ]
    for name in ("console.css", "console.js")
}


def mount_static(app: FastAPI) -> None:
    """The console's own CSS and JS, public (the login page needs them), from the package."""
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")


def render(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    now: datetime = request.app.state.clock.now()
    flash, error = read_flash(request)
    html = _ENV.get_template(template).render(
        user=user,
        now=now,
        ago=lambda value: _ago(value, now),
        asset=lambda name: f"/console/static/{name}?v={ASSETS[name]}",
        path=request.url.path,
        flash=flash,
        error=error,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def render_fragment(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def since_hours(now: datetime, hours: int) -> datetime:
    return now - timedelta(hours=hours)
