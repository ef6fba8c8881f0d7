"""The national algorithms (密评): SM4-GCM, HMAC-SM3 and SM3 as the `sm` cipher suite beside `aes`.

The primitives are `cryptography`'s over OpenSSL 3, checked here against the examples the
standards print (GB/T 32907-2016 SM4, GB/T 32905-2016 SM3, GM/T 0042 HMAC-SM3 through the
standard library's HMAC as an independent computation). Then what the office relies on, on
both databases and under both suites: values sealed under one suite read under the other; a
database moves from `aes` to `sm` online while two server processes take bookings, and after it
every value opens with the SM4 key alone and every blind index is the HMAC-SM3 one; notices'
checksums name their algorithm; keys wrapped by a key-encryption key.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception import crypto, datakeys
from reception.config import Settings
from reception.crypto import KeyError_, Keyring, Undecryptable
from reception.pii import ID_NUMBER, PHONE, SEALED, aad_column
from tests.builders import World, at, build_world, case_body, future_workday
from tests.conftest import auth
from tests.live import RECEPTION, TEST_KEYS, serve

SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


# ---------------------------------------------------------------- the standards' examples


def test_sm4_gives_the_examples_of_gb_t_32907() -> None:
    """附录 A 示例 1: one block; 示例 2: the same block encrypted 1,000,000 times."""
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    block = encryptor.update(SM4_KEY)
    assert block.hex() == "681edf34d206965e86b3e94f536e4246" == crypto.SM4_EXAMPLE
    for _ in range(999_999):
        block = encryptor.update(block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


def test_sm3_gives_the_examples_of_gb_t_32905() -> None:
    assert crypto.sm3(b"abc").hex() == crypto.SM3_EXAMPLE
    assert crypto.sm3(b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_hmac_sm3_is_the_rfc_2104_construction_over_sm3() -> None:
    """Computed independently: RFC 2104 by hand over the SM3 examples' hash (64-byte blocks)."""
    key, message = b"reception-index-key", b"id_number:120225199001011234"
    block = key.ljust(64, b"\0")
    inner = crypto.sm3(bytes(b ^ 0x36 for b in block) + message)
    expected = crypto.sm3(bytes(b ^ 0x5C for b in block) + inner)
    assert crypto.mac("sm", key, message) == expected
    assert crypto.mac("aes", key, message) == hmac.new(key, message, hashlib.sha256).digest()


def test_sm4_gcm_is_authenticated_and_bound_to_its_place() -> None:
    keys = Keyring.parse(TEST_KEYS, "test", "sm")
    token = keys.seal("13500001234", table="t", column="c", row_id=7)
    assert token.startswith("v2:sm4:s1:")
    assert keys.open(token, table="t", column="c", row_id=7) == "13500001234"
    with pytest.raises(Undecryptable):
        keys.open(token, table="t", column="c", row_id=8)  # moved to another row
    raw = bytearray(base64.b64decode(token.split(":", 3)[3]))
    raw[14] ^= 1
    tampered = "v2:sm4:s1:" + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(Undecryptable):
        keys.open(tampered, table="t", column="c", row_id=7)
    # The nonce and tag of GCM around SM4: 12 + len + 16 bytes.
    assert len(raw) == 12 + len("13500001234") + 16


