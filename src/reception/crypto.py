"""Petitioners' data at rest: field encryption, keyed-hash blind indexes, checksums — under
one of two cipher suites.

`aes` (the first one): AES-256-GCM for sealed values, HMAC-SHA256 for blind indexes, SHA-256 for
checksums. `sm` (GB/T 39786 密评): SM4-GCM (GB/T 32907), HMAC-SM3 and SM3 (GB/T 32905). Composition
only — `cryptography` over OpenSSL 3 does every primitive; nothing here is home-made cipher code.

A sealed value names its algorithm and key: "v1:<key>:…" is AES-256-GCM (every value written
before the SM suite), "v2:sm4:<key>:…" is SM4-GCM; a random 96-bit nonce per value, and the table,
column and row id as associated data (a value copied to another row or column does not open).
So both suites read while `reception keys rotate --to-suite sm` re-seals a database online.

The key document (RECEPTION_DATA_KEYS, or `keys.json` in the data directory for the embedded
default): data keys by id — 32 bytes for AES-256, 16 bytes for SM4 —, which key is active for
each suite, and the index key. RECEPTION_CIPHER_SUITE picks the suite that seals. A document may
instead hold its keys wrapped by a key-encryption key kept outside (`"kek"`: a file here; a
服务器密码机 over PKCS#11 or a KMS through a provider, see docs/密码应用方案.md), unwrapped at
start-up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "keys.json"
ENV = "RECEPTION_DATA_KEYS"
SUITES = ("aes", "sm")
# A suite's data keys are this long; the algorithm that seals and its token prefix.
KEY_BYTES = {"aes": 32, "sm": 16}
ALGORITHM = {"aes": "AES-256-GCM", "sm": "SM4-GCM"}
INDEX_ALGORITHM = {"aes": "HMAC-SHA256", "sm": "HMAC-SM3"}
CHECKSUM_ALGORITHM = {"aes": "SHA-256", "sm": "SM3"}
_CHECKSUM_TAG = {"aes": "sha256", "sm": "sm3"}


class KeyError_(RuntimeError):
    """The keys are missing, malformed, or do not open the data (a clear start-up error)."""


class Undecryptable(ValueError):
    """A stored value that does not open with the keys and its place (moved, or tampered)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


# ---------------------------------------------------------------- the primitives, by suite


def openssl_version() -> str:
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text())


def _sm4_gcm_encrypt(key: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(plain) + encryptor.finalize() + encryptor.tag


def _sm4_gcm_decrypt(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 16:
        raise InvalidTag
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, sealed[-16:])).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(sealed[:-16]) + decryptor.finalize()


