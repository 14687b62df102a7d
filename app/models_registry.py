"""Imports every domain's models so Base.metadata is complete (for Alembic and tests)."""

from __future__ import annotations


def import_all_models() -> None:
    """Import each models module; add new domains here."""
    import app.incidents.models  # noqa: F401
    import app.push.incident_models  # noqa: F401
    import app.push.models  # noqa: F401
    import app.response.models  # noqa: F401