def test_both_suites_read_each_others_values_while_moving() -> None:
    aes = Keyring.parse(TEST_KEYS, "test", "aes")
    sm = Keyring.parse(TEST_KEYS, "test", "sm")
    a = aes.seal("甲", table="t", column="c", row_id=1)
    s = sm.seal("乙", table="t", column="c", row_id=1)
    assert a.startswith("v1:t1:") and s.startswith("v2:sm4:s1:")
    assert sm.open(a, table="t", column="c", row_id=1) == "甲"
    assert aes.open(s, table="t", column="c", row_id=1) == "乙"
    f = sm.seal_bytes(b"%PDF", table="t", column="c", row_id=2)
    assert f.startswith(b"v2:sm4:s1:") and aes.open_bytes(f, table="t", column="c", row_id=2)
    # Lookups match either suite's index while the keyring holds both.
    assert sm.blinds(ID_NUMBER, "1") == [sm.blind(ID_NUMBER, "1"), aes.blind(ID_NUMBER, "1")]
    only_sm = Keyring(actives={"sm": "s1"}, data={"s1": sm.data["s1"]}, index=sm.index, suite="sm")
    assert only_sm.blinds(PHONE, "1") == [sm.blind(PHONE, "1")]
    with pytest.raises(Undecryptable, match="unknown key"):
        only_sm.open(a, table="t", column="c", row_id=1)
    # Checksums name their algorithm, and each is checked with its own.
    assert sm.checksum(b"abc") == "sm3:" + crypto.SM3_EXAMPLE
    assert aes.checksum(b"abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    assert crypto.checksum_matches(sm.checksum(b"abc"), b"abc")
    assert not crypto.checksum_matches(sm.checksum(b"abc"), b"abd")
    assert not crypto.checksum_matches("md5:900150983cd24fb0d6963f7d28e17f72", b"abc")


def test_the_suite_and_its_keys_are_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    aes_only = json.dumps(crypto.new_keys_document("aes"))
    with pytest.raises(KeyError_, match="keys add --suite sm"):
        Keyring.parse(aes_only, "RECEPTION_DATA_KEYS", "sm")
    with pytest.raises(KeyError_, match="aes 或 sm"):
        Keyring.parse(aes_only, "RECEPTION_DATA_KEYS", "sm2")
    # An SM4 key of the wrong size for the suite that names it.
    doc = crypto.new_keys_document("sm")
    doc["data"]["s1"] = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(KeyError_, match="长度不对"):
        Keyring.parse(json.dumps(doc), "keys.json", "sm")

    # An OpenSSL without SM4-GCM (a build with it disabled): refused at start, naming it.
    def unsupported(data: bytes) -> bytes:
        raise crypto.UnsupportedAlgorithm("sm3")

    monkeypatch.setattr(crypto, "sm3", unsupported)
    with pytest.raises(KeyError_, match="OpenSSL") as refused:
        Keyring.parse(json.dumps(crypto.new_keys_document("sm")), "keys.json", "sm")
    assert crypto.openssl_version() in str(refused.value)


def test_keys_wrapped_by_a_key_encryption_key(tmp_path: Path) -> None:
    """`reception keys new --suite sm --kek-file`: the document holds only wrapped keys; the
    service unwraps them at start with the KEK; a wrong KEK refuses clearly."""
    kek = tmp_path / "kek.b64"
    r = subprocess.run(
        [RECEPTION, "keys", "new", "--suite", "sm", "--kek-file", str(kek)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RECEPTION_DATA_DIR": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    assert kek.stat().st_mode & 0o777 == 0o600 and len(base64.b64decode(kek.read_text())) == 16
    doc = json.loads(r.stdout)
    assert doc["kek"] == {"provider": "file", "path": str(kek.resolve())}
    keys = Keyring.parse(r.stdout, "RECEPTION_DATA_KEYS", "sm")
    assert len(keys.data["s1"]) == 16
    # The wrapped form is not the key: 12-byte nonce + 16-byte key + 16-byte tag.
    assert len(base64.b64decode(doc["data"]["s1"])) == 44
    sealed = keys.seal("x", table="t", column="c", row_id=1)
    # The document written back (a key added) stays wrapped, and still opens the data.
    again = Keyring.parse(json.dumps(keys.with_new_active_key().document()), "doc", "sm")
    assert again.open(sealed, table="t", column="c", row_id=1) == "x"
    assert json.loads(json.dumps(again.document()))["kek"] == doc["kek"]
    kek.write_text(base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(KeyError_, match="解不开"):
        Keyring.parse(r.stdout, "RECEPTION_DATA_KEYS", "sm")


# ---------------------------------------------------------------- on the databases


@pytest.fixture(params=["aes", "sm"])
def suite(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, suite: str) -> Settings:
    return dataclasses.replace(settings, cipher_suite=suite)


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


def _booking(n: int) -> dict[str, Any]:
    return {
        "petitioner_name": f"来访人{n}",
        "petitioner_phone": f"1350000{n:04d}",
        "petitioner_id_number": "",
        "matter_summary": "反映拆迁补偿问题",
    }


async def _session(client: httpx.AsyncClient, world: World) -> int:
    day = future_workday()
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "11:00"),
            "slot_minutes": 30,
            "people_per_slot": 80,
        },
        headers=auth(world.tokens["secretary"]),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_each_suite_seals_indexes_and_checksums_with_its_algorithms(
    client: httpx.AsyncClient,
    world: World,
    suite: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    person = {"name": "王秀英", "id_number": "120225195403150029", "phone": "13502221234"}
    r = await client.post("/api/cases", json=case_body(world, petitioners=[person]), headers=clerk)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    r = await client.post(
        f"/api/cases/{case_id}/transitions",
        json={"action": "accept", "on": "2026-09-21"},
        headers=clerk,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/cases/{case_id}/documents",
        json={"kind": "accept_notice", "on": "2026-09-21"},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    assert r.json()["checksum"].startswith({"aes": "sha256:", "sm": "sm3:"}[suite])
    keys = Keyring.parse(TEST_KEYS, "test", suite)
    async with sessionmaker() as s:
        sealed, index = (
            await s.execute(text("SELECT id_number_sealed, id_number_index FROM case_petitioner"))
        ).one()
        content = await s.scalar(text("SELECT content FROM case_document"))
    assert sealed.startswith({"aes": "v1:t1:", "sm": "v2:sm4:s1:"}[suite])
    assert bytes(content).startswith({"aes": b"v1:t1:", "sm": b"v2:sm4:s1:"}[suite])
    digest = crypto.mac(suite, keys.index, f"{ID_NUMBER}:{person['id_number']}".encode())
    assert index == digest.hex()
    # Search by the whole ID number finds it (through the blind index).
    r = await client.get("/api/cases", params={"q": person["id_number"]}, headers=clerk)
    assert [c["id"] for c in r.json()["items"]] == [case_id]


@pytest.mark.parametrize("suite", ["aes"])  # the data starts under AES
async def test_moving_from_aes_to_sm_under_concurrent_bookings_loses_nothing(
    client: httpx.AsyncClient,
    world: World,
    database_url: str,
    suite: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Data sealed under AES (the app of this test runs `aes`); two servers restarted with
    RECEPTION_CIPHER_SUITE=sm take bookings while `rotate` walks the tables to SM4 in small
    batches. Afterwards every value opens with the SM4 key alone, every blind index is the
    HMAC-SM3 one, and the repeat check still finds the people booked before."""
    session_id = await _session(client, world)
    secretary = auth(world.tokens["secretary"])
    for n in range(40):
        r = await client.post(
            f"/api/sessions/{session_id}/appointments", json=_booking(n), headers=secretary
        )
        assert r.status_code == 201, r.text
    person = {"name": "李建国", "id_number": "120225196005120013", "phone": "13602225678"}
    r = await client.post(
        "/api/cases",
        json=case_body(world, petitioners=[person]),
        headers=auth(world.tokens["clerk_a"]),
    )
    assert r.status_code == 201, r.text
    sm = Keyring.parse(TEST_KEYS, "test", "sm")
    with serve(database_url, workers=2, env={"RECEPTION_CIPHER_SUITE": "sm"}) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as live:

            async def book(n: int) -> int:
                r = await live.post(
                    f"/api/sessions/{session_id}/appointments",
                    json=_booking(100 + n),
                    headers=secretary,
                )
                assert r.status_code == 201, r.text
                return int(r.json()["id"])

            async def bookings() -> list[int]:
                ids = []
                for wave in range(6):
                    ids += await asyncio.gather(*(book(wave * 5 + i) for i in range(5)))
                return ids

            made, rotated = await asyncio.gather(
                bookings(), datakeys.rotate(sessionmaker, sm, batch=7)
            )
            again = await datakeys.rotate(sessionmaker, sm, batch=7)
            # One booked under AES before: a second booking of the same person is refused.
            twin = await live.post(
                f"/api/sessions/{session_id}/appointments", json=_booking(3), headers=secretary
            )
            assert twin.status_code == 409, twin.text
            r = await live.post(
                "/api/cases/repeat-check",
                json=case_body(world, petitioners=[person]),
                headers=auth(world.tokens["clerk_a"]),
            )
            assert r.status_code == 200, r.text
            assert len(r.json()) == 1, r.text
    assert len(made) == 30 and sum(again.values()) == 0
    assert rotated["appointment.petitioner_phone_sealed"] >= 40
    only_sm = Keyring(actives={"sm": "s1"}, data={"s1": sm.data["s1"]}, index=sm.index, suite="sm")
    async with sessionmaker() as s:
        await datakeys.check(s, only_sm)
        assert await s.scalar(text("SELECT count(*) FROM appointment")) == 70
        for c in SEALED:
            rows = (await s.execute(text(f"SELECT id, {c.column} FROM {c.table}"))).all()
            for row_id, token in rows:
                if not token:
                    continue
                aad = aad_column(c.table, c.column)
                if c.binary:
                    only_sm.open_bytes(bytes(token), table=c.table, column=aad, row_id=row_id)
                    continue
                plain = only_sm.open(token, table=c.table, column=aad, row_id=row_id)
                if c.index:
                    stored = await s.scalar(
                        text(f"SELECT {c.index[0]} FROM {c.table} WHERE id = :id"), {"id": row_id}
                    )
                    assert stored == only_sm.blind(c.index[1], plain), (c, row_id)