def _encrypt(suite: str, key: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    if suite == "sm":
        return _sm4_gcm_encrypt(key, nonce, plain, aad)
    return AESGCM(key).encrypt(nonce, plain, aad)


def _decrypt(suite: str, key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if suite == "sm":
        return _sm4_gcm_decrypt(key, nonce, sealed, aad)
    return AESGCM(key).decrypt(nonce, sealed, aad)


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def mac(suite: str, key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (suite sm) or HMAC-SHA256 (suite aes)."""
    if suite == "sm":
        h = crypto_hmac.HMAC(key, hashes.SM3())
        h.update(data)
        return h.finalize()
    return hmac.new(key, data, hashlib.sha256).digest()


def checksum(suite: str, content: bytes) -> str:
    """A file's checksum naming its algorithm: "sm3:<hex>" or "sha256:<hex>"."""
    digest = sm3(content) if suite == "sm" else hashlib.sha256(content).digest()
    return f"{_CHECKSUM_TAG[suite]}:{digest.hex()}"


def checksum_matches(stored: str, content: bytes) -> bool:
    """Whether content is what the stored checksum (of either suite) describes."""
    tag, _, _ = stored.partition(":")
    suite = {v: k for k, v in _CHECKSUM_TAG.items()}.get(tag)
    return suite is not None and hmac.compare_digest(checksum(suite, content), stored)


def require_sm() -> None:
    """Refuse clearly where this OpenSSL lacks SM4-GCM or SM3 (OpenSSL 3 built without them):
    the GB/T 32907 and GB/T 32905 examples must come out as the standards print them."""
    try:
        key = bytes.fromhex("0123456789abcdeffedcba9876543210")
        block = Cipher(algorithms.SM4(key), modes.ECB()).encryptor().update(key)
        ok = block.hex() == SM4_EXAMPLE and sm3(b"abc").hex() == SM3_EXAMPLE
        ok = (
            ok
            and _sm4_gcm_decrypt(key, b"\0" * 12, _sm4_gcm_encrypt(key, b"\0" * 12, b"x", b""), b"")
            == b"x"
        )
    except (UnsupportedAlgorithm, InvalidTag, ValueError) as exc:
        raise KeyError_(
            f"RECEPTION_CIPHER_SUITE=sm 需要支持 SM4-GCM 与 SM3 的 OpenSSL 3,本机为 "
            f"{openssl_version()}:请升级 cryptography/OpenSSL / this OpenSSL lacks SM4-GCM or SM3"
        ) from exc
    if not ok:
        raise KeyError_(
            f"{openssl_version()} 的 SM4/SM3 结果与国家标准示例不符 / SM self-test failed"
        )


# GB/T 32907-2016 附录 A 示例 1 (key = plaintext), and GB/T 32905-2016 附录 A 示例 1 ("abc").
SM4_EXAMPLE = "681edf34d206965e86b3e94f536e4246"
SM3_EXAMPLE = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


# ---------------------------------------------------------------- keys wrapped by a KEK


class KeyEncryptionKey(Protocol):
    """Where the data keys are wrapped and unwrapped: a file here; a 服务器密码机 (PKCS#11) or a
    KMS through a provider named in the key document (docs/密码应用方案.md)."""

    def wrap(self, key: bytes, label: str) -> bytes: ...

    def unwrap(self, blob: bytes, label: str) -> bytes: ...


@dataclass(frozen=True)
class FileKek:
    """A KEK held in a file apart from the key document (base64 of 16 bytes → SM4-GCM wraps,
    32 bytes → AES-256-GCM), the label (the key's id) bound as associated data."""

    key: bytes

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FileKek:
        path = Path(str(config.get("path", "")))
        try:
            key = _unb64(path.read_text().strip())
        except (OSError, ValueError) as exc:
            raise KeyError_(f"读不出密钥加密密钥文件 {path} / cannot read the KEK file") from exc
        if len(key) not in (16, 32):
            raise KeyError_(f"{path}: 密钥加密密钥须为 16 字节(SM4)或 32 字节(AES) / bad KEK")
        return cls(key)

    @property
    def suite(self) -> str:
        return "sm" if len(self.key) == 16 else "aes"

    def wrap(self, key: bytes, label: str) -> bytes:
        nonce = os.urandom(12)
        aad = f"reception-data-key:{label}".encode()
        return nonce + _encrypt(self.suite, self.key, nonce, key, aad)

    def unwrap(self, blob: bytes, label: str) -> bytes:
        aad = f"reception-data-key:{label}".encode()
        try:
            return _decrypt(self.suite, self.key, blob[:12], blob[12:], aad)
        except InvalidTag as exc:
            raise KeyError_(
                f"密钥加密密钥解不开数据密钥 {label} / the KEK does not unwrap {label}"
            ) from exc


def kek_from(config: Any, source: str) -> KeyEncryptionKey:
    """The KEK a key document names: {"provider": "file", "path": …} or {"provider":
    "package.module:factory", …} — a factory taking the config and returning a KEK."""
    if not isinstance(config, dict):
        raise KeyError_(f"{source}: kek 须为对象 / kek must be an object")
    provider = str(config.get("provider", "file"))
    if provider == "file":
        return FileKek.from_config(config)
    module, _, name = provider.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise KeyError_(
            f"{source}: 找不到密钥加密密钥提供者 {provider} / unknown KEK provider"
        ) from exc
    kek: KeyEncryptionKey = factory(config)
    return kek


# ---------------------------------------------------------------- the keyring


def new_keys_document(suite: str = "aes", kek: KeyEncryptionKey | None = None) -> dict[str, Any]:
    key_id = "k1" if suite == "aes" else "s1"
    doc: dict[str, Any] = {
        "active": {suite: key_id},
        "data": {key_id: _b64(secrets.token_bytes(KEY_BYTES[suite]))},
        "index": _b64(secrets.token_bytes(32)),
        "audit": _b64(secrets.token_bytes(32)),
    }
    return wrapped_document(doc, kek) if kek is not None else doc


def wrapped_document(doc: dict[str, Any], kek: KeyEncryptionKey) -> dict[str, Any]:
    """A plain key document with its keys wrapped by the KEK (the document then names the KEK's
    config under "kek" — the caller adds it)."""
    data = {k: _b64(kek.wrap(_unb64(v), k)) for k, v in doc["data"].items()}
    out = {**doc, "data": data, "index": _b64(kek.wrap(_unb64(doc["index"]), "index"))}
    if doc.get("audit"):
        out["audit"] = _b64(kek.wrap(_unb64(doc["audit"]), "audit"))
    return out


def suite_of(key: bytes) -> str:
    return "sm" if len(key) == KEY_BYTES["sm"] else "aes"


@dataclass(frozen=True)
class Keyring:
    """The data keys (id → key; 32 bytes AES-256, 16 bytes SM4), the active key per suite, the
    index key, and the suite that seals now."""

    actives: dict[str, str]
    data: dict[str, bytes]
    index: bytes
    suite: str = "aes"
    kek: dict[str, Any] | None = field(default=None, compare=False)
    # The key of the audit trail's daily checkpoints (HMAC), apart from the data keys.
    audit: bytes | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str, source: str, suite: str = "aes") -> Keyring:
        if suite not in SUITES:
            raise KeyError_(f"RECEPTION_CIPHER_SUITE 须为 aes 或 sm,而不是 {suite!r}")
        try:
            doc = json.loads(text)
            kek_config = doc.get("kek")
            raw_data = {str(k): _unb64(v) for k, v in doc["data"].items()}
            raw_index = _unb64(doc["index"])
            raw_audit = _unb64(doc["audit"]) if doc.get("audit") else None
            active = doc["active"]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyError_(
                f"{source} 中的密钥格式有误(须为 JSON: active, data, index) / "
                f"{source} is not a valid key document"
            ) from exc
        if kek_config is not None:
            kek = kek_from(kek_config, source)
            raw_data = {k: kek.unwrap(v, k) for k, v in raw_data.items()}
            raw_index = kek.unwrap(raw_index, "index")
            raw_audit = kek.unwrap(raw_audit, "audit") if raw_audit is not None else None
        if isinstance(active, str):  # the first form: one active key, of the suite its size says
            actives = {suite_of(raw_data[active]) if active in raw_data else "aes": active}
        elif isinstance(active, dict):
            actives = {str(k): str(v) for k, v in active.items()}
        else:
            raise KeyError_(f"{source}: active 须为密钥编号或 {{套件: 密钥编号}} / bad active")
        for s, key_id in actives.items():
            if s not in SUITES or key_id not in raw_data:
                raise KeyError_(f"{source}: 启用的密钥 {key_id} 不在 data 中 / active key missing")
            if len(raw_data[key_id]) != KEY_BYTES[s]:
                raise KeyError_(f"{source}: {s} 套件的密钥 {key_id} 长度不对 / wrong key size")
        if any(len(k) not in KEY_BYTES.values() for k in raw_data.values()) or len(raw_index) != 32:
            raise KeyError_(
                f"{source}: 数据密钥须为32字节(AES)或16字节(SM4),索引密钥32字节(base64) / "
                "keys must be 32 bytes (AES) or 16 (SM4), the index key 32"
            )
        if any(hmac.compare_digest(raw_index[: len(k)], k) for k in raw_data.values()):
            raise KeyError_(f"{source}: 索引密钥须与数据密钥不同 / index key must differ")
        if suite not in actives:
            raise KeyError_(
                f"RECEPTION_CIPHER_SUITE={suite},但 {source} 中没有 {ALGORITHM[suite]} 密钥:"
                f"请先运行 reception keys add --suite {suite} / no {suite} key in the document"
            )
        if suite == "sm" or any(suite_of(k) == "sm" for k in raw_data.values()):
            require_sm()
        return cls(
            actives=actives,
            data=raw_data,
            index=raw_index,
            suite=suite,
            kek=kek_config,
            audit=raw_audit,
        )

    @property
    def active(self) -> str:
        return self.actives[self.suite]

    @property
    def suites(self) -> set[str]:
        """The suites this keyring holds keys of: both while a database moves from one to the other."""
        return {suite_of(k) for k in self.data.values()}

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "active": dict(self.actives),
            "data": {k: _b64(v) for k, v in self.data.items()},
            "index": _b64(self.index),
        }
        if self.audit is not None:
            doc["audit"] = _b64(self.audit)
        if self.kek is not None:
            doc = {**wrapped_document(doc, kek_from(self.kek, "kek")), "kek": self.kek}
        return doc

    def with_new_active_key(self, suite: str | None = None) -> Keyring:
        """The same keyring plus a new random data key of the suite (this one by default), made
        active for it and sealing (k1, k2, … for AES; s1, s2, … for SM4)."""
        suite = suite or self.suite
        letter = "k" if suite == "aes" else "s"
        numbers = [int(k[1:]) for k in self.data if k[:1] == letter and k[1:].isdigit()]
        key_id = f"{letter}{max(numbers, default=0) + 1}"
        return Keyring(
            actives={**self.actives, suite: key_id},
            data={**self.data, key_id: secrets.token_bytes(KEY_BYTES[suite])},
            index=self.index,
            suite=suite,
            kek=self.kek,
            audit=self.audit,
        )

    def audit_seal(self) -> tuple[str, bytes]:
        """What the audit chain is sealed with: this suite's hash, and the audit key (a key
        document from before the audit key derives one from the index key)."""
        return self.suite, self.audit or mac("aes", self.index, b"audit-checkpoint")

    # ------------------------------------------------------------ sealing

    def prefix(self, key_id: str | None = None) -> str:
        """The prefix of a value sealed under the key: "v1:k1:" (AES) or "v2:sm4:s1:" (SM4)."""
        key_id = key_id or self.active
        return f"v2:sm4:{key_id}:" if suite_of(self.data[key_id]) == "sm" else f"v1:{key_id}:"

    @staticmethod
    def _aad(table: str, column: str, row_id: int) -> bytes:
        return f"{table}.{column}:{row_id}".encode()

    def _seal_raw(self, value: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + _encrypt(self.suite, self.data[self.active], nonce, value, aad)

    def _open_raw(self, key_id: str, algorithm: str, raw: bytes, aad: bytes, where: str) -> bytes:
        key = self.data.get(key_id)
        if key is None or suite_of(key) != algorithm:
            raise Undecryptable(f"{where}: unknown key {key_id}")
        try:
            return _decrypt(algorithm, key, raw[:12], raw[12:], aad)
        except InvalidTag as exc:
            raise Undecryptable(f"{where} does not open here (moved or tampered)") from exc

    def seal(self, value: str, *, table: str, column: str, row_id: int) -> str:
        """ "v1:<key>:<base64(nonce ‖ ciphertext ‖ tag)>" or "v2:sm4:<key>:…"; empty stays empty."""
        if value == "":
            return ""
        sealed = self._seal_raw(value.encode(), self._aad(table, column, row_id))
        return self.prefix() + _b64(sealed)

    def open(self, token: str, *, table: str, column: str, row_id: int) -> str:
        if token == "":
            return ""
        where = f"{table}.{column} of row {row_id}"
        try:
            algorithm, key_id, body = _split(token)
            raw = _unb64(body)
        except ValueError as exc:
            raise Undecryptable(f"{where} is not sealed") from exc
        aad = self._aad(table, column, row_id)
        return self._open_raw(key_id, algorithm, raw, aad, where).decode()

    def seal_bytes(self, value: bytes, *, table: str, column: str, row_id: int) -> bytes:
        """A file (a notice) sealed the same way: b"v1:<key>:" or b"v2:sm4:<key>:" ‖ nonce ‖
        ciphertext ‖ tag."""
        return self.prefix().encode() + self._seal_raw(value, self._aad(table, column, row_id))

    def open_bytes(self, token: bytes, *, table: str, column: str, row_id: int) -> bytes:
        where = f"{table}.{column} of row {row_id}"
        try:
            if token.startswith(b"v2:"):
                _, alg, kid, raw = token.split(b":", 3)
                algorithm = {b"sm4": "sm"}[alg]
            else:
                prefix, kid, raw = token.split(b":", 2)
                if prefix != b"v1":
                    raise ValueError(prefix)
                algorithm = "aes"
        except (ValueError, KeyError) as exc:
            raise Undecryptable(f"{where} is not sealed") from exc
        aad = self._aad(table, column, row_id)
        return self._open_raw(kid.decode(errors="replace"), algorithm, raw, aad, where)

    def key_of(self, token: str) -> str | None:
        try:
            return _split(token)[1]
        except ValueError:
            return None

    # ------------------------------------------------------------ blind index, MAC, checksum

    def blind(self, kind: str, value: str) -> str:
        """The keyed hash of a normalised value under the index key (HMAC-SM3 or HMAC-SHA256, per
        the suite), hex; empty for no value."""
        if value == "":
            return ""
        return mac(self.suite, self.index, f"{kind}:{value}".encode()).hex()

    def blinds(self, kind: str, value: str) -> list[str]:
        """Every index a stored row may hold for the value: this suite's, and while the keyring
        holds keys of the other suite too (a database moving between suites), that one's."""
        if value == "":
            return [""]
        data = f"{kind}:{value}".encode()
        others = sorted(self.suites - {self.suite})
        return [self.blind(kind, value)] + [mac(s, self.index, data).hex() for s in others]

    def mac(self, label: str, data: bytes = b"") -> bytes:
        """A MAC for the service's own tokens (CSRF, the portal's tickets) under a key derived
        from the index key for the label."""
        return mac(self.suite, mac(self.suite, self.index, label.encode()), data)

    def checksum(self, content: bytes) -> str:
        return checksum(self.suite, content)


def _split(token: str) -> tuple[str, str, str]:
    """(suite, key id, body) of a sealed text value; ValueError when it is not one."""
    if token.startswith("v2:"):
        _, alg, key_id, body = token.split(":", 3)
        if alg != "sm4":
            raise ValueError(alg)
        return "sm", key_id, body
    prefix, key_id, body = token.split(":", 2)
    if prefix != "v1":
        raise ValueError(prefix)
    return "aes", key_id, body


def load_keyring(
    *, env_value: str, data_dir: Path, embedded: bool, suite: str = "aes"
) -> tuple[Keyring, str | None]:
    """The keyring, and a note to print when a key file was just created (None otherwise)."""
    if env_value.strip():
        return Keyring.parse(env_value, ENV, suite), None
    path = data_dir / KEY_FILE
    if path.is_file():
        return Keyring.parse(path.read_text(), str(path), suite), None
    if not embedded:
        raise KeyError_(
            f"没有数据密钥:请设置 {ENV}(或在 {path} 放置密钥文件) / "
            f"no data keys: set {ENV} or provide {path}"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    doc = new_keys_document(suite)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(doc, handle, indent=1)
    note = (
        f"已生成数据密钥 {path}(权限0600)。请另行备份此文件:丢失它,数据库中加密的身份证号、"
        f"电话和地址将无法读取。 / Created the data keys {path}: back it up apart from the "
        "database."
    )
    return Keyring.parse(json.dumps(doc), str(path), suite), note
