"""The notices as a reader holds them: every built-in kind issued for a one- and a
three-petitioner case, made into PDF by LibreOffice as the service makes it, and read back
(pypdf for the pages and fonts, the DOCX for the text): no page holds only the signature and
date, no half-width , : ; ( ) between Chinese characters, 你 or 你们 as the petitioners are one
or several (never 你(你们)), the decision's items as （一）（二）, each printed deadline the one
the clocks hold, simplified-Chinese faces only. A PNG of each page is kept in
tests/artifacts/notices/ to be looked at. And the PDF is made once and kept.

The case: received and registered 2026-09-16 (下仓镇), accepted 09-21 (handle due 11-20),
extended 20 days on 11-02 (→ 12-10), replied and delivered 11-25 (复查 window → 12-25)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.config import Settings
from reception.crypto import checksum_matches
from reception.documents import converter
from reception.documents.files import DOCX
from reception.documents.models import DocumentPdf
from reception.documents.rendering import text_of
from reception.wording import CJK
from tests.builders import OTHER_ID, VALID_ID, World, build_world, case_body, docx_with, served
from tests.conftest import auth
from tests.live import free_port

ARTIFACTS = Path(__file__).parent / "artifacts" / "notices"
OFFICE = "天津市蓟州区信访办公室"
PEOPLE = [
    {
        "name": "张小明",
        "id_number": VALID_ID,
        "phone": "13812345678",
        "address": "下仓镇小杨家庄村",
    },
    {"name": "欧阳旁人", "id_number": OTHER_ID, "phone": "13900009999", "address": "下仓镇"},
    {"name": "李某某", "phone": "13900008888", "address": "下仓镇"},
]
# What a clerk types, as clerks type it: half-width punctuation, their own numbering.
FACTS = (
    "经核查,开发商已书面承诺(2026年11月20日)于12月底前交房.\n区住建委已约谈开发商:逾期将依法处理"
)
BASIS = "《城市房地产开发经营管理条例》第三十条;《信访工作条例》第三十二条"
DECISION = "1. 督促开发商于2026年12月31日前交房\n2、逾期按合同约定支付违约金\n(3)由下仓镇跟踪回访"
HALF_BETWEEN_CJK = re.compile(rf"{CJK}[,:;()]|[,:;()]{CJK}")


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


def clerk(world: World) -> dict[str, str]:
    return auth(world.tokens["clerk_a"])


async def _post(client: httpx.AsyncClient, world: World, url: str, body: dict[str, Any]) -> Any:
    r = await client.post(url, json=body, headers=clerk(world))
    assert r.status_code in (200, 201), r.text
    return r.json()


async def _every_kind(
    client: httpx.AsyncClient, world: World, people: int
) -> dict[str, dict[str, Any]]:
    """Each built-in kind issued for cases of `people` petitioners, with the cases' clocks."""
    body = case_body(world, petitioners=PEOPLE[:people])
    new = "/api/cases"
    main = (await _post(client, world, new, body))["id"]
    act = f"/api/cases/{main}/transitions"
    issue = f"/api/cases/{main}/documents"
    docs: dict[str, dict[str, Any]] = {}
    docs["transfer_notice"] = await _post(
        client,
        world,
        issue,
        {"kind": "transfer_notice", "transferred_to": "区住建委", "on": "2026-09-18"},
    )
    await _post(client, world, act, {"action": "accept", "on": "2026-09-21"})
    docs["accept_notice"] = await _post(
        client, world, issue, {"kind": "accept_notice", "on": "2026-09-21"}
    )
    await _post(
        client, world, act,
        {"action": "extend", "days": 20, "reason": "需要现场勘验,并协调区住建委", "approver": "区信访办主任",
         "petitioner_told_on": "2026-11-02", "on": "2026-11-02"},
    )  # fmt: skip
    docs["extension_notice"] = await _post(
        client, world, issue, {"kind": "extension_notice", "on": "2026-11-02"}
    )
    docs["reply_opinion"] = await _post(
        client, world, issue,
        {"kind": "reply_opinion", "on": "2026-11-25", "facts": FACTS, "basis": BASIS,
         "decision": DECISION, "delivery": served("2026-11-25", recipient="张小明")},
    )  # fmt: skip
    docs["service_receipt"] = await _post(
        client, world, issue,
        {"kind": "service_receipt", "for_document_id": docs["reply_opinion"]["id"], "on": "2026-11-25"},
    )  # fmt: skip
    await _post(client, world, act, {"action": "request_review", "on": "2026-11-26"})
    docs["review_opinion"] = await _post(
        client, world, issue,
        {"kind": "review_opinion", "on": "2026-11-27", "facts": FACTS, "basis": BASIS,
         "decision": "维持原处理意见"},
    )  # fmt: skip
    await _post(client, world, act, {"action": "request_re_review", "on": "2026-11-30"})
    docs["re_review_opinion"] = await _post(
        client, world, issue,
        {"kind": "re_review_opinion", "on": "2026-12-01", "facts": FACTS, "basis": BASIS,
         "decision": DECISION},
    )  # fmt: skip
    rejected = (await _post(client, world, new, body))["id"]
    await _post(
        client, world, f"/api/cases/{rejected}/transitions",
        {"action": "reject", "reason": "该事项已经依法处理完毕,信访人以同一事实和理由再次提出", "on": "2026-09-20"},
    )  # fmt: skip
    docs["reject_notice"] = await _post(
        client, world, f"/api/cases/{rejected}/documents",
        {"kind": "reject_notice", "redirect_to": "依法向人民法院提起诉讼", "on": "2026-09-20"},
    )  # fmt: skip
    diverted = (await _post(client, world, new, body))["id"]
    await _post(
        client, world, f"/api/cases/{diverted}/transitions",
        {"action": "divert", "procedure": "reconsideration", "on": "2026-09-20"},
    )  # fmt: skip
    docs["diversion_notice"] = await _post(
        client, world, f"/api/cases/{diverted}/documents",
        {"kind": "diversion_notice", "organ": "蓟州区人民政府", "on": "2026-09-20"},
    )  # fmt: skip
    docs["_case"] = (await client.get(f"/api/cases/{main}", headers=clerk(world))).json()
    return docs


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def _fonts(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object().get("/BaseFont")))
    return names


