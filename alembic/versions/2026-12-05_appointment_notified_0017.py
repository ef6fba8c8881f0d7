"""a cancelled appointment's telephone call (appointment.notified_*)

After a cancellation the secretary rings each petitioner; the call list could not be ticked, so
two secretaries rang the same people or nobody rang some. An appointment now keeps when it was
rung, by whom, and what came of it (已告知, 未接通, 已改约至 …).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 01:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appointment") as batch:
        batch.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("notified_by_name", sa.String(length=50), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("notified_note", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("appointment") as batch:
        batch.drop_column("notified_note")
        batch.drop_column("notified_by_name")
        batch.drop_column("notified_at")
