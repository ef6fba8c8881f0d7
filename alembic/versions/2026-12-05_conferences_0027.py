"""督查督办: 联席会议, the matters they take up (a case or a ledger entry), their decisions with
the 督办单 (numbered per year), and each decision's dated steps

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 13:19:29.205495+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_counter",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_decision_counter")),
    )
    op.create_table(
        "conference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("convener_leader_id", sa.Integer(), nullable=False),
        sa.Column("unit_ids", sa.JSON(), nullable=False),
        sa.Column("notes", sa.String(length=4000), nullable=False),
        sa.Column("secretary_user_id", sa.Integer(), nullable=True),
        sa.Column("secretary_name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["convener_leader_id"],
            ["leader.id"],
            name=op.f("fk_conference_convener_leader_id_leader"),
        ),
        sa.ForeignKeyConstraint(
            ["secretary_user_id"],
            ["app_user.id"],
            name=op.f("fk_conference_secretary_user_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference")),
    )
    op.create_index(op.f("ix_conference_held_on"), "conference", ["held_on"], unique=False)
    op.create_table(
        "conference_matter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(case_id IS NULL) <> (ledger_entry_id IS NULL)",
            name=op.f("ck_conference_matter_one_matter"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["petition_case.id"],
            name=op.f("fk_conference_matter_case_id_petition_case"),
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_conference_matter_conference_id_conference"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entry.id"],
            name=op.f("fk_conference_matter_ledger_entry_id_ledger_entry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_matter")),
        sa.UniqueConstraint(
            "conference_id", "case_id", name=op.f("uq_conference_matter_conference_id_case_id")
        ),
        sa.UniqueConstraint(
            "conference_id",
            "ledger_entry_id",
            name=op.f("uq_conference_matter_conference_id_ledger_entry_id"),
        ),
    )
    op.create_index(
        op.f("ix_conference_matter_case_id"), "conference_matter", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_conference_matter_conference_id"),
        "conference_matter",
        ["conference_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_conference_matter_ledger_entry_id"),
        "conference_matter",
        ["ledger_entry_id"],
        unique=False,
    )
    op.create_table(
        "conference_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.Column("owner_unit_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.String(length=2000), nullable=False),
        sa.Column("done_criteria", sa.String(length=1000), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("pressed", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("ref_year", sa.Integer(), nullable=False),
        sa.Column("ref_seq", sa.Integer(), nullable=False),
        sa.Column("notice", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'reported', 'closed')", name=op.f("ck_conference_decision_status")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["petition_case.id"],
            name=op.f("fk_conference_decision_case_id_petition_case"),
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_conference_decision_conference_id_conference"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entry.id"],
            name=op.f("fk_conference_decision_ledger_entry_id_ledger_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"],
            ["conference_matter.id"],
            name=op.f("fk_conference_decision_matter_id_conference_matter"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_unit_id"], ["unit.id"], name=op.f("fk_conference_decision_owner_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_decision")),
        sa.UniqueConstraint("number", name=op.f("uq_conference_decision_number")),
        sa.UniqueConstraint(
            "ref_year", "ref_seq", name=op.f("uq_conference_decision_ref_year_ref_seq")
        ),
    )
    op.create_index(
        op.f("ix_conference_decision_case_id"), "conference_decision", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_conference_decision_conference_id"),
        "conference_decision",
        ["conference_id"],
        unique=False,
    )
    op.create_index(
        "ix_conference_decision_status_deadline",
        "conference_decision",
        ["status", "deadline"],
        unique=False,
    )
    op.create_index(
        "ix_conference_decision_unit_status",
        "conference_decision",
        ["owner_unit_id", "status"],
        unique=False,
    )
    op.create_table(
        "conference_decision_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('report', 'press', 'close')", name=op.f("ck_conference_decision_step_kind")
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_conference_decision_step_actor_user_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["conference_decision.id"],
            name=op.f("fk_conference_decision_step_decision_id_conference_decision"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_decision_step")),
    )
    op.create_index(
        op.f("ix_conference_decision_step_decision_id"),
        "conference_decision_step",
        ["decision_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_conference_decision_step_decision_id"), table_name="conference_decision_step"
    )
    op.drop_table("conference_decision_step")
    op.drop_index("ix_conference_decision_unit_status", table_name="conference_decision")
    op.drop_index("ix_conference_decision_status_deadline", table_name="conference_decision")
    op.drop_index(op.f("ix_conference_decision_conference_id"), table_name="conference_decision")
    op.drop_index(op.f("ix_conference_decision_case_id"), table_name="conference_decision")
    op.drop_table("conference_decision")
    op.drop_index(op.f("ix_conference_matter_ledger_entry_id"), table_name="conference_matter")
    op.drop_index(op.f("ix_conference_matter_conference_id"), table_name="conference_matter")
    op.drop_index(op.f("ix_conference_matter_case_id"), table_name="conference_matter")
    op.drop_table("conference_matter")
    op.drop_index(op.f("ix_conference_held_on"), table_name="conference")
    op.drop_table("conference")
    op.drop_table("decision_counter")
