"""checksums that name their algorithm: SM3 under the SM cipher suite, SHA-256 under AES

The notices, their PDFs, the templates and the 送达 evidence kept a SHA-256 in columns named
`sha256`. Under the SM suite (密评) a file's checksum is SM3, so the columns become `checksum`
(`template_checksum`, `evidence_checksum`) holding "<algorithm>:<hex>", and every existing value
is marked as the SHA-256 it is.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 03:40:00+00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old column, new column)
RENAMED = (
    ("document_template", "sha256", "checksum"),
    ("case_document", "sha256", "checksum"),
    ("case_document", "template_sha256", "template_checksum"),
    ("document_pdf", "sha256", "checksum"),
    ("case_delivery", "evidence_sha256", "evidence_checksum"),
)


def upgrade() -> None:
    _rename(RENAMED, widen=True)


def downgrade() -> None:
    _rename(tuple((t, new, old) for t, old, new in RENAMED), widen=False)


def _rename(renames: tuple[tuple[str, str, str], ...], *, widen: bool) -> None:
    """Rename (and widen or narrow) the columns, and mark or unmark the values — past the
    append-only triggers of the notices and the deliveries, which are kept as they were
    (their column lists follow the new names)."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table in dict.fromkeys(t for t, _, _ in renames):
        columns = [(old, new) for t, old, new in renames if t == table]
        triggers: list[tuple[str, str]] = []
        if sqlite:
            # Rebuilding the table drops its triggers: keep them, with the new names.
            triggers = [
                (name, sql)
                for name, sql in bind.execute(
                    sa.text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                        " AND tbl_name = :t"
                    ),
                    {"t": table},
                )
            ]
            for name, _ in triggers:
                op.execute(f"DROP TRIGGER {name}")
        else:
            op.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        if not widen:
            for old, _ in columns:
                sm3 = bind.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {old} LIKE 'sm3:%'"))
                if sm3:
                    raise RuntimeError(
                        f"{table}.{old}: {sm3} 个 SM3 校验值无法降级到只认 SHA-256 的版本;"
                        "请先回到 aes 套件 / SM3 checksums cannot go below 0019"
                    )
                op.execute(
                    f"UPDATE {table} SET {old} = substr({old}, 8) WHERE {old} LIKE 'sha256:%'"
                )
        with op.batch_alter_table(table) as batch:
            for old, new in columns:
                batch.alter_column(
                    old,
                    new_column_name=new,
                    type_=sa.String(length=80 if widen else 64),
                    existing_type=sa.String(length=64 if widen else 80),
                    existing_nullable=False,
                )
        for _, new in columns if widen else ():
            op.execute(f"UPDATE {table} SET {new} = 'sha256:' || {new} WHERE {new} <> ''")
        for _name, sql in triggers:
            for old, new in columns:
                sql = re.sub(rf"\b{old}\b", new, sql)
            op.execute(sql)
        if not sqlite:
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    if not sqlite:
        # case_delivery's trigger lets its evidence columns change: name them anew.
        source = bind.scalar(
            sa.text("SELECT pg_get_functiondef('case_delivery_append_only'::regproc)")
        )
        for table, old, new in renames:
            if table == "case_delivery":
                source = source.replace(f"'{old}'", f"'{new}'")
        op.execute(sa.text(source))
