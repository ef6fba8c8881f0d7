"""送达 as one record: case_delivery replaces document_delivery and the case's free text

Every way of recording 送达 (the case page, the `deliver` step, a notice's route, an import)
now writes one row of `case_delivery`: the method from the fixed list, the day, place,
signatory (or why none), what the method needs (witnesses, mail number, written consent, the
public notice's carrier and date), the staff member, failed attempts too, and a sealed scan.

Existing data is carried over:
- each `document_delivery` row becomes a delivered `case_delivery` row of its document's 文号
  (tracking_number → mail_number, recorded_by_name → staff_name; the old free-text `evidence`
  is kept in `note`);
- a case whose reply was delivered with no such row (the `deliver` step wrote only
  `petition_case.delivery_method`/`delivered_on`) gets one for its reply's 文号: the method read
  from what was written (code, label or the common aliases); what names no method the law knows
  is kept as `legacy_method` under `direct`, and the monthly review lists it as 送达方式不明;
- `petition_case.delivery_method` holds the method's code from here on.
Rows are append-only like the notices, except the evidence columns (a scan added later, keys
rotated). Downgrade writes the rows of documents back to `document_delivery`.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHODS = ("direct", "left", "entrusted", "mail", "electronic", "public")
# How the methods were written before this revision (a frozen copy: the app's may change).
WRITTEN = {
    "直接送达": "direct",
    "当面送达": "direct",
    "当面": "direct",
    "留置送达": "left",
    "留置": "left",
    "委托送达": "entrusted",
    "委托": "entrusted",
    "邮寄送达": "mail",
    "邮寄": "mail",
    "挂号信": "mail",
    "电子送达": "electronic",
    "网上答复": "electronic",
    "电子": "electronic",
    "公告送达": "public",
    "公告": "public",
    **{m: m for m in METHODS},
}
MIGRATED_BY = "(迁移前的记录)"
EVIDENCE = ("evidence", "evidence_type", "evidence_sha256")
COLUMNS = (
    "id, case_id, doc_number, method, outcome, delivered_on, place, recipient, "
    "no_recipient_reason, witnesses, entrusted_to, mail_number, consent, carrier, posted_on, "
    "failure_reason, note, legacy_method, staff_user_id, staff_name, created_at"
)
REFUSED = "case_delivery is append-only: record another attempt instead"


def _create_table() -> None:
    op.create_table(
        "case_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("doc_number", sa.String(length=60), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("no_recipient_reason", sa.String(length=200), nullable=False),
        sa.Column("witnesses", sa.String(length=200), nullable=False),
        sa.Column("entrusted_to", sa.String(length=200), nullable=False),
        sa.Column("mail_number", sa.String(length=60), nullable=False),
        sa.Column("consent", sa.String(length=200), nullable=False),
        sa.Column("carrier", sa.String(length=200), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("legacy_method", sa.String(length=60), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=True),
        sa.Column("staff_name", sa.String(length=50), nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.Column("evidence_type", sa.String(length=40), nullable=False),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"method IN ({', '.join(repr(m) for m in METHODS)})",
            name=op.f("ck_case_delivery_method"),
        ),
        sa.CheckConstraint(
            "outcome IN ('delivered', 'failed')", name=op.f("ck_case_delivery_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["petition_case.id"],
            name=op.f("fk_case_delivery_case_id_petition_case"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"], ["app_user.id"], name=op.f("fk_case_delivery_staff_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_delivery")),
    )
    with op.batch_alter_table("case_delivery") as batch:
        batch.create_index(batch.f("ix_case_delivery_case_id"), ["case_id"], unique=False)
        served = sa.text("outcome = 'delivered'")
        batch.create_index(
            "uq_case_delivery_number",
            ["case_id", "doc_number"],
            unique=True,
            postgresql_where=served,
            sqlite_where=served,
        )


def _append_only(action: str) -> None:
    """Refuse UPDATE (but of the evidence columns) and DELETE, as for the notices."""
    if op.get_bind().dialect.name == "postgresql":
        if action == "drop":
            op.execute("DROP TRIGGER IF EXISTS case_delivery_append_only ON case_delivery")
            op.execute("DROP FUNCTION IF EXISTS case_delivery_append_only()")
            return
        unchanged = " - ".join(["to_jsonb(NEW)", *(f"'{c}'" for c in EVIDENCE)])
        before = " - ".join(["to_jsonb(OLD)", *(f"'{c}'" for c in EVIDENCE)])
        op.execute(
            f"""
            CREATE FUNCTION case_delivery_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND ({unchanged}) = ({before}) THEN RETURN NEW; END IF;
                RAISE EXCEPTION '{REFUSED}';
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER case_delivery_append_only BEFORE UPDATE OR DELETE ON case_delivery "
            "FOR EACH ROW EXECUTE FUNCTION case_delivery_append_only()"
        )
        return
    if action == "drop":
        op.execute("DROP TRIGGER IF EXISTS case_delivery_no_update")
        op.execute("DROP TRIGGER IF EXISTS case_delivery_no_delete")
        return
    op.execute(
        f"CREATE TRIGGER case_delivery_no_update BEFORE UPDATE OF {COLUMNS} ON case_delivery "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    )
    op.execute(
        "CREATE TRIGGER case_delivery_no_delete BEFORE DELETE ON case_delivery "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
    )


