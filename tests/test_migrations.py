"""Alembic: `upgrade head` on an empty database equals the models; `downgrade base` works."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from reception.crypto import Keyring
from reception.db import migrate
from reception.models import metadata
from tests.conftest import create_pg_database, drop_pg_database
from tests.live import TEST_KEYS


@pytest.fixture
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
    else:
        url = create_pg_database()
        try:
            yield url
        finally:
            drop_pg_database(url)


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


def _tables(connection: Any) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_head_has_no_drift_and_downgrade_base_empties(empty_database: str) -> None:
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    assert await _inspect(empty_database, _diff) == []
    assert {t.name for t in metadata.sorted_tables} <= await _inspect(empty_database, _tables)

    await asyncio.to_thread(migrate, empty_database, "downgrade", "base")
    assert await _inspect(empty_database, _tables) <= {"alembic_version"}

    # And back up again: the chain is repeatable.
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    assert await _inspect(empty_database, _diff) == []


async def _run(url: str, *statements: tuple[str, dict[str, Any]]) -> list[Any]:
    engine = create_async_engine(url)
    out: list[Any] = []
    try:
        async with engine.begin() as conn:
            for sql, params in statements:
                result = await conn.execute(text(sql), params)
                out.append(result.all() if result.returns_rows else None)
    finally:
        await engine.dispose()
    return out


async def _one_case(url: str) -> int:
    """A case registered by the service itself (the schema at head), its id."""
    return (await _cases(url, 1))[0]


async def _cases(url: str, count: int) -> list[int]:
    """Cases registered by the service itself (the schema at head), their ids."""
    from reception.cases import registration, schemas
    from reception.config import Settings
    from reception.context import Context
    from reception.db import create_engine, create_sessionmaker
    from reception.org import schemas as org_schemas
    from reception.org import service as org
    from tests.builders import VALID_ID

    settings = Settings(database_url=url, data_keys=TEST_KEYS, now="2026-12-01T10:00:00+08:00")
    ctx = Context.of(settings)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine, ctx.clock)() as s:
            unit = await org.create_unit(
                session=s, actor=None, data=org_schemas.UnitCreate(name="蓟州区", kind="district")
            )
            assert unit.id is not None
            ids = []
            for i in range(count):
                done = await registration.register(
                    session=s,
                    ctx=ctx,
                    actor=None,
                    data=schemas.CaseCreate(
                        petitioners=[
                            schemas.PetitionerIn(
                                name=f"人{i}",
                                id_number=VALID_ID,
                                phone="13900000000",
                                address="某村0号",
                            )
                        ],
                        channel="visit",
                        category="housing",
                        summary="逾期交房",
                        unit_id=unit.id,
                        received_on=ctx.today(),
                    ),
                )
                assert done.case.id is not None
                ids.append(done.case.id)
            await s.commit()
            return ids
    finally:
        await engine.dispose()


async def test_0012_seals_existing_rows_in_batches_and_downgrade_opens_them(
    empty_database: str,
) -> None:
    """Plain rows as they were before 0012 — more than a batch of them — come out sealed with
    blind indexes that match what the service computes; 0011 gets the plain values back."""
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    case_id = await _one_case(empty_database)
    await asyncio.to_thread(migrate, empty_database, "downgrade", "0011")
    n = 1_234
    await _run(
        empty_database,
        *[
            (
                "INSERT INTO case_petitioner (case_id, position, name, id_number, phone, address)"
                " VALUES (:case, :i, :name, :id, :phone, :address)",
                {
                    "case": case_id,
                    "i": i,
                    "name": f"人{i}",
                    "id": "" if i % 3 == 0 else f"{i:017d}X",
                    "phone": f"139{i:08d}",
                    "address": f"某村{i}号",
                },
            )
            for i in range(1, n)
        ],
    )
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    assert await _inspect(empty_database, _diff) == []
    keys = Keyring.parse(TEST_KEYS, "test")
    (rows,) = await _run(
        empty_database,
        (
            "SELECT id, name, id_number_sealed, id_number_index, phone_sealed, phone_index,"
            " address_sealed FROM case_petitioner ORDER BY id",
            {},
        ),
    )
    assert len(rows) == n
    for row_id, name, id_sealed, id_index, phone_sealed, phone_index, address_sealed in rows:
        i = int(name[1:])

        def opened(token: str, column: str, row_id: int = row_id) -> str:
            return keys.open(token, table="case_petitioner", column=column, row_id=row_id)

        phone = opened(phone_sealed, "phone_sealed")
        assert phone == f"139{i:08d}" and phone_index == keys.blind("phone", phone)
        assert opened(address_sealed, "address_sealed") == f"某村{i}号"
        if i and i % 3 == 0:
            assert id_sealed == "" and id_index == ""
        elif i:
            assert opened(id_sealed, "id_number_sealed") == f"{i:017d}X"
            assert id_index == keys.blind("id_number", f"{i:017d}X")
    # The service finds the converted rows by their blind index.
    assert sum(1 for r in rows if r[3] == keys.blind("id_number", "00000000000000007X")) == 1

    await asyncio.to_thread(migrate, empty_database, "downgrade", "0011")
    (back,) = await _run(
        empty_database, ("SELECT name, phone, address FROM case_petitioner ORDER BY id", {})
    )
    assert len(back) == n and back[7] == ("人7", "13900000007", "某村7号")
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")


async def test_0014_carries_every_delivery_into_the_one_record(empty_database: str) -> None:
    """送达 kept in document_delivery, and 送达 the `deliver` step wrote on the case alone
    (a label, a code, free text nobody can read as a method), come out as case_delivery rows;
    the case's method becomes the code; downgrade gives the old rows back."""
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    mailed, posted, thrown, documented = await _cases(empty_database, 4)
    await asyncio.to_thread(migrate, empty_database, "downgrade", "0013")
    reply = (
        "UPDATE petition_case SET replied_on = '2026-11-20', reply_doc_number = :number,"
        " delivered_on = '2026-11-23', delivery_method = :method WHERE id = :id"
    )
    await _run(
        empty_database,
        (reply, {"id": mailed, "number": "蓟信复〔2026〕1号", "method": "邮寄送达"}),
        (reply, {"id": posted, "number": "蓟信复〔2026〕2号", "method": "public"}),
        (reply, {"id": thrown, "number": "蓟信复〔2026〕3号", "method": "扔在门口"}),
        (reply, {"id": documented, "number": "蓟信复〔2026〕4号", "method": "直接送达"}),
        (
            "INSERT INTO case_document (id, case_id, kind, year, seq, number, title, issued_on,"
            " template_version, template_sha256, sha256, fields, issued_by_name, created_at,"
            " content) VALUES (1, :case, 'reply_opinion', 2026, 4, '蓟信复〔2026〕4号',"
            " '处理意见书', '2026-11-20', 0, '', '', '{}', '张静伟', '2026-11-20 02:00:00',"
            " :content)",
            {"case": documented, "content": b"docx"},
        ),
        (
            "INSERT INTO document_delivery (document_id, method, delivered_on, recipient,"
            " tracking_number, witnesses, evidence, recorded_by_name, created_at) VALUES"
            " (1, 'mail', '2026-11-23', '本人', '1190001', '', '回执已扫描', '张静伟',"
            " '2026-11-23 02:00:00')",
            {},
        ),
    )
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    assert await _inspect(empty_database, _diff) == []
    rows, cases = await _run(
        empty_database,
        (
            "SELECT case_id, doc_number, method, legacy_method, recipient,"
            " mail_number, note, staff_name FROM case_delivery ORDER BY case_id",
            {},
        ),
        ("SELECT id, delivery_method FROM petition_case ORDER BY id", {}),
    )
    by_case = {r[0]: r[1:] for r in rows}
    assert len(rows) == 4
    assert by_case[mailed][1:3] == ("mail", "")
    assert by_case[posted][1:3] == ("public", "")
    assert by_case[thrown][1:3] == ("direct", "扔在门口")
    assert by_case[documented] == (
        "蓟信复〔2026〕4号",
        "mail",
        "",
        "本人",
        "1190001",
        "凭证:回执已扫描",
        "张静伟",
    )
    assert dict(cases) == {mailed: "mail", posted: "public", thrown: "direct", documented: "mail"}

    await asyncio.to_thread(migrate, empty_database, "downgrade", "0013")
    old, back = await _run(
        empty_database,
        ("SELECT document_id, method, tracking_number FROM document_delivery", {}),
        ("SELECT id, delivery_method FROM petition_case ORDER BY id", {}),
    )
    assert old == [(1, "mail", "1190001")]
    assert dict(back)[thrown] == "扔在门口"
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")


