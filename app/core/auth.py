"""Bearer-token auth with scopes: unset token = scope closed; wrong token 401; missing scope 403.

Routes declare auth with the Annotated aliases below. core.guard finds them in each route's
dependencies and checks them before the body is read; the dependency checks again.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request

from app.core.errors import Forbidden, Unauthorized
from app.core.settings import Settings


class Scope(StrEnum):
    ALERTMANAGER = "alertmanager"
    READ = "read"
    OPERATOR = "operator"
    OPS_SCRIPT = "ops_script"
    METRICS = "metrics"


# Which scopes each configured token carries (operators and the ops script may also read).
TOKEN_SCOPES: dict[str, frozenset[Scope]] = {
    "ALERTMANAGER_TOKEN": frozenset({Scope.ALERTMANAGER}),
    "VIEWER_TOKEN": frozenset({Scope.READ}),
    "OPERATOR_TOKEN": frozenset({Scope.READ, Scope.OPERATOR}),
    "OPS_SCRIPT_TOKEN": frozenset({Scope.READ, Scope.OPS_SCRIPT}),
    "METRICS_TOKEN": frozenset({Scope.METRICS}),
}


@dataclass(frozen=True)
class Principal:
    """Who called: the token's name (never its value) and its scopes."""

    name: str
    scopes: frozenset[Scope]


def identify(settings: Settings, authorization: str | None) -> Principal:
    """Match the bearer token against every configured token in constant time."""
    if not authorization:
        raise Unauthorized("missing bearer token")
    scheme, _, presented = authorization.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise Unauthorized("authorization must be 'Bearer <token>'")
    found: Principal | None = None
    for name, secret in settings.api_tokens().items():
        if secret is None:
            continue
        # Compare against every token so timing does not reveal which one matched.
        if hmac.compare_digest(secret.get_secret_value().encode(), presented.encode()):
            found = Principal(name=name.removesuffix("_TOKEN").lower(), scopes=TOKEN_SCOPES[name])
    if found is None:
        raise Unauthorized("invalid bearer token")
    return found


ANONYMOUS = Principal(name="anonymous", scopes=frozenset())


@dataclass(frozen=True)
class ScopeCheck:
    """The auth dependency of a route: the caller must hold at least one of `any_of`.

    `open_unless` names a token setting: while it is unset the route is open to anyone (the
    documented default of /metrics); once set, the token is required.
    """

    any_of: tuple[Scope, ...]
    open_unless: str | None = None

    def authorize(self, settings: Settings, authorization: str | None) -> Principal:
        """The caller, or Unauthorized/Forbidden; reads headers only, never the body."""
        if self.open_unless is not None and getattr(settings, self.open_unless) is None:
            return ANONYMOUS
        principal = identify(settings, authorization)
        if not principal.scopes.intersection(self.any_of):
            wanted = " or ".join(s.value for s in self.any_of)
            raise Forbidden(f"token lacks the {wanted} scope")
        return principal

    # async: a sync dependency would cost a threadpool hop on every request.
    async def __call__(self, request: Request) -> Principal:
        return self.authorize(request.app.state.settings, request.headers.get("authorization"))


def require(*any_of: Scope, open_unless: str | None = None) -> Any:
    """Dependency: the caller must hold at least one of `any_of`."""
    return Depends(ScopeCheck(any_of, open_unless))


AlertmanagerAuth = Annotated[Principal, require(Scope.ALERTMANAGER)]
ReadAuth = Annotated[Principal, require(Scope.READ)]
OperatorAuth = Annotated[Principal, require(Scope.OPERATOR)]
OpsScriptAuth = Annotated[Principal, require(Scope.OPS_SCRIPT)]
OperatorOrScriptAuth = Annotated[Principal, require(Scope.OPERATOR, Scope.OPS_SCRIPT)]
# Open while METRICS_TOKEN is unset (Prometheus' default scrape has no credentials).
MetricsAuth = Annotated[Principal, require(Scope.METRICS, open_unless="METRICS_TOKEN")]
