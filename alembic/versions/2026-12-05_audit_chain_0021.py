"""an audit trail that shows tampering: a hash chain, daily signed checkpoints, retention

Each audit row now carries `chain` = H(previous chain ‖ its content) (SM3 or SHA-256 per the
cipher suite), written at commit under the one chain head (`audit_head`, row 1); a day is
closed by a checkpoint HMAC'd under the audit key (`audit_checkpoint`). The database refuses
to change an audit row, or to delete one younger than 180 days (网络安全法 art. 21), and never
changes or deletes a checkpoint. Rows written before this upgrade stay unchained (empty
`chain`); `reception audit verify` counts them apart.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 04:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
KEPT = "audit_event rows are kept: never changed, deleted only after 180 days (archive)"
FIXED = "audit_checkpoint is append-only"


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(
            sa.Column("chain", sa.String(length=80), nullable=False, server_default="")
        )
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("chain", server_default=None, existing_type=sa.String(length=80))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=80), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("archived_chain", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute("INSERT INTO audit_head (id, chain, last_id, archived_chain) VALUES (1, '', 0, '')")
    op.create_table(
        "audit_checkpoint",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=80), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_audit_checkpoint")),
    )
    _triggers("create")


def downgrade() -> None:
    _triggers("drop")
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("chain")


def _triggers(action: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        if action == "drop":
            op.execute("DROP TRIGGER IF EXISTS audit_event_kept ON audit_event")
            op.execute("DROP FUNCTION IF EXISTS audit_event_kept()")
            op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_fixed ON audit_checkpoint")
            op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_fixed()")
            return
        op.execute(
            f"""
            CREATE FUNCTION audit_event_kept() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' OR OLD.at > now() - interval '180 days' THEN
                    RAISE EXCEPTION '{KEPT}';
                END IF;
                RETURN OLD;
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_kept BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_kept()"
        )
        op.execute(
            f"""
            CREATE FUNCTION audit_checkpoint_fixed() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{FIXED}';
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoint_fixed BEFORE UPDATE OR DELETE ON audit_checkpoint "
            "FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_fixed()"
        )
        return
    names = (
        "audit_event_no_update",
        "audit_event_kept",
        "audit_checkpoint_no_update",
        "audit_checkpoint_no_delete",
    )
    if action == "drop":
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute(
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        f"BEGIN SELECT RAISE(ABORT, '{KEPT}'); END"
    )
    # SQLite keeps the instant as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: compared as text.
    op.execute(
        "CREATE TRIGGER audit_event_kept BEFORE DELETE ON audit_event "
        "WHEN OLD.at > datetime('now', '-180 days') "
        f"BEGIN SELECT RAISE(ABORT, '{KEPT}'); END"
    )
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_checkpoint_no_{event.lower()} BEFORE {event} ON "
            f"audit_checkpoint BEGIN SELECT RAISE(ABORT, '{FIXED}'); END"
        )
