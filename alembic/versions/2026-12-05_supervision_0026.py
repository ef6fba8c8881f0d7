"""督查督办: the spot check's checklist (seeded by the service), a month's check of a unit
with its seed, population and sample, the marks, the findings with their rectification, and
a case's 流调 (cause_inquiry)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 12:48:18.421022+00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As the migration put them in (reception.supervision.rules.DEFAULT_ITEMS on that day).
DEFAULT_ITEMS = (
    ("registered", "来访必录", "接待过的来访都已登记,登记要素齐全"),
    ("on_time", "受理/办理按期", "受理告知在15日内、办理在60日内(含批准的延期)"),
    ("delivery", "答复送达规范", "处理意见书有文号,送达方式合法,送达回证或回执齐全"),
    ("verified", "调查核实", "诉求经调查核实,处理意见有事实依据,不是照抄诉求"),
    ("archive", "档案齐全", "登记表、受理告知书、处理意见书、送达回证等材料已归档"),
)


def upgrade() -> None:
    op.create_table(
        "check_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("hint", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_item")),
        sa.UniqueConstraint("code", name=op.f("uq_check_item_code")),
    )
    # The office's first checklist (the seed's "应登不登、超期受理办理、答复送达不规范" and "案件办理
    # 核查不实,档案资料不全"): the admin edits it afterwards.
    now = datetime.now(UTC)
    op.bulk_insert(
        sa.table(
            "check_item",
            sa.column("code", sa.String), sa.column("label", sa.String),
            sa.column("hint", sa.String), sa.column("position", sa.Integer),
            sa.column("active", sa.Boolean), sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        ),
        [
            {"code": code, "label": label, "hint": hint, "position": i, "active": True,
             "created_at": now, "updated_at": now}
            for i, (code, label, hint) in enumerate(DEFAULT_ITEMS, start=1)
        ],
    )  # fmt: skip
    op.create_table(
        "spot_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("drawn_on", sa.Date(), nullable=False),
        sa.Column("drawn_by_user_id", sa.Integer(), nullable=True),
        sa.Column("drawn_by_name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size >= 1", name=op.f("ck_spot_check_size_positive")),
        sa.ForeignKeyConstraint(
            ["drawn_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_spot_check_drawn_by_user_id_app_user"),
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_spot_check_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check")),
        sa.UniqueConstraint("month", "unit_id", name=op.f("uq_spot_check_month_unit_id")),
    )
    op.create_index(op.f("ix_spot_check_month"), "spot_check", ["month"], unique=False)
    op.create_index(op.f("ix_spot_check_unit_id"), "spot_check", ["unit_id"], unique=False)
    op.create_table(
        "cause_inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_by_user_id", sa.Integer(), nullable=True),
        sa.Column("opened_by_name", sa.String(length=50), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("causes", sa.JSON(), nullable=False),
        sa.Column("cause_note", sa.String(length=2000), nullable=False),
        sa.Column("responsibilities", sa.JSON(), nullable=False),
        sa.Column("conclusion", sa.String(length=4000), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_name", sa.String(length=50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'signed')", name=op.f("ck_cause_inquiry_status")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["petition_case.id"], name=op.f("fk_cause_inquiry_case_id_petition_case")
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["leader.id"], name=op.f("fk_cause_inquiry_leader_id_leader")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_cause_inquiry_opened_by_user_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cause_inquiry")),
        sa.UniqueConstraint("case_id", name=op.f("uq_cause_inquiry_case_id")),
    )
    op.create_index(
        op.f("ix_cause_inquiry_leader_id"), "cause_inquiry", ["leader_id"], unique=False
    )
    op.create_index(
        "ix_cause_inquiry_status_case", "cause_inquiry", ["status", "case_id"], unique=False
    )
    op.create_table(
        "spot_check_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spot_check_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("checker_user_id", sa.Integer(), nullable=True),
        sa.Column("checker_name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["petition_case.id"], name=op.f("fk_spot_check_case_case_id_petition_case")
        ),
        sa.ForeignKeyConstraint(
            ["checker_user_id"],
            ["app_user.id"],
            name=op.f("fk_spot_check_case_checker_user_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["spot_check_id"],
            ["spot_check.id"],
            name=op.f("fk_spot_check_case_spot_check_id_spot_check"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check_case")),
        sa.UniqueConstraint(
            "spot_check_id", "case_id", name=op.f("uq_spot_check_case_spot_check_id_case_id")
        ),
    )
    op.create_index(
        op.f("ix_spot_check_case_case_id"), "spot_check_case", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_spot_check_case_spot_check_id"), "spot_check_case", ["spot_check_id"], unique=False
    )
    op.create_table(
        "spot_check_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spot_check_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=500), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer", sa.String(length=2000), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_by_name", sa.String(length=50), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("return_note", sa.String(length=500), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'answered', 'closed')", name=op.f("ck_spot_check_finding_status")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["petition_case.id"],
            name=op.f("fk_spot_check_finding_case_id_petition_case"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["check_item.id"], name=op.f("fk_spot_check_finding_item_id_check_item")
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["spot_check_case.id"],
            name=op.f("fk_spot_check_finding_sample_id_spot_check_case"),
        ),
        sa.ForeignKeyConstraint(
            ["spot_check_id"],
            ["spot_check.id"],
            name=op.f("fk_spot_check_finding_spot_check_id_spot_check"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_spot_check_finding_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check_finding")),
        sa.UniqueConstraint(
            "sample_id", "item_id", name=op.f("uq_spot_check_finding_sample_id_item_id")
        ),
    )
    op.create_index(
        op.f("ix_spot_check_finding_case_id"), "spot_check_finding", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_spot_check_finding_spot_check_id"),
        "spot_check_finding",
        ["spot_check_id"],
        unique=False,
    )
    op.create_index(
        "ix_spot_check_finding_unit_status_deadline",
        "spot_check_finding",
        ["unit_id", "status", "deadline"],
        unique=False,
    )
    op.create_table(
        "spot_check_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["check_item.id"], name=op.f("fk_spot_check_mark_item_id_check_item")
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["spot_check_case.id"],
            name=op.f("fk_spot_check_mark_sample_id_spot_check_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_check_mark")),
        sa.UniqueConstraint(
            "sample_id", "item_id", name=op.f("uq_spot_check_mark_sample_id_item_id")
        ),
    )
    op.create_index(
        op.f("ix_spot_check_mark_sample_id"), "spot_check_mark", ["sample_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_spot_check_mark_sample_id"), table_name="spot_check_mark")
    op.drop_table("spot_check_mark")
    op.drop_index("ix_spot_check_finding_unit_status_deadline", table_name="spot_check_finding")
    op.drop_index(op.f("ix_spot_check_finding_spot_check_id"), table_name="spot_check_finding")
    op.drop_index(op.f("ix_spot_check_finding_case_id"), table_name="spot_check_finding")
    op.drop_table("spot_check_finding")
    op.drop_index(op.f("ix_spot_check_case_spot_check_id"), table_name="spot_check_case")
    op.drop_index(op.f("ix_spot_check_case_case_id"), table_name="spot_check_case")
    op.drop_table("spot_check_case")
    op.drop_index("ix_cause_inquiry_status_case", table_name="cause_inquiry")
    op.drop_index(op.f("ix_cause_inquiry_leader_id"), table_name="cause_inquiry")
    op.drop_table("cause_inquiry")
    op.drop_index(op.f("ix_spot_check_unit_id"), table_name="spot_check")
    op.drop_index(op.f("ix_spot_check_month"), table_name="spot_check")
    op.drop_table("spot_check")
    op.drop_table("check_item")
