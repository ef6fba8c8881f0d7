"""Petitioners' personal data: who sees it whole (one policy), and how it is masked otherwise.

Names, phones, ID numbers and addresses never reach feeds, logs or audit rows; everywhere else
`shows_whole` decides, and every list, detail, day sheet and export asks it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from reception.auth import Principal
from reception.org.access import reaches

# The whole values a request showed (等保三级: who opened which record's ID number or phone):
# (record type, record id, which fields), gathered while the request runs and written to the
# audit trail once it is answered (reception.audit.reads).
WholeRead = tuple[str, str, tuple[str, ...]]
_SHOWN: ContextVar[list[WholeRead] | None] = ContextVar("whole_values_shown", default=None)


def gather(into: list[WholeRead]) -> Token[list[WholeRead] | None]:
    return _SHOWN.set(into)


def stop_gathering(token: Token[list[WholeRead] | None]) -> None:
    _SHOWN.reset(token)


def shown_whole(target_type: str, target_id: object, fields: tuple[str, ...]) -> None:
    """Note that whole values of these fields of a record went to the caller."""
    shown = _SHOWN.get()
    if shown is not None and fields:
        shown.append((target_type, str(target_id), fields))


def shows_whole(
    principal: Principal | None,
    *,
    leader_id: int | None = None,
    unit_path: str | None = None,
    listing: bool = False,
) -> bool:
    """Whether `principal` sees a petitioner's data whole on a record.

    The record is an appointment (the session's `leader_id`) or a case (its responsible
    unit's `unit_path`). Whole values go to the people handling that very booking or case:
    an admin; a secretary linked to the session's leader; a clerk whose unit subtree holds the
    case. Lists of many records (`listing`) are masked for everyone but an admin. The command
    line (no principal) is the administrator's own tool.
    """
    if principal is None or principal.is_admin:
        return True
    if listing:
        return False
    if leader_id is not None and principal.role == "secretary":
        return leader_id in principal.leader_ids
    if unit_path is not None and principal.role == "clerk":
        return reaches(principal, unit_path)
    return False


def mask_name(name: str) -> str:
    """张小明 → 张*明; 张明 → 张*; a single character stays as it is."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) >= 11 else 0
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def mask_id_number(id_number: str) -> str:
    """120225199001011234 → 1202************34 (region kept, birth date hidden)."""
    value = id_number.strip()
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 6) + value[-2:]


def mask_address(address: str) -> str:
    return "" if address else address
