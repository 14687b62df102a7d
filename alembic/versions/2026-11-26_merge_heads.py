"""merge heads: the push pipeline and incident response branches join

One head again, so a plain `alembic upgrade head` (a Kubernetes migration Job, an operator)
works. New migrations revise this one (or whatever is the single head then).

Revision ID: 0006_merge_heads
Revises: 0003_push_pipeline, 0005_delivery_generation
Create Date: 2026-11-26
"""

from collections.abc import Sequence

revision: str = "0006_merge_heads"
down_revision: str | Sequence[str] | None = ("0003_push_pipeline", "0005_delivery_generation")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
