"""Org chart: units, leaders, venues, users and their API tokens (persistence only)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from reception.base import ROLES, UNIT_KINDS, sql_in
from reception.db import UTCDateTime, stamped


class Unit(SQLModel, table=True):
    __tablename__ = "unit"
    __table_args__ = (CheckConstraint(sql_in("kind", UNIT_KINDS), name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=20)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # Materialised path "/1/7/42/" so a subtree is one indexed LIKE on both databases.
    path: str = Field(default="/", max_length=400, index=True)
    active: bool = Field(default=True)
    # The office's own order among units of a kind (1 first); none: by the name's pinyin
    # (sort_key, kept by the service), after those the office placed.
    sort_order: int | None = Field(default=None)
    sort_key: str = Field(
        default="", max_length=400, sa_column_kwargs={"server_default": text("''")}
    )
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class Leader(SQLModel, table=True):
    __tablename__ = "leader"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    title: str = Field(max_length=100)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    active: bool = Field(default=True)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class Venue(SQLModel, table=True):
    __tablename__ = "venue"
    __table_args__ = (CheckConstraint("capacity > 0", name="capacity_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    address: str = Field(default="", max_length=200)
    capacity: int = Field(default=10)
    active: bool = Field(default=True)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class User(SQLModel, table=True):
    # "user" is reserved in PostgreSQL.
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(sql_in("role", ROLES), name="role"),
        # One login per person: NULL for accounts that only hold API tokens.
        UniqueConstraint("username"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    role: str = Field(max_length=20)
    # A clerk's unit: the root of the subtree whose cases they may handle.
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # The leader this login belongs to, for role "leader".
    leader_id: int | None = Field(default=None, foreign_key="leader.id", index=True)
    active: bool = Field(default=True)
    # Signing in to the console (API tokens are for programs).
    username: str | None = Field(default=None, max_length=50)
    # argon2id (argon2-cffi's encoded form); empty: no password set, cannot sign in.
    password_hash: str = Field(
        default="", max_length=200, sa_column_kwargs={"server_default": text("''")}
    )
    # A password an admin set (first, or reset): the user must choose their own.
    must_change_password: bool = Field(
        default=False, sa_column_kwargs={"server_default": text("false")}
    )
    # When the person last chose their own password (the age the policy counts), and the
    # hashes of the ones before it, newest first (none may be chosen again).
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    password_history: list[str] | None = Field(default=None, sa_type=JSON, nullable=True)
    # Consecutive failures since the last good sign-in, and the lock they earned.
    failed_sign_ins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The second factor (TOTP, RFC 6238): its secret sealed with the data keys (empty: none
    # enrolled), the last time step used (a code is good once), and the recovery codes'
    # argon2 hashes (each good once; shown to the person once, at enrolment).
    totp_sealed: str = Field(default="", max_length=200)
    totp_last_step: int = Field(default=0, sa_type=BigInteger)
    recovery_codes: list[str] | None = Field(default=None, sa_type=JSON, nullable=True)
    created_at: datetime = stamped()
    updated_at: datetime = stamped()


class SecretaryLeader(SQLModel, table=True):
    """A secretary may act for each leader she is linked to (many to many)."""

    __tablename__ = "secretary_leader"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    leader_id: int = Field(foreign_key="leader.id", primary_key=True, index=True)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    # SHA-256 of the token: the token itself is shown once and never stored.
    token_hash: str = Field(max_length=64)
    # First characters of the token, so a person can tell tokens apart in a list.
    prefix: str = Field(max_length=12)
    label: str = Field(default="", max_length=100)
    created_at: datetime = stamped()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Every token expires (an administrator's within 90 days), and may only read or also
    # write ("read", "write").
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    scopes: list[str] | None = Field(default=None, sa_type=JSON, nullable=True)


# How a department sits in the district's 矛盾纠纷调处化解中心 (矛调中心): 常驻 (staff there every
# day), 轮驻 (in turns), 随驻 (called in when a matter needs it).
PRESENCES = ("resident", "rotating", "on_call")
PRESENCE_LABELS = {"resident": "常驻", "rotating": "轮驻", "on_call": "随驻"}


class MediationPresence(SQLModel, table=True):
    """A department's place in the district's mediation centre, from a day (history as rows:
    the current one has no end; at most one current per department, a partial UNIQUE)."""

    __tablename__ = "mediation_presence"
    __table_args__ = (
        CheckConstraint(sql_in("presence", PRESENCES), name="presence"),
        Index(
            "uq_mediation_presence_current",
            "unit_id",
            unique=True,
            postgresql_where=text("ended_on IS NULL"),
            sqlite_where=text("ended_on IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    presence: str = Field(max_length=20)
    started_on: date
    ended_on: date | None = Field(default=None)
    set_by_name: str = Field(max_length=50)
    created_at: datetime = stamped()
