"""三员分立: the security administrator and the audit administrator beside the system one

等保三级 (GB/T 22239-2019 §8.1.4.2, §8.1.5) separates the system, security and audit
administrators. Today's administrators become system administrators (the `admin` role keeps
its slug, and loses the audit trail and the granting of roles); the office names a security
administrator (`secadmin`) and an audit administrator (`auditor`) next — the upgrade says so.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 04:00:00+00:00
"""

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("admin", "secretary", "clerk", "leader", "reviewer")
AFTER = (*BEFORE, "secadmin", "auditor")


def _roles(roles: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{r}'" for r in roles)
    with op.batch_alter_table("app_user") as batch:
        batch.drop_constraint(op.f("ck_app_user_role"), type_="check")
        batch.create_check_constraint(op.f("ck_app_user_role"), f"role IN ({listed})")


def upgrade() -> None:
    _roles(AFTER)
    admins = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM app_user WHERE role = 'admin' AND active")
    )
    if admins:
        print(
            f"三员分立:现有 {admins} 名管理员已转为系统管理员(不再查看审计记录、不再授予角色)。"
            "请接着指定一名安全管理员和一名审计管理员(不同的人),例如:\n"
            "  reception user add 某某 --role secadmin --username ...\n"
            "  reception user add 某某 --role auditor --username ...\n"
            "Three administrators: name a security and an audit administrator next.",
            file=sys.stderr,
        )


def downgrade() -> None:
    # Their duties go back to the one administrator.
    op.execute("UPDATE app_user SET role = 'admin' WHERE role IN ('secadmin', 'auditor')")
    _roles(BEFORE)