async def test_0019_names_the_checksums_algorithm_past_the_append_only_triggers(
    empty_database: str,
) -> None:
    """A notice and a delivery's evidence kept under 0018 (SHA-256 in `sha256` columns): the
    upgrade marks them "sha256:…" in the renamed columns, and the notices and deliveries stay
    append-only (on SQLite the rebuilt tables get their triggers back, with the new names)."""
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    case = await _one_case(empty_database)
    await asyncio.to_thread(migrate, empty_database, "downgrade", "0018")
    digest = "ab" * 32
    await _run(
        empty_database,
        (
            "INSERT INTO case_document (id, case_id, kind, year, seq, number, title, issued_on,"
            " template_version, template_sha256, sha256, fields, issued_by_name, created_at,"
            " content) VALUES (7, :case, 'reply_opinion', 2026, 9, '蓟信复〔2026〕9号',"
            " '处理意见书', '2026-11-20', 0, :d, :d, '{}', '张静伟', '2026-11-20 02:00:00',"
            " :content)",
            {"case": case, "d": digest, "content": b"docx"},
        ),
        (
            "INSERT INTO case_delivery (id, case_id, doc_number, method, outcome, delivered_on,"
            " place, recipient, no_recipient_reason, witnesses, entrusted_to, mail_number,"
            " consent, carrier, failure_reason, note, legacy_method, evidence, evidence_type,"
            " evidence_sha256, staff_name, created_at) VALUES (5, :case, '蓟信复〔2026〕9号',"
            " 'mail', 'delivered', '2026-11-23', '', '本人', '', '', '', '1190001', '', '', '',"
            " '', '', :content, 'image/png', :d, '张静伟', '2026-11-23 02:00:00')",
            {"case": case, "d": digest, "content": b"png"},
        ),
    )
    await asyncio.to_thread(migrate, empty_database, "upgrade", "head")
    assert await _inspect(empty_database, _diff) == []
    (doc,), (delivery,) = await _run(
        empty_database,
        ("SELECT checksum, template_checksum FROM case_document WHERE id = 7", {}),
        ("SELECT evidence_checksum FROM case_delivery WHERE id = 5", {}),
    )
    assert doc == ("sha256:" + digest, "sha256:" + digest)
    assert delivery == ("sha256:" + digest,)
    for statement in (
        "UPDATE case_document SET number = 'x' WHERE id = 7",
        "DELETE FROM case_document WHERE id = 7",
        "UPDATE case_delivery SET recipient = 'x' WHERE id = 5",
        "DELETE FROM case_delivery WHERE id = 5",
    ):
        with pytest.raises(Exception, match="append-only"):
            await _run(empty_database, (statement, {}))
    # What may change still may: the sealed file re-sealed, the evidence added.
    await _run(
        empty_database,
        ("UPDATE case_document SET content = :c WHERE id = 7", {"c": b"resealed"}),
        (
            "UPDATE case_delivery SET evidence_checksum = :d WHERE id = 5",
            {"d": "sha256:" + "cd" * 32},
        ),
    )
    await asyncio.to_thread(migrate, empty_database, "downgrade", "0018")
    (back,) = await _run(empty_database, ("SELECT sha256 FROM case_document WHERE id = 7", {}))
    assert back == [(digest,)]
