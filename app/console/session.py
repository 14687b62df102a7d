"""Console login: an API token becomes a signed, expiring session cookie; CSRF on every form.

The cookie carries no secret: `{sub, scopes, exp, csrf, tfp}` signed with HMAC-SHA256. `tfp` is
a keyed fingerprint of the token used to log in, so rotating that token ends its sessions.
Only the viewer and operator tokens may log in; the server checks the operator scope again on
every write, whatever the page showed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.core.auth import Scope, identify
from app.core.errors import AppError, Forbidden, ServiceUnavailable, Unauthorized
from app.core.files import create_once
from app.core.settings import Settings

COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
SECRET_FILE = "state/console/session_secret"  # a path, not a secret  # nosec B105
CONSOLE_TOKENS = ("VIEWER_TOKEN", "OPERATOR_TOKEN")
MAX_FORM_BYTES = 64 * 1024


class CsrfRefused(Forbidden):
    pass


class ConsoleLoginRefused(Unauthorized):
    pass


class ConsoleDisabled(ServiceUnavailable):
    pass


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    scopes: frozenset[str]
    csrf: str

    @property
    def can_write(self) -> bool:
        return Scope.OPERATOR.value in self.scopes


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_secret(request: Request) -> bytes:
    """From settings; in development generated once under DATA_DIR and shared by workers."""
    cached: bytes | None = getattr(request.app.state, "console_secret", None)
    if cached is not None:
        return cached
    settings: Settings = request.app.state.settings
    if settings.CONSOLE_SESSION_SECRET is not None:
        secret = settings.CONSOLE_SESSION_SECRET.get_secret_value().encode()
    elif settings.ENVIRONMENT == "production":
        raise ConsoleDisabled("the console needs CONSOLE_SESSION_SECRET in production")
    else:
        secret = create_once(settings.DATA_DIR / SECRET_FILE, secrets.token_hex(32).encode())
    request.app.state.console_secret = secret
    return secret


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def _token_fingerprint(secret: bytes, token: str) -> str:
    return _b64(hmac.new(secret, b"token:" + token.encode(), hashlib.sha256).digest()[:12])


def _now_ts(request: Request) -> int:
    return int(request.app.state.clock.now().timestamp())


def log_in(request: Request, token: str) -> tuple[str, ConsoleUser]:
    """The cookie value for a viewer or operator token; 401 for anything else."""
    settings: Settings = request.app.state.settings
    try:
        principal = identify(settings, f"Bearer {token.strip()}")
    except Unauthorized:
        raise ConsoleLoginRefused("unknown token") from None
    if f"{principal.name.upper()}_TOKEN" not in CONSOLE_TOKENS:
        raise ConsoleLoginRefused("only the viewer and operator tokens open the console")
    secret = session_secret(request)
    user = ConsoleUser(
        name=principal.name,
        scopes=frozenset(s.value for s in principal.scopes),
        csrf=secrets.token_urlsafe(24),
    )
    claims = {
        "sub": user.name,
        "scopes": sorted(user.scopes),
        "exp": _now_ts(request) + settings.CONSOLE_SESSION_TTL_SECONDS,
        "csrf": user.csrf,
        "tfp": _token_fingerprint(secret, token.strip()),
    }
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"v1.{body}.{_sign(secret, body)}", user


def read_session(request: Request) -> ConsoleUser | None:
    """The logged-in user, or None for a missing, forged, expired or revoked session."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or cookie.count(".") != 2:
        return None
    version, body, signature = cookie.split(".")
    secret = session_secret(request)
    if version != "v1" or not hmac.compare_digest(signature, _sign(secret, body)):
        return None
    try:
        claims: dict[str, Any] = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= _now_ts(request):
        return None
    settings: Settings = request.app.state.settings
    token = settings.api_tokens().get(f"{str(claims.get('sub')).upper()}_TOKEN")
    if token is None or f"{str(claims['sub']).upper()}_TOKEN" not in CONSOLE_TOKENS:
        return None
    expected = _token_fingerprint(secret, token.get_secret_value())
    if not hmac.compare_digest(str(claims.get("tfp")), expected):
        return None  # the token was rotated: its sessions end with it
    return ConsoleUser(
        name=str(claims["sub"]), scopes=frozenset(claims["scopes"]), csrf=str(claims["csrf"])
    )


def cookie_flags(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    secure = settings.PUBLIC_BASE_URL.startswith("https://") or request.url.scheme == "https"
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": "/console"}


def set_session(request: Request, response: Response, cookie: str) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        COOKIE, cookie, max_age=settings.CONSOLE_SESSION_TTL_SECONDS, **cookie_flags(request)
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, **cookie_flags(request))


def _flash_text(done: str | None, error: str | None) -> str:
    return f"flash:{done or ''}\x00{error or ''}"


def redirect_with_flash(
    request: Request, target: str, *, done: str | None = None, error: str | None = None
) -> RedirectResponse:
    """303 to `target` with a message the page shows only if we signed it (no spoofed banners)."""
    params = {k: v for k, v in (("done", done), ("error", error)) if v}
    params["sig"] = _sign(session_secret(request), _flash_text(done, error))[:22]
    return RedirectResponse(f"{target}?{urlencode(params)}", status_code=303)


def read_flash(request: Request) -> tuple[str | None, str | None]:
    """(done, error) from the query when its signature holds, else nothing."""
    done, error = request.query_params.get("done"), request.query_params.get("error")
    if not done and not error:
        return None, None
    expected = _sign(session_secret(request), _flash_text(done, error))[:22]
    if not hmac.compare_digest(request.query_params.get("sig", ""), expected):
        return None, None
    return done, error


def safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect."""
    if not target or not (target == "/console" or target.startswith(("/console/", "/console?"))):
        return "/console"
    if "//" in target or "\\" in target or ".." in target:
        return "/console"
    return target


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (one value per field), bounded in size."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise AppError("forms must be application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise AppError("form too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}


def check_csrf(user_csrf: str, form: dict[str, str]) -> None:
    if not hmac.compare_digest(form.get("csrf", ""), user_csrf):
        raise CsrfRefused("the form's CSRF token does not match this session: reload the page")


async def _console_user(request: Request) -> ConsoleUser:
    user = read_session(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # A redirect, not a 401: a person following a PagerDuty link lands on the login form.
        raise HTTPException(
            status_code=303, headers={"Location": f"/console/login?next={quote(target)}"}
        )
    return user


async def _console_writer(request: Request) -> tuple[ConsoleUser, dict[str, str]]:
    """A logged-in operator and the form of a write, its CSRF token checked.

    Without a session a write is a 401 (nothing to land on), read before the body.
    """
    user = read_session(request)
    if user is None:
        raise Unauthorized("log in to the console first")
    form = await read_form(request)
    check_csrf(user.csrf, form)
    if not user.can_write:
        raise Forbidden("viewers cannot change anything")
    return user, form


ConsoleAuth = Annotated[ConsoleUser, Depends(_console_user)]
ConsoleWrite = Annotated[tuple[ConsoleUser, dict[str, str]], Depends(_console_writer)]
