"""The latest push reports read back for the API (outbox, preview, self-test, send, evidence).

Each is validated against its contract model, so the route's OpenAPI is the contract's.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from app.core.errors import NotFound
from app.core.files import read_json
from app.push.paths import PushPaths

Report = TypeVar("Report", bound=BaseModel)


def read_latest(paths: PushPaths, relative: str, model: type[Report], what: str) -> Report:
    """The report at `relative`; NotFound (404) naming `what` when none was written yet."""
    document = read_json(paths.abs(relative))
    if document is None:
        raise NotFound(f"no {what} yet")
    return model.model_validate(document)
