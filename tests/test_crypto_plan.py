"""docs/密码应用方案.md is written from the code: the algorithms its table names for the SM
suite are the ones the code uses, and the sealed columns it lists are exactly pii.SEALED."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from reception import crypto
from reception.audit import chain
from reception.crypto import FileKek, Keyring
from reception.pii import SEALED
from tests.live import TEST_KEYS

PLAN = Path(__file__).resolve().parents[1] / "docs" / "密码应用方案.md"


def _table() -> dict[str, str]:
    """编号 → 算法 of §2's table."""
    rows: dict[str, str] = {}
    for line in PLAN.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[a-z-]+", cells[0]) and cells[0] != "---":
            rows[cells[0]] = cells[2]
    return rows


def test_the_plan_names_the_algorithms_the_code_uses() -> None:
    table = _table()
    assert set(table) == {
        "sealed", "index", "checksum", "audit-chain", "audit-checkpoint", "service-mac", "kek",
    }  # fmt: skip
    keys = Keyring.parse(TEST_KEYS, "test", "sm")
    assert table["sealed"] == crypto.ALGORITHM[keys.suite] == "SM4-GCM"
    assert keys.seal("x", table="t", column="c", row_id=1).startswith("v2:sm4:")
    assert "`v2:sm4:<密钥编号>:`" in PLAN.read_text()
    assert table["index"] == crypto.INDEX_ALGORITHM[keys.suite] == "HMAC-SM3"
    assert keys.blind("k", "v") == crypto.mac("sm", keys.index, b"k:v").hex()
    assert table["checksum"] == crypto.CHECKSUM_ALGORITHM[keys.suite] == "SM3"
    assert keys.checksum(b"abc") == "sm3:" + crypto.SM3_EXAMPLE
    # The audit chain and its checkpoints.
    assert table["audit-chain"] == "SM3"
    link = chain.link("", b"row", keys.suite)
    assert link == "sm3:" + crypto.sm3(b"\nrow").hex()
    assert table["audit-checkpoint"] == "HMAC-SM3"
    _, audit_key = keys.audit_seal()
    day = date(2026, 12, 1)
    assert (
        chain.checkpoint_mac(audit_key, day, 7, link)
        == crypto.mac("sm", audit_key, f"{day.isoformat()}|7|{link}".encode()).hex()
    )
    assert table["service-mac"] == "HMAC-SM3"
    assert keys.mac("portal-ticket", b"x") == crypto.mac(
        "sm", crypto.mac("sm", keys.index, b"portal-ticket"), b"x"
    )
    assert table["kek"] == "SM4-GCM"
    kek = FileKek(bytes(16))
    wrapped = kek.wrap(b"k" * 16, "s1")
    aad = b"reception-data-key:s1"
    assert crypto._sm4_gcm_decrypt(bytes(16), wrapped[:12], wrapped[12:], aad) == b"k" * 16


def test_the_plan_lists_every_sealed_column_and_no_other() -> None:
    text = PLAN.read_text()
    section = text[text.index("加密的列") : text.index("每个密文带")]
    listed = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", section))
    assert listed == {f"{c.table}.{c.column}" for c in SEALED}


def test_a_new_key_document_holds_what_the_plan_says() -> None:
    doc = crypto.new_keys_document("sm")
    assert set(doc) == {"active", "data", "index", "audit"}
    keys = Keyring.parse(json.dumps(doc), "doc", "sm")
    assert len(keys.data[keys.active]) == 16 and len(keys.index) == 32
    assert keys.audit is not None and len(keys.audit) == 32
