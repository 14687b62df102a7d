"""push messages: UNCONFIRMED, a send whose outcome nobody can know (the sender died mid-call)

Revision ID: 0007_push_unconfirmed
Revises: 0006_merge_heads
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_push_unconfirmed"
down_revision: str | None = "0006_merge_heads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0003 named it through the naming convention twice; the model's name is the plain one.
OLD_CHECK = "ck_push_messages_ck_push_messages_status"
CHECK = "ck_push_messages_status"


def upgrade() -> None:
    op.alter_column("push_messages", "status", type_=sa.String(20), existing_type=sa.String(10))
    op.drop_constraint(op.f(OLD_CHECK), "push_messages", type_="check")
    op.create_check_constraint(
        op.f(CHECK), "push_messages", "status IN ('PENDING', 'SENDING', 'SENT', 'UNCONFIRMED')"
    )


def downgrade() -> None:
    # An unconfirmed message may have reached the chat: the older schema cannot say so, and
    # PENDING would send it again, so it is recorded as SENT (at-most-once holds either way).
    op.execute("UPDATE push_messages SET status = 'SENT' WHERE status = 'UNCONFIRMED'")
    op.drop_constraint(op.f(CHECK), "push_messages", type_="check")
    op.create_check_constraint(
        op.f(OLD_CHECK), "push_messages", "status IN ('PENDING', 'SENDING', 'SENT')"
    )
    op.alter_column("push_messages", "status", type_=sa.String(10), existing_type=sa.String(20))
