"""Prometheus HTTP API instant queries, PromQL templated from the alert's labels."""

from __future__ import annotations

import math
import string
from typing import Any

import httpx

from app.core.redact import error_text


class QueryError(RuntimeError):
    """Prometheus answered with an error, or the query could not be built."""


def promql_escape(value: str) -> str:
    """Escape a label value for a double-quoted PromQL string (no injection via labels)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_query(template: str, values: dict[str, str]) -> str:
    """Fill `{name}` from `values`, escaped; `{{`/`}}` stay literal PromQL braces."""
    names = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    missing = sorted(names - values.keys())
    if missing:
        raise QueryError(f"alert has no label {', '.join(missing)}")
    return template.format_map({k: promql_escape(v) for k, v in values.items()})


def _first_value(data: dict[str, Any]) -> float | None:
    result_type = data.get("resultType")
    result = data.get("result")
    if result_type == "scalar" and isinstance(result, list):
        raw = result[1]
    elif result_type == "vector" and isinstance(result, list) and result:
        raw = result[0]["value"][1]
    else:
        return None
    value = float(raw)
    return None if math.isnan(value) or math.isinf(value) else value


async def instant_query(
    client: httpx.AsyncClient, base_url: str, promql: str, timeout: float
) -> float | None:
    """`GET /api/v1/query`; the first sample's value, or None when the result is empty."""
    response = await client.get(
        f"{base_url}/api/v1/query", params={"query": promql}, timeout=timeout
    )
    try:
        body = response.json()
    except ValueError:
        raise QueryError(f"HTTP {response.status_code}: not JSON") from None
    if response.status_code != 200 or body.get("status") != "success":
        raise QueryError(f"HTTP {response.status_code}: {body.get('error', 'query failed')}")
    return _first_value(body.get("data") or {})


async def diagnose(
    client: httpx.AsyncClient,
    base_url: str,
    queries: dict[str, str],
    values: dict[str, str],
    timeout: float,
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Every configured query: values by name, and errors by name (one failure is not all)."""
    metrics: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for name, template in queries.items():
        try:
            metrics[name] = await instant_query(
                client, base_url, render_query(template, values), timeout
            )
        except (QueryError, httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
            metrics[name] = None
            errors[name] = error_text(exc, 300)
    return metrics, errors
