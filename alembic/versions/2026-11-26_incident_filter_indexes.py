"""incidents: the status and priority filters get (column, created_at) indexes

GET /incidents?status=open (or priority=P0) is newest first. With single-column indexes the
planner walked ix_incidents_created_at and filtered row by row: 10,000 rows read for a page of
100 at 1,000,000 incidents, and the whole table when the status is rare. A (status, created_at)
index serves the filter and the order together; it replaces the single-column one, so the
webhook maintains as many indexes as before. Built CONCURRENTLY: a large table keeps taking
alerts while the index is made.

Revision ID: 0011_incident_filter_indexes
Revises: 0010_paging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_incident_filter_indexes"
down_revision: str | None = "0010_paging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SWAPS = (
    ("ix_incidents_status", "ix_incidents_status_created_at", "status"),
    ("ix_incidents_priority", "ix_incidents_priority_created_at", "priority"),
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for old, new, column in _SWAPS:
            op.create_index(
                new,
                "incidents",
                [column, "created_at"],
                postgresql_concurrently=True,
                if_not_exists=True,
            )
            op.drop_index(old, "incidents", postgresql_concurrently=True, if_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for old, new, column in _SWAPS:
            op.create_index(
                old, "incidents", [column], postgresql_concurrently=True, if_not_exists=True
            )
            op.drop_index(new, "incidents", postgresql_concurrently=True, if_exists=True)
