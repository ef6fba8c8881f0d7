"""Shared base types: what every domain's bodies and tables are built from.

The lowest module of the package after `errors`: it imports nothing of the domains, so any of
them may import it without pulling in another domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from msgspec import UNSET, Meta, Struct

# Ids are PostgreSQL INTEGER columns: anything beyond is refused here, not by the database.
Id = Annotated[int, Meta(ge=1, le=2**31 - 1)]
AwareDatetime = Annotated[datetime, Meta(tz=True)]

Role = Literal["admin", "secretary", "clerk", "leader", "reviewer"]
ROLES: tuple[str, ...] = get_args(Role)
UnitKind = Literal["district", "township", "village", "department"]
UNIT_KINDS: tuple[str, ...] = get_args(UnitKind)
# What a reception day does when its date is not a working day (遇节假日顺延 by default).
HolidayPolicy = Literal["next_workday", "previous_workday", "keep"]
HOLIDAY_POLICIES: tuple[str, ...] = get_args(HolidayPolicy)
# 集体访: a visit or a case of this many people or more is a collective one.
COLLECTIVE_FROM = 5


class Strict(Struct, forbid_unknown_fields=True):
    """Request bodies: unknown fields are refused, not ignored."""

    def changes(self) -> dict[str, Any]:
        """The fields a PATCH body actually sets (those not left UNSET)."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


def sql_in(column: str, values: tuple[str, ...]) -> str:
    """The text of a CHECK constraint allowing only `values` in `column`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"