def _look(pdf: bytes, name: str) -> None:
    """PNGs of the pages, for a person to look at (tests/artifacts/notices/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", str(path), str(ARTIFACTS / name)], check=True
        )


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _due(case: dict[str, Any], kind: str) -> str:
    clock = next(c for c in case["clocks"] if c["kind"] == kind)
    y, m, d = (int(x) for x in clock["current_due"].split("-"))
    return f"{y}年{m}月{d}日"


@pytest.mark.parametrize("people", [1, 3])
async def test_every_kind_reads_as_a_signed_notice(
    client: httpx.AsyncClient, world: World, people: int, backend: str
) -> None:
    docs = await _every_kind(client, world, people)
    case = docs.pop("_case")
    assert set(docs) == {
        "accept_notice", "reject_notice", "transfer_notice", "extension_notice", "reply_opinion",
        "review_opinion", "re_review_opinion", "diversion_notice", "service_receipt",
    }  # fmt: skip
    for kind, doc in docs.items():
        docx = (await client.get(doc["docx_url"], headers=clerk(world))).content
        text = text_of(docx)
        assert not HALF_BETWEEN_CJK.search(text), (kind, HALF_BETWEEN_CJK.findall(text))
        assert "你(你们)" not in text and "你（你们）" not in text, kind
        addressed = re.findall(r"你们|你", text)
        if kind != "service_receipt":
            assert addressed and set(addressed) == {"你们" if people > 1 else "你"}, (kind, text)
        r = await client.get(doc["pdf_url"], headers=clerk(world))
        assert r.status_code == 200 and r.content.startswith(b"%PDF"), (kind, r.text[:200])
        pages = _pages(r.content)
        for number, page in enumerate(pages, 1):
            lines = [x.strip() for x in page.splitlines() if x.strip()]
            content = [
                x for x in lines
                if _squeezed(x) not in (OFFICE, _squeezed(f"— {number} —"))
                and not re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", _squeezed(x))
            ]  # fmt: skip
            assert content, f"{kind}: page {number} holds only the signature and date: {lines}"
        fonts = _fonts(r.content)
        assert fonts and not [f for f in fonts if "jp" in f.lower() or "JP" in f], (kind, fonts)
        assert any("sc" in f for f in fonts), (kind, fonts)
        _look(r.content, f"{backend}-{people}-{kind}")
    squeezed = {k: _squeezed(text_of((await client.get(d["docx_url"], headers=clerk(world))).content)) for k, d in docs.items()}  # fmt: skip
    # The deadlines printed are the clocks' (working days, the extension, delivery + 30).
    assert docs["accept_notice"]["fields"]["handle_due"] == "2026年11月20日"
    assert "将在2026年11月20日前作出处理意见" in squeezed["accept_notice"]
    assert docs["extension_notice"]["fields"]["new_due"] == _due(case, "handle") == "2026年12月10日"
    reply = docs["reply_opinion"]["fields"]
    assert reply["review_window_end"] == "2026年12月25日"
    assert "请求复查的期限至2026年12月25日" in squeezed["reply_opinion"]
    # The query code's page is named where to use it.
    assert "https://reception.test/public" in squeezed["accept_notice"]
    # The clerk's words in full-width punctuation; the decision's items as （一）（二）.
    opinion = squeezed["reply_opinion"]
    assert "经核查，开发商已书面承诺（2026年11月20日）于12月底前交房。" in opinion
    assert (
        "三、处理意见（一）督促开发商于2026年12月31日前交房；（二）逾期按合同约定支付违约金；（三）由下仓镇跟踪回访。"
        in opinion
    )
    assert "处理意见：一、" not in opinion and "1." not in opinion
    # A single decision is not numbered.
    assert "三、复查意见维持原处理意见。" in squeezed["review_opinion"]
    # The 送达回证 says what the delivery record says.
    assert "☑直接送达" in squeezed["service_receipt"]


async def test_the_pdf_is_made_once_and_kept_sealed(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    cid = (await _post(client, world, "/api/cases", case_body(world)))["id"]
    await _post(
        client, world, f"/api/cases/{cid}/transitions", {"action": "accept", "on": "2026-09-21"}
    )
    doc = await _post(client, world, f"/api/cases/{cid}/documents", {"kind": "accept_notice"})
    async with sessionmaker() as s:
        assert await s.scalar(select(DocumentPdf)) is None
    first = await client.get(doc["pdf_url"], headers=clerk(world))
    assert first.status_code == 200, first.text
    async with sessionmaker() as s:
        (row,) = list(await s.scalars(select(DocumentPdf)))
    assert checksum_matches(row.checksum, first.content)
    assert first.content[:200] not in row.content  # kept sealed
    again = await client.get(doc["pdf_url"], headers=clerk(world))
    assert again.content == first.content
    # The petitioner's page serves the same bytes, and the reviewer may not read them.
    assert (
        await client.get(doc["pdf_url"], headers=auth(world.tokens["reviewer"]))
    ).status_code == 403


async def test_the_pdf_is_made_ahead_when_the_notice_is_issued(
    settings: Settings,
    world: World,
    app: Litestar,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    import dataclasses

    from reception.app import create_app

    ahead = create_app(dataclasses.replace(settings, pdf_ahead=True))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ahead), base_url="http://t"
    ) as c:
        cid = (await _post(c, world, "/api/cases", case_body(world)))["id"]
        await _post(
            c, world, f"/api/cases/{cid}/transitions", {"action": "accept", "on": "2026-09-21"}
        )
        doc = await _post(c, world, f"/api/cases/{cid}/documents", {"kind": "accept_notice"})
    await ahead.state.engine.dispose()
    async with sessionmaker() as s:
        row = await s.scalar(select(DocumentPdf).where(DocumentPdf.document_id == doc["id"]))
    assert row is not None and row.checksum


def test_without_the_warm_converter_a_pdf_is_still_made(tmp_path: Path) -> None:
    """The server down (or not installed): the cold way, slower, same PDF."""
    from reception.documents import defaults, rendering

    docx = rendering.render(
        defaults.template("accept_notice", OFFICE),
        {**rendering.SAMPLE, "title": "信访事项受理告知书"},
    )
    closed = f"127.0.0.1:{free_port()}"
    pdf = converter.convert(Settings(data_dir=tmp_path, pdf_server=closed), docx)
    assert pdf.startswith(b"%PDF") and "信访事项受理告知书" in _squeezed("".join(_pages(pdf)))


async def test_the_admin_sees_the_templates_their_fields_and_uploads_one(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from reception.documents import defaults
    from tests.builders import give_passwords
    from tests.console import Console

    await give_passwords(sessionmaker, world)
    admin = Console(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t"))
    await admin.sign_in("admin")
    page = await admin.get("/admin/templates")
    assert page.status_code == 200, page.text[:500]
    for field in ("{{ you }}", "{{ query_page }}", "{{ decision_items }}", "{{ method_box }}"):
        assert field.replace("{", "&#123;") in page.text or field in page.text, field
    assert "对信访人的称呼" in page.text and "内置模板" in page.text
    sample = await admin.get("/admin/templates/reply_opinion/sample.pdf")
    assert sample.status_code == 200 and sample.content.startswith(b"%PDF")
    assert "信访事项处理意见书" in _squeezed("".join(_pages(sample.content)))
    own = defaults.template("transfer_notice", OFFICE)
    r = await admin.post(
        "/admin/templates/transfer_notice", files={"file": ("我们的.docx", own, DOCX)}
    )
    assert r.status_code == 303, r.text[:800]
    page = await admin.get("/admin/templates")
    assert "第 1 版 · 我们的.docx" in page.text
    broken = docx_with(own, "{{ number }}", "{{ number ")
    r = await admin.post(
        "/admin/templates/transfer_notice", files={"file": ("坏的.docx", broken, DOCX)}
    )
    assert r.status_code == 422 and "原模板继续有效" in r.text
    # Only admins.
    clerk_console = Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t")
    )
    await clerk_console.sign_in("clerk_a")
    assert (await clerk_console.get("/admin/templates")).status_code == 403
