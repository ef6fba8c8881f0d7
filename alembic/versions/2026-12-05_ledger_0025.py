"""the dispute screening ledger (矛盾纠纷排查化解台账): entries, their sealed parties, their
moves as history rows, sensitive periods and the daily 稳控 check-ins

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 09:43:36.434811+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_counter",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_ledger_counter")),
    )
    op.create_table(
        "sensitive_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by_name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_sensitive_period_ends_after_starts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensitive_period")),
    )
    with op.batch_alter_table("sensitive_period", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sensitive_period_ends_on"), ["ends_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sensitive_period_starts_on"), ["starts_on"], unique=False
        )

    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("ref_year", sa.Integer(), nullable=False),
        sa.Column("ref_seq", sa.Integer(), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("found_by_unit_id", sa.Integer(), nullable=False),
        sa.Column("how_found", sa.String(length=20), nullable=False),
        sa.Column("domain_code", sa.String(length=30), nullable=False),
        sa.Column("summary", sa.String(length=4000), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=False),
        sa.Column("amount_disputed", sa.BigInteger(), nullable=False),
        sa.Column("amount_recovered", sa.BigInteger(), nullable=False),
        sa.Column("risk", sa.String(length=20), nullable=False),
        sa.Column("opened_risk", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("stability_leader_id", sa.Integer(), nullable=False),
        sa.Column("resolution_leader_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=4000), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("resolve_method", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "how_found IN ('screening', 'grid', 'visit', 'online')",
            name=op.f("ck_ledger_entry_how_found"),
        ),
        sa.CheckConstraint(
            "resolve_method = '' OR resolve_method IN ('agreement', 'judicial', 'administrative', 'litigation', 'other')",
            name=op.f("ck_ledger_entry_resolve_method"),
        ),
        sa.CheckConstraint(
            "risk IN ('general', 'serious', 'major')", name=op.f("ck_ledger_entry_risk")
        ),
        sa.CheckConstraint(
            "opened_risk IN ('general', 'serious', 'major')",
            name=op.f("ck_ledger_entry_opened_risk"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'converted')", name=op.f("ck_ledger_entry_status")
        ),
        sa.CheckConstraint(
            "amount_disputed >= 0", name=op.f("ck_ledger_entry_amount_disputed_non_negative")
        ),
        sa.CheckConstraint(
            "amount_recovered >= 0", name=op.f("ck_ledger_entry_amount_recovered_non_negative")
        ),
        sa.CheckConstraint("people_count >= 1", name=op.f("ck_ledger_entry_people_count_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["petition_case.id"], name=op.f("fk_ledger_entry_case_id_petition_case")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_ledger_entry_created_by_user_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["domain_code"],
            ["case_category.code"],
            name=op.f("fk_ledger_entry_domain_code_case_category"),
        ),
        sa.ForeignKeyConstraint(
            ["found_by_unit_id"], ["unit.id"], name=op.f("fk_ledger_entry_found_by_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["resolution_leader_id"],
            ["leader.id"],
            name=op.f("fk_ledger_entry_resolution_leader_id_leader"),
        ),
        sa.ForeignKeyConstraint(
            ["stability_leader_id"],
            ["leader.id"],
            name=op.f("fk_ledger_entry_stability_leader_id_leader"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_ledger_entry_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint("case_id", name=op.f("uq_ledger_entry_case_id")),
        sa.UniqueConstraint("ref_year", "ref_seq", name=op.f("uq_ledger_entry_ref_year_ref_seq")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_entry_reference")),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entry_closed_on"), ["closed_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_domain_code"), ["domain_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_found_by_unit_id"), ["found_by_unit_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ledger_entry_found_on"), ["found_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_resolution_leader_id"),
            ["resolution_leader_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_stability_leader_id"), ["stability_leader_id"], unique=False
        )
        batch_op.create_index("ix_ledger_entry_status_risk", ["status", "risk"], unique=False)
        batch_op.create_index(
            "ix_ledger_entry_unit_status_review", ["unit_id", "status", "review_on"], unique=False
        )

    op.create_table(
        "ledger_check_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("by_name", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('in_control', 'unrest')", name=op.f("ck_ledger_check_in_state")
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["app_user.id"], name=op.f("fk_ledger_check_in_by_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entry.id"], name=op.f("fk_ledger_check_in_entry_id_ledger_entry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_check_in")),
    )
    with op.batch_alter_table("ledger_check_in", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_check_in_entry_day", ["entry_id", "day"], unique=False)

    op.create_table(
        "ledger_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_unit_id", sa.Integer(), nullable=True),
        sa.Column("to_unit_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=50), nullable=False),
        sa.CheckConstraint(
            "kind IN ('opened', 'follow_up', 'correct', 'reassign', 'escalate', 'resolve', 'convert')",
            name=op.f("ck_ledger_move_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["app_user.id"], name=op.f("fk_ledger_move_actor_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entry.id"], name=op.f("fk_ledger_move_entry_id_ledger_entry")
        ),
        sa.ForeignKeyConstraint(
            ["from_unit_id"], ["unit.id"], name=op.f("fk_ledger_move_from_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["to_unit_id"], ["unit.id"], name=op.f("fk_ledger_move_to_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_move")),
    )
    with op.batch_alter_table("ledger_move", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_move_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "ledger_party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number_sealed", sa.String(length=120), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("phone_sealed", sa.String(length=120), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entry.id"], name=op.f("fk_ledger_party_entry_id_ledger_entry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_party")),
    )
    with op.batch_alter_table("ledger_party", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_party_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_party_id_number_index"), ["id_number_index"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_party_phone_index"), ["phone_index"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_party_phone_index"))
        batch_op.drop_index(batch_op.f("ix_ledger_party_id_number_index"))
        batch_op.drop_index(batch_op.f("ix_ledger_party_entry_id"))

    op.drop_table("ledger_party")
    with op.batch_alter_table("ledger_move", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_move_entry_id"))

    op.drop_table("ledger_move")
    with op.batch_alter_table("ledger_check_in", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_check_in_entry_day")

    op.drop_table("ledger_check_in")
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_unit_status_review")
        batch_op.drop_index("ix_ledger_entry_status_risk")
        batch_op.drop_index(batch_op.f("ix_ledger_entry_stability_leader_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_resolution_leader_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_found_on"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_found_by_unit_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_domain_code"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_closed_on"))

    op.drop_table("ledger_entry")
    with op.batch_alter_table("sensitive_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sensitive_period_starts_on"))
        batch_op.drop_index(batch_op.f("ix_sensitive_period_ends_on"))

    op.drop_table("sensitive_period")
    op.drop_table("ledger_counter")
