"""page_calls: an index on the call time, so retention deletes old calls oldest first

Revision ID: 0012_page_calls_retention
Revises: 0011_incident_filter_indexes
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_page_calls_retention"
down_revision: str | None = "0011_incident_filter_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_page_calls_at",
            "page_calls",
            ["at"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_page_calls_at", "page_calls", postgresql_concurrently=True, if_exists=True
        )