def _document_delivery_triggers(action: str) -> None:
    """0007's append-only triggers of document_delivery."""
    table = "document_delivery"
    if op.get_bind().dialect.name == "postgresql":
        if action == "drop":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
            return
        op.execute(
            f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only: issue a correction instead';
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        name = f"{table}_no_{event.lower()}"
        if action == "drop":
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, '{table} is append-only: issue a correction "
                "instead'); END"
            )


def _method_of(column: str) -> str:
    """SQL: the method code of what was written in `column` (NULL: none the law knows)."""
    cases = " ".join(f"WHEN '{written}' THEN '{code}'" for written, code in WRITTEN.items())
    return f"CASE TRIM({column}) {cases} ELSE NULL END"


def _carry_over() -> None:
    target = (
        "INSERT INTO case_delivery (case_id, doc_number, method, outcome,"
        " delivered_on, place, recipient, no_recipient_reason, witnesses, entrusted_to,"
        " mail_number, consent, carrier, posted_on, failure_reason, note, legacy_method,"
        " staff_user_id, staff_name, evidence, evidence_type, evidence_sha256, created_at)"
    )
    # 0007 asked for a public notice's carrier in its free-text evidence.
    documents = (
        f"{target} SELECT c.case_id, c.number, d.method, 'delivered',"
        " d.delivered_on, '', d.recipient, '', d.witnesses, '', d.tracking_number, '',"
        " CASE WHEN d.method = 'public' THEN d.evidence ELSE '' END, NULL, '',"
        " CASE WHEN d.method <> 'public' AND d.evidence <> '' THEN '凭证:' || d.evidence"
        " ELSE '' END, '', NULL, d.recorded_by_name, :empty, '', '', d.created_at"
        " FROM document_delivery d JOIN case_document c ON c.id = d.document_id ORDER BY d.id"
    )
    # A reply delivered through the `deliver` step alone: its method as written.
    method = _method_of("p.delivery_method")
    written = "COALESCE(TRIM(p.delivery_method), '')"
    cases = (
        f"{target} SELECT p.id, p.reply_doc_number, COALESCE({method}, 'direct'),"
        " 'delivered', p.delivered_on, '', '', '', '', '', '', '', '', NULL, '', '',"
        f" CASE WHEN {method} IS NULL THEN SUBSTR(CASE WHEN {written} = '' THEN '(未写方式)'"
        f" ELSE {written} END, 1, 60) ELSE '' END,"
        f" NULL, '{MIGRATED_BY}', :empty, '', '', CURRENT_TIMESTAMP"
        " FROM petition_case p WHERE p.delivered_on IS NOT NULL AND NOT EXISTS ("
        " SELECT 1 FROM case_delivery d WHERE d.case_id = p.id"
        " AND d.doc_number = p.reply_doc_number AND d.outcome = 'delivered') ORDER BY p.id"
    )
    for statement in (documents, cases):
        op.execute(sa.text(statement).bindparams(empty=b""))
    op.execute(
        "UPDATE petition_case SET delivery_method = (SELECT d.method FROM case_delivery d"
        " WHERE d.case_id = petition_case.id AND d.doc_number = petition_case.reply_doc_number"
        " AND d.outcome = 'delivered') WHERE delivered_on IS NOT NULL"
    )


def upgrade() -> None:
    _create_table()
    _carry_over()
    _append_only("create")
    _document_delivery_triggers("drop")
    op.drop_table("document_delivery")


def downgrade() -> None:
    op.create_table(
        "document_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("tracking_number", sa.String(length=60), nullable=False),
        sa.Column("witnesses", sa.String(length=200), nullable=False),
        sa.Column("evidence", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_name", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "method IN ('direct', 'mail', 'electronic', 'left', 'public')",
            name=op.f("ck_document_delivery_method"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["case_document.id"],
            name=op.f("fk_document_delivery_document_id_case_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_delivery")),
        sa.UniqueConstraint("document_id", name=op.f("uq_document_delivery_document_id")),
    )
    # The methods 0007 knew; 委托送达 was written as 直接送达 there.
    op.execute(
        "INSERT INTO document_delivery (document_id, method, delivered_on, recipient,"
        " tracking_number, witnesses, evidence, recorded_by_name, created_at)"
        " SELECT c.id, CASE WHEN d.method = 'entrusted' THEN 'direct' ELSE d.method END,"
        " d.delivered_on, d.recipient, d.mail_number, d.witnesses,"
        " CASE WHEN d.method = 'public' THEN d.carrier ELSE '' END, d.staff_name, d.created_at"
        " FROM case_delivery d JOIN case_document c ON c.case_id = d.case_id"
        " AND c.number = d.doc_number WHERE d.outcome = 'delivered' ORDER BY d.id"
    )
    op.execute(
        "UPDATE petition_case SET delivery_method = (SELECT CASE WHEN d.legacy_method <> ''"
        " THEN d.legacy_method ELSE d.method END FROM case_delivery d"
        " WHERE d.case_id = petition_case.id AND d.doc_number = petition_case.reply_doc_number"
        " AND d.outcome = 'delivered') WHERE delivered_on IS NOT NULL"
    )
    _document_delivery_triggers("create")
    _append_only("drop")
    with op.batch_alter_table("case_delivery") as batch:
        batch.drop_index("uq_case_delivery_number")
        batch.drop_index(batch.f("ix_case_delivery_case_id"))
    op.drop_table("case_delivery")
