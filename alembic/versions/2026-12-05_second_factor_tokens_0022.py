"""a second factor for staff (TOTP), and API tokens that expire and carry scopes

等保三级 §8.1.4.1 asks two factors of the administrators (and, at the level-3 setting, of
everyone): a user's TOTP secret sealed with the data keys, the last time step used, and the
recovery codes' hashes; a console session records when its second factor was passed.
Tokens for programs get an expiry and scopes ("read", "write"); the tokens already issued
keep working for 90 days (an administrator's) or a year, and may read and write as before.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 04:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column("totp_sealed", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("totp_last_step", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=True))
    with op.batch_alter_table("app_user") as batch:
        batch.alter_column("totp_sealed", server_default=None, existing_type=sa.String(200))
        batch.alter_column("totp_last_step", server_default=None, existing_type=sa.BigInteger())
    with op.batch_alter_table("console_session") as batch:
        batch.add_column(sa.Column("second_factor_at", UTC_DATETIME, nullable=True))
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("expires_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
    bind = op.get_bind()
    days = "interval '{} days'" if bind.dialect.name == "postgresql" else "'+{} days'"
    for roles, span in (("'admin', 'secadmin', 'auditor'", 90), (None, 365)):
        later = (
            f"now() + {days.format(span)}"
            if bind.dialect.name == "postgresql"
            else f"strftime('%Y-%m-%d %H:%M:%f', 'now', {days.format(span)})"
        )
        who = f" AND user_id IN (SELECT id FROM app_user WHERE role IN ({roles}))" if roles else ""
        op.execute(
            f'UPDATE api_token SET expires_at = {later}, scopes = \'["read", "write"]\''
            f" WHERE expires_at IS NULL{who}"
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("scopes")
        batch.drop_column("expires_at")
    with op.batch_alter_table("console_session") as batch:
        batch.drop_column("second_factor_at")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("recovery_codes")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_sealed")
