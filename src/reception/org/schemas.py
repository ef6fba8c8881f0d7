"""Request and response bodies for the org chart (never the table models themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from reception.base import Id, Role, Strict, UnitKind

Name = Annotated[str, Meta(min_length=1, max_length=50)]
LongName = Annotated[str, Meta(min_length=1, max_length=100)]


# The office's own place of a unit among those of its kind (1 first); null: by pinyin.
SortOrder = Annotated[int, Meta(ge=1, le=9999)]


class UnitCreate(Strict):
    name: LongName
    kind: UnitKind
    parent_id: Id | None = None
    sort_order: SortOrder | None = None


class UnitUpdate(Strict):
    name: LongName | UnsetType = UNSET
    parent_id: Id | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    sort_order: SortOrder | UnsetType | None = UNSET


class UnitRead(Struct):
    id: int
    name: str
    kind: str
    parent_id: int | None
    path: str
    active: bool
    created_at: datetime
    updated_at: datetime
    sort_order: int | None = None


class LeaderCreate(Strict):
    name: Name
    title: LongName
    unit_id: Id


class LeaderUpdate(Strict):
    name: Name | UnsetType = UNSET
    title: LongName | UnsetType = UNSET
    unit_id: Id | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class LeaderRead(Struct):
    id: int
    name: str
    title: str
    unit_id: int
    active: bool
    created_at: datetime
    updated_at: datetime


class VenueCreate(Strict):
    name: LongName
    unit_id: Id
    address: Annotated[str, Meta(max_length=200)] = ""
    capacity: Annotated[int, Meta(ge=1, le=10_000)] = 10


class VenueUpdate(Strict):
    name: LongName | UnsetType = UNSET
    unit_id: Id | UnsetType = UNSET
    address: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET
    capacity: Annotated[int, Meta(ge=1, le=10_000)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class VenueRead(Struct):
    id: int
    name: str
    unit_id: int
    address: str
    capacity: int
    active: bool
    created_at: datetime
    updated_at: datetime


class UserCreate(Strict):
    name: Name
    role: Role
    unit_id: Id | None = None
    leader_id: Id | None = None
    # A secretary's leaders.
    leader_ids: list[Id] = msgspec.field(default_factory=list)


class UserUpdate(Strict):
    name: Name | UnsetType = UNSET
    # The security administrator's (三员分立): a role, and whether the account may sign in.
    role: Role | UnsetType = UNSET
    unit_id: Id | UnsetType | None = UNSET
    leader_id: Id | UnsetType | None = UNSET
    leader_ids: list[Id] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class UserRead(Struct):
    id: int
    name: str
    role: str
    unit_id: int | None
    leader_id: int | None
    leader_ids: list[int]
    active: bool
    created_at: datetime
    updated_at: datetime
    # The console login (None: API tokens only) and whether its password is an admin's.
    username: str | None = None
    must_change_password: bool = False


class PasswordSet(Strict):
    """An admin sets a person's console login: a first password they must change."""

    password: Annotated[str, Meta(min_length=1, max_length=128)]
    username: Annotated[str, Meta(min_length=2, max_length=50)] | None = None


Scope = Literal["read", "write"]


class TokenCreate(Strict):
    label: Annotated[str, Meta(max_length=100)] = ""
    # Days until it expires: at most 90 for an administrator's, 365 for anyone's (default).
    expires_in_days: Annotated[int, Meta(ge=1, le=365)] | None = None
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=2)] = msgspec.field(
        default_factory=lambda: ["read", "write"]
    )


class TokenRead(Struct):
    id: int
    user_id: int
    prefix: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None
    scopes: list[str] | None


class NewToken(Struct):
    """Returned once, at creation: the token itself is never shown again."""

    id: int
    user_id: int
    token: str
    label: str
    expires_at: datetime | None
    scopes: list[str]


class Me(Struct):
    user_id: int
    name: str
    role: str
    unit_id: int | None
    leader_id: int | None
    leader_ids: list[int]
