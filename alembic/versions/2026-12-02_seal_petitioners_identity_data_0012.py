"""seal petitioners' identity data (ID numbers, phones, addresses, issued notices)

A copy of the database file or a dump handed over petitioners' ID numbers, phones and
addresses in plain text (PIPL art. 51). From here they are stored sealed with the data keys
(AES-256-GCM, table/column/row id as associated data) beside keyed-hash blind indexes for the
exact lookups (search, repeat check, once-per-session rule), and issued notices — which print
the name and address — are sealed whole. Existing rows are converted in batches of 1,000;
`downgrade` decrypts them back. The keys come from RECEPTION_DATA_KEYS or the data
directory's keys.json (created for the embedded default), and are only needed when there are
rows to convert.

The blind-index kinds and associated-data names are written out here (not imported) so this
revision keeps converting the same way whatever the code does later.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
LIVE = "status IN ('booked', 'checked_in') AND NOT duplicate_allowed"

# table → [(plain column, its length, sealed column, blind index column or None, blind kind)]
FIELDS: dict[str, list[tuple[str, int, str, str | None, str]]] = {
    "case_petitioner": [
        ("id_number", 18, "id_number_sealed", "id_number_index", "id_number"),
        ("phone", 20, "phone_sealed", "phone_index", "phone"),
        ("address", 200, "address_sealed", None, ""),
    ],
    "appointment": [
        (
            "petitioner_id_number",
            18,
            "petitioner_id_number_sealed",
            "petitioner_id_number_index",
            "id_number",
        ),
        ("petitioner_phone", 20, "petitioner_phone_sealed", "petitioner_phone_index", "phone"),
    ],
}
SEALED_LENGTH = {"address_sealed": 1000}


def _keys() -> Any:
    from reception.config import get_settings
    from reception.context import keyring_for

    return keyring_for(get_settings())


def _has_rows(bind: sa.Connection, table: str) -> bool:
    return bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None


def _batches(bind: sa.Connection, table: sa.TableClause, *columns: str) -> Any:
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, *(table.c[c] for c in columns))
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _convert(bind: sa.Connection, table_name: str, *, seal: bool) -> None:
    if not _has_rows(bind, table_name):
        return
    keys = _keys()
    fields = FIELDS[table_name]
    plain = [f[0] for f in fields]
    sealed_and_indexes = [f[2] for f in fields] + [f[3] for f in fields if f[3]]
    source, targets = (plain, sealed_and_indexes) if seal else ([f[2] for f in fields], plain)
    table = sa.table(table_name, sa.column("id"), *(sa.column(c) for c in {*source, *targets}))
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values({c: sa.bindparam(f"b_{c}") for c in targets})
    )
    for rows in _batches(bind, table, *source):
        params = []
        for row in rows:
            values: dict[str, Any] = {"b_id": row.id}
            for column, _, sealed, index, kind in fields:
                if seal:
                    value = row._mapping[column] or ""
                    values[f"b_{sealed}"] = keys.seal(
                        value, table=table_name, column=sealed, row_id=row.id
                    )
                    if index:
                        values[f"b_{index}"] = keys.blind(kind, value)
                else:
                    values[f"b_{column}"] = keys.open(
                        row._mapping[sealed] or "", table=table_name, column=sealed, row_id=row.id
                    )
            params.append(values)
        bind.execute(statement, params)


def _convert_documents(bind: sa.Connection, *, seal: bool) -> None:
    if not _has_rows(bind, "case_document"):
        return
    keys = _keys()
    table = sa.table("case_document", sa.column("id"), sa.column("content", sa.LargeBinary))
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values(content=sa.bindparam("b_content"))
    )
    for rows in _batches(bind, table, "content"):
        where = {"table": "case_document", "column": "content"}
        params = [
            {
                "b_id": r.id,
                "b_content": keys.seal_bytes(bytes(r.content), **where, row_id=r.id)
                if seal
                else keys.open_bytes(bytes(r.content), **where, row_id=r.id),
            }
            for r in rows
        ]
        bind.execute(statement, params)


# case_document stays append-only, but its sealed content may be written once after the
# INSERT (the row id is in the associated data) and re-sealed by key rotation: an UPDATE that
# changes nothing but `content` passes. Its `sha256` (of the plain file) cannot change, and
# reading checks the opened file against it.
DOCUMENT_COLUMNS = (
    "id, case_id, kind, year, seq, number, title, issued_on, template_version, "
    "template_sha256, sha256, fields, supersedes_id, for_document_id, issued_by_user_id, "
    "issued_by_name, created_at"
)
REFUSED = "case_document is append-only: issue a correction instead"


def _document_trigger(*, content_may_change: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        allow = (
            "IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'content') = (to_jsonb(OLD) - 'content') "
            "THEN RETURN NEW; END IF;"
            if content_may_change
            else ""
        )
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION case_document_append_only() RETURNS trigger AS $$
            BEGIN
                {allow}
                RAISE EXCEPTION '{REFUSED}';
            END $$ LANGUAGE plpgsql
            """
        )
        return
    op.execute("DROP TRIGGER IF EXISTS case_document_no_update")
    of = f"OF {DOCUMENT_COLUMNS} " if content_may_change else ""
    op.execute(
        f"CREATE TRIGGER case_document_no_update BEFORE UPDATE {of}ON case_document "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    )


