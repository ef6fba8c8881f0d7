"""网格员代办: the grid worker's role (bound to a village), the filings with the petitioner's
sealed identity and consent, and their numbering

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 13:34:32.638706+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BEFORE = ("admin", "secretary", "clerk", "leader", "reviewer", "secadmin", "auditor")
AFTER = (*BEFORE, "grid")


def _roles(roles: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{r}'" for r in roles)
    with op.batch_alter_table("app_user") as batch:
        batch.drop_constraint(op.f("ck_app_user_role"), type_="check")
        batch.create_check_constraint(op.f("ck_app_user_role"), f"role IN ({listed})")


def upgrade() -> None:
    _roles(AFTER)
    op.create_table(
        "proxy_counter",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_proxy_counter")),
    )
    op.create_table(
        "proxy_filing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("ref_year", sa.Integer(), nullable=False),
        sa.Column("ref_seq", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("worker_user_id", sa.Integer(), nullable=True),
        sa.Column("worker_name", sa.String(length=50), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number_sealed", sa.String(length=120), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("phone_sealed", sa.String(length=120), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("address_sealed", sa.String(length=1000), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=30), nullable=False),
        sa.Column("summary", sa.String(length=4000), nullable=False),
        sa.Column("consent", sa.String(length=20), nullable=False),
        sa.Column("consented_on", sa.Date(), nullable=False),
        sa.Column("consent_note", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("handled_on", sa.Date(), nullable=True),
        sa.Column("handled_by_name", sa.String(length=50), nullable=False),
        sa.Column("return_reason", sa.String(length=500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "consent IN ('signed', 'fingerprint', 'recorded')", name=op.f("ck_proxy_filing_consent")
        ),
        sa.CheckConstraint(
            "status IN ('filed', 'registered', 'returned')", name=op.f("ck_proxy_filing_status")
        ),
        sa.CheckConstraint("people_count >= 1", name=op.f("ck_proxy_filing_people_count_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["petition_case.id"], name=op.f("fk_proxy_filing_case_id_petition_case")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["case_category.code"],
            name=op.f("fk_proxy_filing_category_code_case_category"),
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["unit.id"], name=op.f("fk_proxy_filing_village_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["worker_user_id"],
            ["app_user.id"],
            name=op.f("fk_proxy_filing_worker_user_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_filing")),
        sa.UniqueConstraint("case_id", name=op.f("uq_proxy_filing_case_id")),
        sa.UniqueConstraint("ref_year", "ref_seq", name=op.f("uq_proxy_filing_ref_year_ref_seq")),
        sa.UniqueConstraint("reference", name=op.f("uq_proxy_filing_reference")),
    )
    op.create_index(
        op.f("ix_proxy_filing_id_number_index"), "proxy_filing", ["id_number_index"], unique=False
    )
    op.create_index(
        "ix_proxy_filing_village_status", "proxy_filing", ["village_id", "status"], unique=False
    )
    op.create_index(
        "ix_proxy_filing_worker", "proxy_filing", ["worker_user_id", "received_on"], unique=False
    )


def downgrade() -> None:
    # A grid worker has no role to go back to (made a clerk, he would reach his village's
    # cases if reactivated): the office deletes or re-roles them first.
    grid = op.get_bind().scalar(sa.text("SELECT count(*) FROM app_user WHERE role = 'grid'"))
    if grid:
        raise RuntimeError(
            f"有 {grid} 个网格员账号:请先删除或改为其他角色后再降级 / "
            "remove or re-role the grid workers before downgrading"
        )
    _roles(BEFORE)
    op.drop_index("ix_proxy_filing_worker", table_name="proxy_filing")
    op.drop_index("ix_proxy_filing_village_status", table_name="proxy_filing")
    op.drop_index(op.f("ix_proxy_filing_id_number_index"), table_name="proxy_filing")
    op.drop_table("proxy_filing")
    op.drop_table("proxy_counter")
