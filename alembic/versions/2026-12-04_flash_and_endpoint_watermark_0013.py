"""flash messages in the console session; endpoints receive only later events

A message after a redirect ("已登记 …") is kept with the console session and shown once
(console_session.flash), never carried in the URL. A notification endpoint remembers the last
event written before it existed (notify_endpoint.after_event_id): it receives only later ones.
Existing endpoints keep receiving everything still waiting (0).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("console_session") as batch:
        batch.add_column(
            sa.Column("flash", sa.String(length=500), nullable=False, server_default="")
        )
    with op.batch_alter_table("notify_endpoint") as batch:
        batch.add_column(
            sa.Column("after_event_id", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("notify_endpoint") as batch:
        batch.drop_column("after_event_id")
    with op.batch_alter_table("console_session") as batch:
        batch.drop_column("flash")
