"""Petitioners' data at rest: AES-256-GCM field encryption and keyed-hash blind indexes.

Composition only (no home-made primitives): `cryptography`'s AESGCM with a random 96-bit nonce
per value and the table, column and row id as associated data (a value copied to another row
or column does not decrypt); HMAC-SHA256 under a separate key for exact-match lookups. Each
stored value carries the id of the key it was sealed with, so keys can rotate online.

Keys come from RECEPTION_DATA_KEYS (JSON) or, for the embedded default, from `keys.json` in
the data directory (mode 0600, created on first run — back it up apart from the database).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1"
KEY_FILE = "keys.json"
ENV = "RECEPTION_DATA_KEYS"


class KeyError_(RuntimeError):
    """The keys are missing, malformed, or do not open the data (a clear start-up error)."""


class Undecryptable(ValueError):
    """A stored value that does not open with the keys and its place (moved, or tampered)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


def new_keys_document() -> dict[str, Any]:
    key_id = "k1"
    return {
        "active": key_id,
        "data": {key_id: _b64(secrets.token_bytes(32))},
        "index": _b64(secrets.token_bytes(32)),
    }


@dataclass(frozen=True)
class Keyring:
    active: str
    data: dict[str, bytes]
    index: bytes

    @classmethod
    def parse(cls, text: str, source: str) -> Keyring:
        try:
            doc = json.loads(text)
            data = {str(k): _unb64(v) for k, v in doc["data"].items()}
            index = _unb64(doc["index"])
            active = str(doc["active"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyError_(
                f"{source} 中的密钥格式有误(须为 JSON: active, data, index) / "
                f"{source} is not a valid key document"
            ) from exc
        if active not in data:
            raise KeyError_(f"{source}: 启用的密钥 {active} 不在 data 中 / active key missing")
        if any(len(k) != 32 for k in data.values()) or len(index) != 32:
            raise KeyError_(f"{source}: 每个密钥须为32字节(base64) / keys must be 32 bytes")
        if any(hmac.compare_digest(index, k) for k in data.values()):
            raise KeyError_(f"{source}: 索引密钥须与数据密钥不同 / index key must differ")
        return cls(active=active, data=data, index=index)

    def document(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "data": {k: _b64(v) for k, v in self.data.items()},
            "index": _b64(self.index),
        }

    def with_new_active_key(self) -> Keyring:
        """The same keyring plus a new random data key, made active (k1, k2, …)."""
        numbers = [int(k[1:]) for k in self.data if k[:1] == "k" and k[1:].isdigit()]
        key_id = f"k{max(numbers, default=0) + 1}"
        return Keyring(
            active=key_id, data={**self.data, key_id: secrets.token_bytes(32)}, index=self.index
        )

    # ------------------------------------------------------------ sealing

    @staticmethod
    def _aad(table: str, column: str, row_id: int) -> bytes:
        return f"{table}.{column}:{row_id}".encode()

    def seal(self, value: str, *, table: str, column: str, row_id: int) -> str:
        """ "v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>"; an empty value stays empty."""
        if value == "":
            return ""
        nonce = os.urandom(12)
        sealed = AESGCM(self.data[self.active]).encrypt(
            nonce, value.encode(), self._aad(table, column, row_id)
        )
        return f"{PREFIX}:{self.active}:{_b64(nonce + sealed)}"

    def open(self, token: str, *, table: str, column: str, row_id: int) -> str:
        if token == "":
            return ""
        try:
            prefix, key_id, body = token.split(":", 2)
            raw = _unb64(body)
        except ValueError as exc:
            raise Undecryptable(f"{table}.{column} of row {row_id} is not sealed") from exc
        if prefix != PREFIX or key_id not in self.data:
            raise Undecryptable(f"{table}.{column} of row {row_id}: unknown key {key_id}")
        try:
            plain = AESGCM(self.data[key_id]).decrypt(
                raw[:12], raw[12:], self._aad(table, column, row_id)
            )
        except InvalidTag as exc:
            raise Undecryptable(
                f"{table}.{column} of row {row_id} does not open here (moved or tampered)"
            ) from exc
        return plain.decode()

    def seal_bytes(self, value: bytes, *, table: str, column: str, row_id: int) -> bytes:
        """A file (a notice) sealed the same way: b"v1:<key id>:" ‖ nonce ‖ ciphertext ‖ tag."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.data[self.active]).encrypt(
            nonce, value, self._aad(table, column, row_id)
        )
        return f"{PREFIX}:{self.active}:".encode() + nonce + sealed

    def open_bytes(self, token: bytes, *, table: str, column: str, row_id: int) -> bytes:
        try:
            prefix, key_id, raw = token.split(b":", 2)
        except ValueError as exc:
            raise Undecryptable(f"{table}.{column} of row {row_id} is not sealed") from exc
        kid = key_id.decode(errors="replace")
        if prefix.decode(errors="replace") != PREFIX or kid not in self.data:
            raise Undecryptable(f"{table}.{column} of row {row_id}: unknown key {kid}")
        try:
            return AESGCM(self.data[kid]).decrypt(
                raw[:12], raw[12:], self._aad(table, column, row_id)
            )
        except InvalidTag as exc:
            raise Undecryptable(
                f"{table}.{column} of row {row_id} does not open here (moved or tampered)"
            ) from exc

    def key_of(self, token: str) -> str | None:
        return token.split(":", 2)[1] if token.count(":") >= 2 else None

    # ------------------------------------------------------------ blind index

    def blind(self, kind: str, value: str) -> str:
        """HMAC-SHA256 of a normalised value under the index key (empty for no value)."""
        if value == "":
            return ""
        return hmac.new(self.index, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def load_keyring(*, env_value: str, data_dir: Path, embedded: bool) -> tuple[Keyring, str | None]:
    """The keyring, and a note to print when a key file was just created (None otherwise)."""
    if env_value.strip():
        return Keyring.parse(env_value, ENV), None
    path = data_dir / KEY_FILE
    if path.is_file():
        return Keyring.parse(path.read_text(), str(path)), None
    if not embedded:
        raise KeyError_(
            f"没有数据密钥:请设置 {ENV}(或在 {path} 放置密钥文件) / "
            f"no data keys: set {ENV} or provide {path}"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    doc = new_keys_document()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(doc, handle, indent=1)
    note = (
        f"已生成数据密钥 {path}(权限0600)。请另行备份此文件:丢失它,数据库中加密的身份证号、"
        f"电话和地址将无法读取。 / Created the data keys {path}: back it up apart from the "
        "database."
    )
    return Keyring.parse(json.dumps(doc), str(path)), note
