"""the departments of the district's mediation centre: 常驻, 轮驻, 随驻

The seed's 区矛调中心 has 8 resident, 7 rotating and 20 on-call departments. A department's
place there is history as rows (from a day; the current one has no end), at most one current
per department (a partial UNIQUE on both databases).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 08:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mediation_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("presence", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("set_by_name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "presence IN ('resident', 'rotating', 'on_call')",
            name=op.f("ck_mediation_presence_presence"),
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_mediation_presence_unit_id"), "mediation_presence", ["unit_id"])
    op.create_index(
        "uq_mediation_presence_current",
        "mediation_presence",
        ["unit_id"],
        unique=True,
        postgresql_where=sa.text("ended_on IS NULL"),
        sqlite_where=sa.text("ended_on IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_mediation_presence_current", table_name="mediation_presence")
    op.drop_index(op.f("ix_mediation_presence_unit_id"), table_name="mediation_presence")
    op.drop_table("mediation_presence")
