"""Every /api/ route declares what it answers: a typed response schema in the OpenAPI."""

from __future__ import annotations

from typing import Any

from app.core.settings import load_settings
from app.main import create_app


def _typed(schema: dict[str, Any]) -> bool:
    """A reference to a named model, or an array of them; never a bare object or `{}`."""
    if "$ref" in schema:
        return True
    return schema.get("type") == "array" and "$ref" in schema.get("items", {})


def test_every_api_route_has_a_response_schema() -> None:
    spec = create_app(load_settings()).openapi()
    untyped = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            success = {
                code: r for code, r in operation["responses"].items() if code.startswith("2")
            }
            schemas = [
                r.get("content", {}).get("application/json", {}).get("schema", {})
                for r in success.values()
            ]
            if not schemas or not all(_typed(s) for s in schemas):
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []


def test_push_answers_name_their_models() -> None:
    spec = create_app(load_settings()).openapi()
    ok = spec["paths"]["/api/push/messages"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/MessagePage")
    assert "MessageOut" in spec["components"]["schemas"]
