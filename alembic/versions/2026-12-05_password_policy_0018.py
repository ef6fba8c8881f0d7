"""password policy: when a person last chose their password, and the ones before it

等保三级 asks that passwords be complex, changed periodically and not reused. A user now keeps
when they last chose their own password (app_user.password_changed_at; existing users count
from this upgrade) and the hashes of their previous ones (app_user.password_history).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 01:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("password_history", sa.JSON(), nullable=True))
    # Existing passwords count their age from today (nobody is asked to change on upgrade).
    op.execute(
        "UPDATE app_user SET password_changed_at = CURRENT_TIMESTAMP WHERE password_hash <> ''"
    )


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("password_history")
        batch.drop_column("password_changed_at")
