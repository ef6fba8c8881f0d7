"""ledgers brought in from spreadsheets: uploads, imported rows' fingerprints, saved mappings

An office's years of 信访台账 in Excel come in through a dry run and an import that can be
rolled back: `import_batch` keeps the file (sealed: it holds ID numbers and phones), its
mapping and the counts per verdict; `import_record` one keyed fingerprint per row imported,
UNIQUE, so the same row twice creates nothing; `import_mapping` the office's last mapping.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 07:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("default_unit_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("file_checksum", sa.String(length=80), nullable=False),
        sa.Column("file_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("sheet", sa.String(length=100), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dry_counts", sa.JSON(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=50), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("imported_at", UTC_DATETIME, nullable=True),
        sa.Column("rolled_back_at", UTC_DATETIME, nullable=True),
        sa.Column("rolled_back_by_name", sa.String(length=50), nullable=False),
        sa.CheckConstraint("kind IN ('cases', 'sessions')", name=op.f("ck_import_batch_kind")),
        sa.CheckConstraint(
            "status IN ('draft', 'imported', 'rolled_back')", name=op.f("ck_import_batch_status")
        ),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["default_unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_import_batch_unit_id"), "import_batch", ["unit_id"])
    op.create_table(
        "import_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["petition_case.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["reception_session.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    op.create_index(op.f("ix_import_record_batch_id"), "import_record", ["batch_id"])
    op.create_index(op.f("ix_import_record_case_id"), "import_record", ["case_id"])
    op.create_index(op.f("ix_import_record_session_id"), "import_record", ["session_id"])
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("updated_by_name", sa.String(length=50), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("import_mapping")
    op.drop_index(op.f("ix_import_record_session_id"), table_name="import_record")
    op.drop_index(op.f("ix_import_record_case_id"), table_name="import_record")
    op.drop_index(op.f("ix_import_record_batch_id"), table_name="import_record")
    op.drop_table("import_record")
    op.drop_index(op.f("ix_import_batch_unit_id"), table_name="import_batch")
    op.drop_table("import_batch")
