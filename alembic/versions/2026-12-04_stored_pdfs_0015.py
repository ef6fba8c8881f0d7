"""a notice's PDF made once and kept (document_pdf)

A notice's PDF was made by LibreOffice at every download (3–6 s). From here it is made once —
when the notice is issued, or at its first download — and kept with the document: sealed with
the data keys like the DOCX, with the plain file's checksum, one per document. Like the
documents, the rows are never changed but for re-sealing the bytes (key rotation), never
deleted. Existing documents get theirs at their next download.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 23:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = "document_pdf is append-only"


def _append_only(action: str) -> None:
    """Refuse UPDATE (but of `content`: sealing, rotation) and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        if action == "drop":
            op.execute("DROP TRIGGER IF EXISTS document_pdf_append_only ON document_pdf")
            op.execute("DROP FUNCTION IF EXISTS document_pdf_append_only()")
            return
        op.execute(
            f"""
            CREATE FUNCTION document_pdf_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'content') = (to_jsonb(OLD) - 'content')
                THEN RETURN NEW; END IF;
                RAISE EXCEPTION '{REFUSED}';
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER document_pdf_append_only BEFORE UPDATE OR DELETE ON document_pdf "
            "FOR EACH ROW EXECUTE FUNCTION document_pdf_append_only()"
        )
        return
    if action == "drop":
        op.execute("DROP TRIGGER IF EXISTS document_pdf_no_update")
        op.execute("DROP TRIGGER IF EXISTS document_pdf_no_delete")
        return
    op.execute(
        "CREATE TRIGGER document_pdf_no_update BEFORE UPDATE OF id, document_id, sha256, "
        f"created_at ON document_pdf BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    )
    op.execute(
        "CREATE TRIGGER document_pdf_no_delete BEFORE DELETE ON document_pdf "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    )


def upgrade() -> None:
    op.create_table(
        "document_pdf",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["case_document.id"],
            name=op.f("fk_document_pdf_document_id_case_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_pdf")),
        sa.UniqueConstraint("document_id", name=op.f("uq_document_pdf_document_id")),
    )
    _append_only("create")


def downgrade() -> None:
    _append_only("drop")
    op.drop_table("document_pdf")
