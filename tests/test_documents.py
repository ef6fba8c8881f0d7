"""Written notices: each kind rendered for a worked case and read back; numbering under
concurrency; templates as data; documents as records; delivery (送达); the query code; PDF.

The worked case: 张小明, received and registered 2026-09-16 (下仓镇), accepted 09-21 (handle due
09-21 + 60 = 11-20), extended 20 days on 11-02 (→ 12-10), replied and delivered 11-25 (复查
window 11-25 + 30 = 12-25)."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.cases.models import PetitionCase
from reception.documents import defaults
from reception.documents.models import CaseDocument
from reception.documents.rendering import text_of
from tests.builders import OTHER_ID, VALID_ID, World, build_world, case_body, docx_with
from tests.conftest import assert_problem, auth
from tests.live import serve

OTHER = {"name": "欧阳旁人", "id_number": OTHER_ID, "phone": "13900009999", "address": "别处村"}


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


def clerk(world: World) -> dict[str, str]:
    return auth(world.tokens["clerk_a"])


async def _act(client: httpx.AsyncClient, world: World, cid: int, **body: Any) -> dict[str, Any]:
    r = await client.post(f"/api/cases/{cid}/transitions", json=body, headers=clerk(world))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _issue(
    client: httpx.AsyncClient, world: World, cid: int, expect: int = 201, **body: Any
) -> dict[str, Any]:
    r = await client.post(f"/api/cases/{cid}/documents", json=body, headers=clerk(world))
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


async def _text(client: httpx.AsyncClient, world: World, doc: dict[str, Any]) -> str:
    r = await client.get(doc["docx_url"], headers=clerk(world))
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    return text_of(r.content)


@pytest.fixture
async def worked(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    # Someone else's case in the same unit: none of their data may reach our notices.
    other = await client.post(
        "/api/cases", json=case_body(world, petitioners=[OTHER]), headers=clerk(world)
    )
    assert other.status_code == 201
    r = await client.post("/api/cases", json=case_body(world), headers=clerk(world))
    case = r.json()
    return {"case": case, "code": case["query_code"]}


async def test_every_notice_of_a_case_from_acceptance_to_re_review(
    client: httpx.AsyncClient, world: World, worked: dict[str, Any]
) -> None:
    cid = worked["case"]["id"]
    await _act(client, world, cid, action="accept", on="2026-09-21")
    accept = await _issue(client, world, cid, kind="accept_notice", on="2026-09-21")
    assert (
        accept["number"] == "蓟信受〔2026〕1号"
        and accept["fields"]["handle_due"] == "2026年11月20日"
    )
    body = await _text(client, world, accept)
    assert "天津市蓟州区信访办公室" in body and "信访事项受理告知书" in body
    assert "蓟信受〔2026〕1号" in body and "蓟信〔2026〕00002" in body and "下仓镇" in body
    assert "2026年9月16日" in body and "2026年11月20日前作出处理意见" in body
    # The query code shown at registration is the one printed.
    assert worked["code"] in body
    await _act(
        client,
        world,
        cid,
        action="extend",
        on="2026-11-02",
        days=20,
        reason="需要现场勘验",
        approver="区信访办主任",
        petitioner_told_on="2026-11-02",
    )
    extension = await _issue(client, world, cid, kind="extension_notice", on="2026-11-02")
    body = await _text(client, world, extension)
    assert "延长20日" in body and "2026年12月10日前" in body and "需要现场勘验" in body
    # The 意见书 is the reply: issuing it replies, with its own number; delivered on the spot.
    reply = await _issue(
        client,
        world,
        cid,
        kind="reply_opinion",
        on="2026-11-25",
        facts="经核查,开发商已承诺12月底前交房",
        basis="《城市房地产开发经营管理条例》",
        decision="督促开发商按期交房",
        delivery={"method": "direct", "on": "2026-11-25", "recipient": "张小明"},
    )
    assert (
        reply["number"] == "蓟信复〔2026〕1号" and reply["delivery"]["method_label"] == "直接送达"
    )
    # Once answered, the matter can no longer be transferred: 409, naming the stage.
    transfer = await _issue(
        client, world, cid, kind="transfer_notice", expect=409, transferred_to="区住建委"
    )
    assert "阶段" in transfer["detail"]
    case = (await client.get(f"/api/cases/{cid}", headers=clerk(world))).json()
    assert case["stage"] == "replied" and case["reply_doc_number"] == "蓟信复〔2026〕1号"
    window = next(c for c in case["clocks"] if c["kind"] == "review_request")
    assert window["started_on"] == "2026-11-25" and window["current_due"] == "2026-12-25"
    body = await _text(client, world, reply)
    assert "自收到本意见书之日起30日内，向蓟州区人民政府书面请求复查" in body
    assert "2026年11月25日送达，请求复查的期限至2026年12月25日" in body
    receipt = await _issue(client, world, cid, kind="service_receipt", for_document_id=reply["id"])
    body = await _text(client, world, receipt)
    assert "蓟信复〔2026〕1号" in body and "签收人签名" in body and "30日内请求复查" in body
    # Filled from the delivery recorded: the method ticked, who served it, the day signed.
    assert "☑直接送达" in body and "□邮寄送达" in body and "褚某记" in body
    assert "2026年11月25日" in body and receipt["number"] == "蓟信送〔2026〕1号"
    # 复查 and 复核: the decisions are the opinions.
    await _act(client, world, cid, action="request_review", on="2026-11-26")
    review = await _issue(
        client,
        world,
        cid,
        kind="review_opinion",
        on="2026-11-27",
        facts="同上",
        basis="同上",
        decision="维持",
    )
    assert "请求复核" in await _text(client, world, review)
    await _act(client, world, cid, action="request_re_review", on="2026-11-28")
    re_review = await _issue(
        client,
        world,
        cid,
        kind="re_review_opinion",
        on="2026-11-30",
        facts="同上",
        basis="同上",
        decision="维持",
    )
    body = await _text(client, world, re_review)
    assert "不再受理" in body and "最终意见" in body
    # No other petitioner's data in any of them.
    for doc in (accept, extension, reply, receipt, review, re_review):
        body = await _text(client, world, doc)
        for planted in OTHER.values():
            assert planted not in body, (doc["kind"], planted)
    timeline = (await client.get(f"/api/cases/{cid}/timeline", headers=clerk(world))).json()
    issued = [e["after"]["number"] for e in timeline if e["kind"] == "document.issued"]
    every = (accept, extension, reply, receipt, review, re_review)
    assert sorted(issued) == sorted(d["number"] for d in every)
    # The timeline reads in the order things happened (the receipt was made today).
    days = [e["effective_on"] for e in timeline]
    assert days == sorted(days)


async def test_refusal_and_diversion_notices(
    client: httpx.AsyncClient, world: World, worked: dict[str, Any]
) -> None:
    cid = worked["case"]["id"]
    await _act(client, world, cid, action="reject", on="2026-09-20", reason="该事项已经依法处理")
    problem = await _issue(client, world, cid, expect=422, kind="reject_notice")
    assert problem["errors"][0]["field"] == "redirect_to"
    reject = await _issue(
        client, world, cid, kind="reject_notice", redirect_to="向人民法院提起诉讼"
    )
    body = await _text(client, world, reject)
    assert "不予受理" in body and "该事项已经依法处理" in body and "向人民法院提起诉讼" in body
    other = (await client.post("/api/cases", json=case_body(world), headers=clerk(world))).json()[
        "id"
    ]
    await _act(client, world, other, action="divert", procedure="reconsideration")
    diversion = await _issue(client, world, other, kind="diversion_notice", organ="蓟州区人民政府")
    assert "申请行政复议" in await _text(client, world, diversion)


async def test_twenty_concurrent_issues_get_twenty_consecutive_numbers(
    database_url: str, app: Litestar, client: httpx.AsyncClient, world: World
) -> None:
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk(world))).json()[
        "id"
    ]
    with serve(database_url, workers=2) as base:
        async with httpx.AsyncClient(base_url=base, timeout=120) as live:
            responses = await asyncio.gather(
                *(
                    live.post(
                        f"/api/cases/{cid}/documents",
                        json={"kind": "transfer_notice", "transferred_to": "区住建委"},
                        headers=clerk(world),
                    )
                    for _ in range(20)
                )
            )
    assert Counter(r.status_code for r in responses) == {201: 20}, [r.text for r in responses][:2]
    numbers = sorted(int(r.json()["number"].split("〕")[1].rstrip("号")) for r in responses)
    assert numbers == list(range(1, 21))


async def test_a_broken_template_is_refused_and_the_old_one_stays(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = auth(world.tokens["admin"], **{"content-type": "application/octet-stream"})
    good = defaults.template("transfer_notice", "天津市蓟州区信访办公室").replace(b"", b"")
    r = await client.put(
        "/api/document-templates/transfer_notice?filename=ours.docx", content=good, headers=admin
    )
    assert r.status_code == 200 and r.json()["version"] == 1
    # Not a DOCX; and a DOCX with a broken Jinja field.
    problem = assert_problem(
        await client.put(
            "/api/document-templates/transfer_notice", content=b"hello", headers=admin
        ),
        422,
    )
    assert "不是 Word 文档" in problem["detail"] and "原模板继续有效" in problem["detail"]
    broken = docx_with(good, "{{ number }}", "{{ number ")
    problem = assert_problem(
        await client.put("/api/document-templates/transfer_notice", content=broken, headers=admin),
        422,
    )
    assert "模板" in problem["detail"]
    unknown = docx_with(good, "{{ number }}", "{{ leader_phone }}")
    problem = assert_problem(
        await client.put("/api/document-templates/transfer_notice", content=unknown, headers=admin),
        422,
    )
    assert "leader_phone" in problem["detail"]
    kinds = (await client.get("/api/document-kinds", headers=auth(world.tokens["clerk_a"]))).json()
    assert next(k for k in kinds if k["kind"] == "transfer_notice")["template_version"] == 1
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk(world))).json()[
        "id"
    ]
    doc = await _issue(client, world, cid, kind="transfer_notice", transferred_to="区住建委")
    assert doc["template_version"] == 1


async def test_a_document_is_never_changed_only_superseded(
    client: httpx.AsyncClient,
    world: World,
    worked: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    cid = worked["case"]["id"]
    first = await _issue(client, world, cid, kind="transfer_notice", transferred_to="区住建委")
    async with sessionmaker() as s:
        with pytest.raises(Exception, match="append-only"):
            await s.execute(
                text("UPDATE case_document SET number = 'x' WHERE id = :i"), {"i": first["id"]}
            )
            await s.commit()
    async with sessionmaker() as s:
        with pytest.raises(Exception, match="append-only"):
            await s.execute(text("DELETE FROM case_document WHERE id = :i"), {"i": first["id"]})
            await s.commit()
    fixed = await _issue(
        client,
        world,
        cid,
        kind="transfer_notice",
        transferred_to="区人社局",
        supersedes=first["id"],
    )
    assert fixed["supersedes_id"] == first["id"] and fixed["number"] != first["number"]
    listed = (await client.get(f"/api/cases/{cid}/documents", headers=clerk(world))).json()
    assert [(d["id"], d["superseded_by_id"]) for d in listed] == [
        (first["id"], fixed["id"]),
        (fixed["id"], None),
    ]
    again = await _issue(
        client,
        world,
        cid,
        expect=409,
        kind="transfer_notice",
        transferred_to="x",
        supersedes=first["id"],
    )
    assert "已被更正" in again["detail"]


async def test_the_query_code_is_kept_sealed_and_documents_for_the_handlers_only(
    client: httpx.AsyncClient,
    world: World,
    worked: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    code = worked["code"]
    assert len(code) == 11 and code[5] == "-"
    raw = code.replace("-", "")
    async with sessionmaker() as s:
        row = await s.get(PetitionCase, worked["case"]["id"])
        assert row is not None and raw not in row.query_code_sealed and row.query_code_index
        docs = list(await s.scalars(select(CaseDocument)))
    assert docs == []
    cid = worked["case"]["id"]
    await _act(client, world, cid, action="accept", on="2026-09-21")
    doc = await _issue(client, world, cid, kind="accept_notice")
    assert "query_code" not in doc["fields"] and "petitioners" not in doc["fields"]
    listed = (await client.get("/api/cases", headers=auth(world.tokens["admin"]))).text
    assert raw not in listed and code not in listed
    # The reviewer reads the list of documents, not their text (it names the petitioner).
    reviewer = auth(world.tokens["reviewer"])
    assert (await client.get(f"/api/cases/{cid}/documents", headers=reviewer)).status_code == 200
    assert_problem(await client.get(doc["docx_url"], headers=reviewer), 403)
    handler = await client.get(doc["docx_url"], headers=auth(world.tokens["clerk_district"]))
    assert handler.status_code == 200, handler.text


async def test_pdf_of_a_notice(
    client: httpx.AsyncClient, world: World, worked: dict[str, Any], tmp_path: Path
) -> None:
    cid = worked["case"]["id"]
    await _act(client, world, cid, action="accept", on="2026-09-21")
    doc = await _issue(client, world, cid, kind="accept_notice")
    r = await client.get(doc["pdf_url"], headers=clerk(world))
    assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.text[:200]
    (tmp_path / "n.pdf").write_bytes(r.content)
    read = await asyncio.to_thread(
        subprocess.run,
        ["pdftotext", str(tmp_path / "n.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    extracted = read.stdout
    squeezed = "".join(extracted.split())
    assert "信访事项受理告知书" in squeezed and "蓟信受〔2026〕1号" in squeezed
    assert worked["code"] in squeezed
    assert VALID_ID not in squeezed


async def test_the_command_line_issues_lists_and_writes_notices(
    client: httpx.AsyncClient,
    world: World,
    worked: dict[str, Any],
    database_url: str,
    tmp_path: Path,
) -> None:
    from tests.test_cli import run

    case = worked["case"]
    await _act(client, world, case["id"], action="accept", on="2026-09-21")
    issued = run(database_url, "documents", "issue", case["reference"], "accept_notice").stdout
    assert "蓟信受〔2026〕1号" in issued and "信访事项受理告知书" in issued
    doc_id = issued.split()[0]
    refused = run(database_url, "documents", "issue", str(case["id"]), "reply_opinion", check=False)
    assert refused.returncode != 0 and "须写明查明的事实" in refused.stderr
    unknown = run(database_url, "documents", "issue", str(case["id"]), "letter", check=False)
    assert (
        unknown.returncode != 0 and "kind" in unknown.stderr and "accept_notice" in unknown.stderr
    )
    listing = run(database_url, "documents", "list", case["reference"]).stdout
    assert "蓟信受〔2026〕1号" in listing and "未送达" in listing
    out = tmp_path / "notice.docx"
    run(database_url, "documents", "get", doc_id, "--out", str(out))
    assert "信访事项受理告知书" in text_of(out.read_bytes())
