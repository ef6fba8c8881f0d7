"""indexes for the worklist

The worklist and GET /api/cases?q= search by an exact phone; without its own index that was
a scan of every petitioner. "Next deadline first" walks the running clocks in due order: a
partial index over them (measured in bench/worklist.py at a million cases: 351 → 39 ms).
A unit's open cases of one category: the (unit_id, stage) index gains category_code.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_petition_case_unit_id_stage", table_name="petition_case")
    op.create_index(
        "ix_petition_case_unit_id_stage",
        "petition_case",
        ["unit_id", "stage", "category_code"],
        unique=False,
    )
    op.create_index("ix_case_petitioner_phone", "case_petitioner", ["phone"], unique=False)
    op.create_index(
        "ix_case_clock_running_due",
        "case_clock",
        ["current_due", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_clock_running_due", table_name="case_clock")
    op.drop_index("ix_case_petitioner_phone", table_name="case_petitioner")
    op.drop_index("ix_petition_case_unit_id_stage", table_name="petition_case")
    op.create_index(
        "ix_petition_case_unit_id_stage", "petition_case", ["unit_id", "stage"], unique=False
    )
