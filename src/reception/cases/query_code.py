"""查询码: the code a petitioner uses to follow their own matter (printed on the 受理告知书).

Ten characters from a 28-symbol alphabet without look-alikes:
28^10 ≈ 3·10^14 codes, drawn by `secrets`. Stored sealed (to print it again) and as a blind
index (to look it up), never in clear, never in a list or a log.
"""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from reception import pii
from reception.cases.models import PetitionCase
from reception.context import Context
from reception.errors import Broken

# 21 letters and 7 digits; left out: O and 0, I and 1, S and 5, B (8 stays), Z (2 stays).
ALPHABET = "ACDEFGHJKLMNPQRTUVWXY2346789"
LENGTH = 10
TABLE, COLUMN = "petition_case", "query_code"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """As printed: two groups of five (ACDEF-GHJKL)."""
    return f"{code[:5]}-{code[5:]}"


def normal(typed: str) -> str:
    """As looked up: what a person may type (spaces, a dash, lower case)."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


async def issue(*, session: AsyncSession, ctx: Context, case: PetitionCase) -> str:
    """Give the case a new code (a case registered before codes existed, or whose code was
    lost): written by the next flush."""
    code = give(ctx, case)
    await session.flush()
    return code


def give(ctx: Context, case: PetitionCase) -> str:
    """A new code set on a case that has its id (registration takes the id before the
    INSERT, so the sealed code goes in it)."""
    if case.id is None:
        raise Broken("expected: case.id is not None")
    code = new_code()
    case.query_code_sealed = ctx.keys.seal(code, table=TABLE, column=COLUMN, row_id=case.id)
    case.query_code_index = ctx.keys.blind(pii.QUERY_CODE, code)
    return code


def read(ctx: Context, case: PetitionCase) -> str | None:
    if not case.query_code_sealed or case.id is None:
        return None
    return ctx.keys.open(case.query_code_sealed, table=TABLE, column=COLUMN, row_id=case.id)
