"""A per-leader feed version kept by the database (#26 item 4): triggers on reception_session
and appointment bump the leader's row (version + 1, latest updated_at) on every write, so a
calendar feed's poll reads its leaders' versions instead of aggregating their sessions and
appointments. Filled in here from what is there.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 20:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTIONS = """
CREATE FUNCTION feed_bump(leader integer, changed timestamptz) RETURNS void AS $$
BEGIN
    IF leader IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO feed_leader_version (leader_id, version, changed_at)
    VALUES (leader, 1, changed)
    ON CONFLICT (leader_id) DO UPDATE
    SET version = feed_leader_version.version + 1,
        changed_at = GREATEST(feed_leader_version.changed_at, EXCLUDED.changed_at);
END
$$ LANGUAGE plpgsql;
---
CREATE FUNCTION feed_session_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.leader_id IS DISTINCT FROM NEW.leader_id)
    THEN
        PERFORM feed_bump(OLD.leader_id, OLD.updated_at);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM feed_bump(NEW.leader_id, NEW.updated_at);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
---
CREATE FUNCTION feed_appointment_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.session_id <> NEW.session_id) THEN
        PERFORM feed_bump(
            (SELECT leader_id FROM reception_session WHERE id = OLD.session_id), OLD.updated_at
        );
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM feed_bump(
            (SELECT leader_id FROM reception_session WHERE id = NEW.session_id), NEW.updated_at
        );
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
---
CREATE TRIGGER feed_session_changed AFTER INSERT OR UPDATE OR DELETE ON reception_session
FOR EACH ROW EXECUTE FUNCTION feed_session_changed();
---
CREATE TRIGGER feed_appointment_changed AFTER INSERT OR UPDATE OR DELETE ON appointment
FOR EACH ROW EXECUTE FUNCTION feed_appointment_changed();
"""


def _sqlite_bump(leader: str, changed: str) -> str:
    """SQLite's trigger body for one bump (no functions there): the row made if missing,
    then counted up."""
    return (
        "INSERT OR IGNORE INTO feed_leader_version (leader_id, version, changed_at) "
        f"SELECT leader_id, 0, NULL FROM ({leader}) WHERE leader_id IS NOT NULL; "
        "UPDATE feed_leader_version SET version = version + 1, "
        f"changed_at = max(coalesce(changed_at, {changed}), {changed}) "
        f"WHERE leader_id = (SELECT leader_id FROM ({leader})); "
    )


def _sqlite_triggers() -> list[str]:
    session = "SELECT {row}.leader_id AS leader_id"
    appointment = "SELECT leader_id FROM reception_session WHERE id = {row}.session_id"
    out = []
    for table, leader, moved in (
        ("reception_session", session, "OLD.leader_id IS NOT NEW.leader_id"),
        ("appointment", appointment, "OLD.session_id IS NOT NEW.session_id"),
    ):
        new = _sqlite_bump(leader.format(row="NEW"), "NEW.updated_at")
        old = _sqlite_bump(leader.format(row="OLD"), "OLD.updated_at")
        out += [
            f"CREATE TRIGGER feed_{table}_insert AFTER INSERT ON {table} BEGIN {new}END",
            f"CREATE TRIGGER feed_{table}_update AFTER UPDATE ON {table} BEGIN {new}END",
            f"CREATE TRIGGER feed_{table}_moved AFTER UPDATE ON {table} WHEN {moved} "
            f"BEGIN {old}END",
            f"CREATE TRIGGER feed_{table}_delete AFTER DELETE ON {table} BEGIN {old}END",
        ]
    return out


def upgrade() -> None:
    op.create_table(
        "feed_leader_version",
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("leader_id", name=op.f("pk_feed_leader_version")),
    )
    # What is there already: one row per leader with sessions, its latest change.
    op.execute(
        "INSERT INTO feed_leader_version (leader_id, version, changed_at) "
        "SELECT leader_id, 1, max(updated_at) FROM ("
        "  SELECT leader_id, updated_at FROM reception_session"
        "  UNION ALL SELECT s.leader_id, a.updated_at FROM appointment a"
        "  JOIN reception_session s ON s.id = a.session_id"
        ") changes GROUP BY leader_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_FUNCTIONS.split("---"):  # asyncpg: one command per statement
            op.execute(statement)
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS feed_appointment_changed ON appointment")
        op.execute("DROP TRIGGER IF EXISTS feed_session_changed ON reception_session")
        op.execute("DROP FUNCTION IF EXISTS feed_appointment_changed()")
        op.execute("DROP FUNCTION IF EXISTS feed_session_changed()")
        op.execute("DROP FUNCTION IF EXISTS feed_bump(integer, timestamptz)")
    else:
        for table in ("reception_session", "appointment"):
            for event in ("insert", "update", "moved", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS feed_{table}_{event}")
    op.drop_table("feed_leader_version")
