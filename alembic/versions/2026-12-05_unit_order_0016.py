"""units in the order people expect (unit.sort_order, unit.sort_key)

责任单位 listed 46 units in the order they were created (区住建委 between 渔阳镇 and 洇溜镇). A
unit now carries the office's own place among those of its kind (sort_order, empty: none) and
its name as pinyin (sort_key), so every list orders district, offices, townships, villages,
each by the office's order, then by pinyin — the same on SQLite and PostgreSQL. Existing units
get their pinyin here.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 00:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pypinyin import Style, lazy_pinyin

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unit") as batch:
        batch.add_column(sa.Column("sort_order", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("sort_key", sa.String(length=400), nullable=False, server_default="")
        )
    unit = sa.table("unit", sa.column("id", sa.Integer), sa.column("name", sa.String),
                    sa.column("sort_key", sa.String))  # fmt: skip
    bind = op.get_bind()
    for ident, name in bind.execute(sa.select(unit.c.id, unit.c.name)).all():
        key = " ".join(lazy_pinyin(name, style=Style.NORMAL))[:400]
        bind.execute(unit.update().where(unit.c.id == ident).values(sort_key=key))


def downgrade() -> None:
    with op.batch_alter_table("unit") as batch:
        batch.drop_column("sort_key")
        batch.drop_column("sort_order")
