"""A draft import tried (dry run), carried out, or rolled back as a whole.

The dry run walks the rows exactly as the import does, without writing, so its counts are
what the import then does (the import refuses to run if the file's rows say otherwise by the
time it runs: someone imported an overlapping file meanwhile). An import is one transaction
and one audit entry (the file's checksum and the counts); a rollback deletes what the import
made while nothing has been done on those cases since, and frees their fingerprints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases.models import (
    CaseClock,
    CaseDelivery,
    CaseEvaluation,
    CaseEvent,
    CaseOwnership,
    CasePetitioner,
    PetitionCase,
)
from reception.context import Context
from reception.db import in_parts
from reception.documents.models import CaseDocument
from reception.errors import Conflict, InvalidInput
from reception.imports import sessions as session_rows
from reception.imports.cases import VERDICTS, Verdict
from reception.imports.models import ImportBatch, ImportRecord
from reception.imports.report import ReportBook
from reception.imports.service import (
    ALL_SHEETS,
    Outcome,
    Sink,
    data_rows,
    draft,
    file_of,
    get_batch,
    walk_cases,
)
from reception.scheduling.models import Appointment

# Where the first rows of a dry run are shown (the whole report is the XLSX).
SHOWN = 200


def shown_counts(outcome: Outcome) -> dict[str, int]:
    return {v: int(outcome.counts.get(v, 0)) for v in VERDICTS}


async def _walk(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    batch: ImportBatch,
    write: bool,
    sink: Sink | None,
) -> Outcome:
    if batch.kind == "sessions":
        return await session_rows.walk_sessions(
            session=session, ctx=ctx, actor=actor, batch=batch, write=write, sink=sink
        )
    return await walk_cases(
        session=session, ctx=ctx, actor=actor, batch=batch, write=write, sink=sink
    )


async def dry_run(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    batch_id: int,
    sink: Sink | None = None,
) -> tuple[ImportBatch, Outcome, list[Verdict]]:
    """What importing would do, row by row (nothing written); the first rows with a problem
    or a note come first in the list shown."""
    batch = await draft(session, actor, batch_id)
    # Errors first (they are what the person must fix), then the rows skipped, then notes.
    shown: dict[str, list[Verdict]] = {"error": [], "same": [], "note": []}

    def keep(v: Verdict) -> None:
        bucket = shown.get(v.verdict, shown["note"])
        if len(bucket) < SHOWN and (v.verdict != "create" or v.reasons):
            bucket.append(v)
        if sink is not None:
            sink(v)

    outcome = await _walk(session, ctx, actor, batch, False, keep)
    batch = await session.get(ImportBatch, batch_id) or batch
    batch.dry_counts = shown_counts(outcome)
    await session.flush()
    return batch, outcome, [*shown["error"], *shown["same"], *shown["note"]][:SHOWN]


async def run_import(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, batch_id: int
) -> tuple[ImportBatch, Outcome]:
    """Import the draft: every row or none (one transaction); one audit entry."""
    batch = await draft(session, actor, batch_id)
    if not batch.dry_counts:
        raise Conflict("请先试运行:逐行核对无误后再导入")
    expected = dict(batch.dry_counts)
    outcome = await _walk(session, ctx, actor, batch, True, None)
    # The rows were written chunk by chunk and the objects let go: the batch is read again.
    batch = await session.get(ImportBatch, batch_id) or batch
    counts = shown_counts(outcome)
    if outcome.rows == 0:
        raise InvalidInput("文件中没有可导入的数据行(只有表头)", field="file")
    if expected != counts:
        raise Conflict(
            "文件的核对结果与试运行时不同(期间可能有人导入了重叠的台账),请重新试运行后再导入",
            dry_run=expected,
            now=counts,
        )
    batch.status = "imported"
    batch.counts = counts
    batch.imported_at = ctx.now()
    await audit.record(
        session=session,
        actor=actor,
        action=f"import.{batch.kind}",
        target_type="import_batch",
        target_id=batch.id,
        after={
            "file_name": batch.file_name,
            "file_checksum": batch.file_checksum,
            "sheet": batch.sheet,
            "counts": counts,
        },
    )
    await session.flush()
    return batch, outcome


# ---------------------------------------------------------------- rollback


IMPORTED_EVENT = "imported.%"


async def _touched(session: AsyncSession, case_ids: Any) -> str | None:
    """Why the import's cases (a subquery) can no longer be taken back (something was done
    on one since)."""
    checks: list[tuple[str, Any]] = [
        (
            "办理过程中有导入以后的记录",
            select(func.count())
            .select_from(CaseEvent)
            .where(
                col(CaseEvent.case_id).in_(case_ids),
                ~col(CaseEvent.kind).like(IMPORTED_EVENT),
            ),
        ),
        (
            "有后来的事项被确认为其重复信访",
            select(func.count())
            .select_from(PetitionCase)
            .where(
                col(PetitionCase.repeat_of_id).in_(case_ids),
                ~col(PetitionCase.id).in_(case_ids),
            ),
        ),
        (
            "已有送达记录",
            select(func.count())
            .select_from(CaseDelivery)
            .where(col(CaseDelivery.case_id).in_(case_ids)),
        ),
        (
            "已出具文书",
            select(func.count())
            .select_from(CaseDocument)
            .where(col(CaseDocument.case_id).in_(case_ids)),
        ),
        (
            "已关联接访预约",
            select(func.count())
            .select_from(Appointment)
            .where(col(Appointment.case_id).in_(case_ids)),
        ),
    ]
    for reason, query in checks:
        if int(await session.scalar(query) or 0):
            return reason
    return None


async def rollback(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, batch_id: int
) -> ImportBatch:
    batch = await get_batch(session=session, actor=actor, batch_id=batch_id)
    if batch.status != "imported":
        raise Conflict("只能撤销已完成的导入")
    if batch.kind == "sessions":
        await session_rows.rollback_sessions(session=session, batch=batch)
    else:
        ids = select(ImportRecord.case_id).where(
            ImportRecord.batch_id == batch.id, col(ImportRecord.case_id).is_not(None)
        )
        reason = await _touched(session, ids)
        if reason is not None:
            raise Conflict(f"本次导入的事项{reason},不能整批撤销")
        for model in (CaseEvent, CaseClock, CaseEvaluation, CaseOwnership, CasePetitioner):
            await session.execute(delete(model).where(col(model.case_id).in_(ids)))
        # The cases last but one (their fingerprints point at them), in one statement: a
        # repeat and the case it repeats go together.
        doomed = list(await session.scalars(ids))
        await session.execute(delete(ImportRecord).where(col(ImportRecord.batch_id) == batch.id))
        for part in in_parts(doomed):
            await session.execute(
                update(PetitionCase).where(col(PetitionCase.id).in_(part)).values(repeat_of_id=None)
            )
        for part in in_parts(doomed):
            await session.execute(delete(PetitionCase).where(col(PetitionCase.id).in_(part)))
    batch.status = "rolled_back"
    batch.rolled_back_at = ctx.now()
    batch.rolled_back_by_name = audit.actor_name(actor)
    await audit.record(
        session=session,
        actor=actor,
        action=f"import.{batch.kind}.rollback",
        target_type="import_batch",
        target_id=batch.id,
        before={"counts": batch.counts},
    )
    await session.flush()
    return batch


async def report(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, batch_id: int
) -> tuple[ImportBatch, bytes]:
    """The dry run's per-row report (XLSX): the verdicts as of now (before the import)."""
    batch = await get_batch(session=session, actor=actor, batch_id=batch_id)
    if batch.status != "draft":
        raise Conflict("核对报告是导入前的逐行核对:导入后不再生成,请在确认导入前下载")
    _, headers = data_rows(file_of(ctx, batch), batch, ctx.settings.import_max_rows)
    sheets = "全部工作表" if batch.sheet == ALL_SHEETS else f"工作表「{batch.sheet}」"
    book = ReportBook(
        headers,
        f"{batch.file_name} · {sheets} · 导入前核对",
        "" if batch.sheet == ALL_SHEETS else batch.sheet,
    )
    await _walk(session, ctx, actor, batch, False, book.add)
    return batch, book.finish()