def _drop_indexes(names: dict[str, list[str]]) -> None:
    for table, indexes in names.items():
        for name in indexes:
            op.drop_index(name, table_name=table)


def _create_indexes(*, suffix: str) -> None:
    """The lookup indexes over the ID number and phone columns: the blind indexes
    (`suffix="_index"`) or, downgraded, the plain columns (`suffix=""`). The ID number's own
    index was named after its column before, and is now."""
    id_number, phone = f"petitioner_id_number{suffix}", f"petitioner_phone{suffix}"
    for name, columns, column in (
        ("uq_appointment_live_id_number", ["session_id", id_number], id_number),
        ("uq_appointment_live_name_phone", ["session_id", "petitioner_name", phone], phone),
    ):
        where = sa.text(f"{LIVE} AND {column} <> ''")
        op.create_index(
            name, "appointment", columns, unique=True, postgresql_where=where, sqlite_where=where
        )
    op.create_index(
        f"ix_case_petitioner_id_number{suffix}", "case_petitioner", [f"id_number{suffix}"]
    )
    op.create_index("ix_case_petitioner_name_phone", "case_petitioner", ["name", f"phone{suffix}"])
    op.create_index("ix_case_petitioner_phone", "case_petitioner", [f"phone{suffix}"])


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # The plain values must not stay behind in the file's free pages.
        op.execute("PRAGMA secure_delete=ON")
    _drop_indexes(
        {
            "appointment": ["uq_appointment_live_id_number", "uq_appointment_live_name_phone"],
            "case_petitioner": [
                "ix_case_petitioner_id_number",
                "ix_case_petitioner_name_phone",
                "ix_case_petitioner_phone",
            ],
        }
    )
    for table, fields in FIELDS.items():
        with op.batch_alter_table(table) as batch:
            for _, _, sealed, index, _ in fields:
                batch.add_column(
                    sa.Column(
                        sealed,
                        sa.String(length=SEALED_LENGTH.get(sealed, 120)),
                        nullable=False,
                        server_default="",
                    )
                )
                if index:
                    batch.add_column(
                        sa.Column(index, sa.String(length=64), nullable=False, server_default="")
                    )
        _convert(bind, table, seal=True)
        with op.batch_alter_table(table) as batch:
            for plain, _, sealed, index, _ in fields:
                batch.drop_column(plain)
                batch.alter_column(sealed, server_default=None)
                if index:
                    batch.alter_column(index, server_default=None)
    _document_trigger(content_may_change=True)
    _convert_documents(bind, seal=True)
    _create_indexes(suffix="_index")


def downgrade() -> None:
    bind = op.get_bind()
    _drop_indexes(
        {
            "appointment": ["uq_appointment_live_id_number", "uq_appointment_live_name_phone"],
            "case_petitioner": [
                "ix_case_petitioner_id_number_index",
                "ix_case_petitioner_name_phone",
                "ix_case_petitioner_phone",
            ],
        }
    )
    _convert_documents(bind, seal=False)
    _document_trigger(content_may_change=False)
    for table, fields in FIELDS.items():
        with op.batch_alter_table(table) as batch:
            for plain, length, _, _, _ in fields:
                batch.add_column(
                    sa.Column(plain, sa.String(length=length), nullable=False, server_default="")
                )
        _convert(bind, table, seal=False)
        with op.batch_alter_table(table) as batch:
            for plain, _, sealed, index, _ in fields:
                batch.alter_column(plain, server_default=None)
                batch.drop_column(sealed)
                if index:
                    batch.drop_column(index)
    _create_indexes(suffix="")
