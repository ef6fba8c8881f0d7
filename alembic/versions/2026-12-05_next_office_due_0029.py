"""A case's next office deadline as a column (the earliest due date of its running office
clocks), indexed for the worklist's "next deadline first" and "due within N days"; filled in
from the clocks here, kept by the clocks' own flush afterwards. The clocks' met_on indexed for
the review's "unmet on a past day", and the cases' state by id for its 包案 as of a day.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 15:58:50.491623+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# cases.workflow.OFFICE_CLOCKS as of this revision (a migration keeps its own copy).
OFFICE_CLOCKS = ("accept", "handle", "simple", "review", "re_review", "objection")
RUNNING = sa.text("next_office_due IS NOT NULL")


def upgrade() -> None:
    op.add_column("petition_case", sa.Column("next_office_due", sa.Date(), nullable=True))
    kinds = ", ".join(f"'{k}'" for k in OFFICE_CLOCKS)
    op.execute(
        "UPDATE petition_case SET next_office_due = (SELECT min(current_due) FROM case_clock "
        "WHERE case_clock.case_id = petition_case.id AND case_clock.status = 'running' "
        f"AND case_clock.kind IN ({kinds}))"
    )
    op.create_index(
        "ix_petition_case_category_code_next_office_due",
        "petition_case",
        ["category_code", "next_office_due"],
        postgresql_where=RUNNING,
        sqlite_where=RUNNING,
    )
    op.create_index(
        "ix_petition_case_next_office_due",
        "petition_case",
        ["next_office_due", "id"],
        postgresql_where=RUNNING,
        sqlite_where=RUNNING,
    )
    op.create_index(
        "ix_petition_case_unit_id_stage_next_office_due",
        "petition_case",
        ["unit_id", "stage", "next_office_due"],
    )
    op.create_index("ix_case_clock_met_on", "case_clock", ["met_on"])
    op.create_index(
        "ix_petition_case_id_state",
        "petition_case",
        ["id", "unit_id", "registered_on", "resolution", "resolution_on"],
    )


def downgrade() -> None:
    op.drop_index("ix_petition_case_id_state", table_name="petition_case")
    op.drop_index("ix_case_clock_met_on", table_name="case_clock")
    op.drop_index("ix_petition_case_unit_id_stage_next_office_due", table_name="petition_case")
    op.drop_index("ix_petition_case_next_office_due", table_name="petition_case")
    op.drop_index("ix_petition_case_category_code_next_office_due", table_name="petition_case")
    op.drop_column("petition_case", "next_office_due")
