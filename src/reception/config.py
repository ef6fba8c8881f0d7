"""Settings, read from the environment (RECEPTION_*) by the entry points (the app factory of a
worker process, each CLI command) and passed down from there: nothing below reads them itself."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo


def _default_data_dir() -> Path:
    return Path(os.environ.get("RECEPTION_DATA_DIR", Path.cwd() / "data"))


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    # A PostgreSQL streaming replica for the reports, exports and feeds (reception.reads);
    # empty: every read on the primary.
    read_database_url: str = ""
    data_dir: Path = field(default_factory=_default_data_dir)
    timezone: str = "Asia/Shanghai"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    # Echo SQL statements; only for debugging, never in production (it would log parameters).
    sql_echo: bool = False
    db_pool_size: int = 10
    # Case reference numbers: 蓟信〔2026〕00123.
    case_ref_prefix: str = "蓟信"
    # Calendar feeds: the window of sessions shown, and how often clients should poll.
    feed_past_days: int = 90
    feed_future_days: int = 548
    feed_ttl_minutes: int = 60
    # The data keys (JSON: active, data, index); empty → keys.json in the data directory.
    data_keys: str = field(default="", repr=False)
    # The cipher suite that seals: "aes" (AES-256-GCM, HMAC-SHA256, SHA-256) or "sm" (SM4-GCM,
    # HMAC-SM3, SM3 — what a 密评 expects); both read, see `reception keys rotate --to-suite`.
    cipher_suite: str = "aes"
    # The issuing office printed on notices, and where a petitioner asks for 复查.
    office_name: str = "天津市蓟州区信访办公室"
    review_body: str = "蓟州区人民政府"
    # The console: a session idle this long ends; however active, it ends after the hours.
    console_idle_minutes: int = 30
    console_session_hours: int = 12
    # Passwords (等保三级 §8.1.4.1): a person's own password is changed every this many days
    # (0: never asked), and may not repeat any of the last `password_history` ones.
    password_max_age_days: int = 90
    password_history: int = 5
    # The audit trail is kept at least this many days before it may be archived (网络安全法
    # art. 21: six months; the database's triggers hold 180 whatever this says).
    audit_retention_days: int = 180
    # A second factor (TOTP) for every role, not only the administrators (等保三级).
    require_2fa: bool = False
    # Cookies marked Secure (sent over HTTPS only): on when the public URL is https.
    cookie_secure: bool | None = None
    # How long after a reply's delivery the petitioner may rate it on their page: 0 (the
    # default) means until their own 复查/复核 request window ends.
    evaluation_days: int = 0
    # A client address behind this many proxies (X-Forwarded-For, right to left); 0 trusts
    # only the connection's own address.
    trusted_proxies: int = 0
    # Deadline reminders: this many working days before an office clock is due, per clock
    # kind (default 3); and the local hour from which tomorrow's reception digest is sent.
    reminder_days: dict[str, int] = field(default_factory=dict)
    digest_hour: int = 17
    # Deliver the outbox from inside `reception serve` (one loop per process; `reception
    # worker` does the same on its own).
    outbox_worker: bool = True
    # How long a worker holds a claimed delivery: a worker that dies mid-delivery leaves its
    # claim, and another sends it again (same webhook-id) once this has passed.
    outbox_lease_seconds: int = 120
    # Where LibreOffice kept warm behind unoserver converts notices to PDF (host:port; empty:
    # each PDF by a cold LibreOffice); `reception serve`/`worker` start it there. Its server
    # runs under the Python that has LibreOffice's `uno` (Debian: python3-uno).
    pdf_server: str = "127.0.0.1:2003"
    uno_python: str = "/usr/bin/python3"
    # Make a notice's PDF right after it is issued (else at its first download).
    pdf_ahead: bool = True
    # Ledgers brought in from spreadsheets: a file of more data rows than this is refused
    # (named in the report), and so is an upload larger than this many megabytes.
    import_max_rows: int = 100_000
    import_max_megabytes: int = 50
    # 矛盾纠纷排查台账: an entry is at least 较大 (serious) / 重大 (major) from this many people
    # or this amount in dispute (元) — "risk=people:amount" pairs; and its next review is this
    # many working days after a step, per risk level (the ledger's rules, ledger/rules.py).
    ledger_risk: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"serious": (5, 100_000), "major": (30, 1_000_000)}
    )
    ledger_ref_prefix: str = "蓟矛"
    ledger_review_days: dict[str, int] = field(
        default_factory=lambda: {"general": 10, "serious": 5, "major": 2}
    )
    # 督查督办: the monthly spot check draws this many cases per base unit (townships and
    # departments; fewer when the unit registered fewer that month), and a finding's
    # rectification is due this many working days after the check.
    spot_check_size: int = 5
    spot_check_fix_days: int = 10
    # The service's clock starts at this instant (ISO 8601 with offset) and runs on: for
    # training systems and tests that drive a real server. Empty: the real time.
    now: str = ""

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'reception.db'}"
            )
        ZoneInfo(self.timezone)  # fail at start-up, not at the first request
        if self.audit_retention_days < 180:
            raise ValueError(
                "RECEPTION_AUDIT_RETENTION_DAYS 不得少于 180 天(网络安全法第二十一条:留存不少于六个月)"
            )
        if self.now:
            from datetime import datetime

            instant = datetime.fromisoformat(self.now)
            if instant.tzinfo is None:
                raise ValueError("RECEPTION_NOW needs a UTC offset, e.g. 2026-12-01T09:00+08:00")

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.startswith("https://")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("RECEPTION_DATA_DIR", Path.cwd() / "data"))
        return cls(
            database_url=env.get("RECEPTION_DATABASE_URL", ""),
            read_database_url=env.get("RECEPTION_READ_DATABASE_URL", ""),
            data_dir=data_dir,
            timezone=env.get("RECEPTION_TIMEZONE", "Asia/Shanghai"),
            public_url=env.get("RECEPTION_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            log_level=env.get("RECEPTION_LOG_LEVEL", "INFO").upper(),
            sql_echo=env.get("RECEPTION_SQL_ECHO", "") in {"1", "true", "yes"},
            db_pool_size=int(env.get("RECEPTION_DB_POOL_SIZE", "10")),
            case_ref_prefix=env.get("RECEPTION_CASE_REF_PREFIX", "蓟信"),
            feed_past_days=int(env.get("RECEPTION_FEED_PAST_DAYS", "90")),
            feed_future_days=int(env.get("RECEPTION_FEED_FUTURE_DAYS", "548")),
            feed_ttl_minutes=int(env.get("RECEPTION_FEED_TTL_MINUTES", "60")),
            now=env.get("RECEPTION_NOW", ""),
            data_keys=env.get("RECEPTION_DATA_KEYS", ""),
            cipher_suite=env.get("RECEPTION_CIPHER_SUITE", "aes").strip().lower(),
            office_name=env.get("RECEPTION_OFFICE_NAME", "天津市蓟州区信访办公室"),
            review_body=env.get("RECEPTION_REVIEW_BODY", "蓟州区人民政府"),
            console_idle_minutes=int(env.get("RECEPTION_CONSOLE_IDLE_MINUTES", "30")),
            console_session_hours=int(env.get("RECEPTION_CONSOLE_SESSION_HOURS", "12")),
            password_max_age_days=int(env.get("RECEPTION_PASSWORD_MAX_AGE_DAYS", "90")),
            password_history=int(env.get("RECEPTION_PASSWORD_HISTORY", "5")),
            audit_retention_days=int(env.get("RECEPTION_AUDIT_RETENTION_DAYS", "180")),
            require_2fa=env.get("RECEPTION_REQUIRE_2FA", "") in {"1", "true", "yes"},
            cookie_secure={"1": True, "true": True, "0": False, "false": False}.get(
                env.get("RECEPTION_COOKIE_SECURE", "").lower()
            ),
            evaluation_days=int(env.get("RECEPTION_EVALUATION_DAYS", "0")),
            trusted_proxies=int(env.get("RECEPTION_TRUSTED_PROXIES", "0")),
            reminder_days=_kind_days(env.get("RECEPTION_REMINDER_DAYS", "")),
            digest_hour=int(env.get("RECEPTION_DIGEST_HOUR", "17")),
            outbox_worker=env.get("RECEPTION_OUTBOX_WORKER", "1") not in {"0", "false", "no"},
            outbox_lease_seconds=int(env.get("RECEPTION_OUTBOX_LEASE_SECONDS", "120")),
            pdf_server=env.get("RECEPTION_PDF_SERVER", "127.0.0.1:2003"),
            uno_python=env.get("RECEPTION_UNO_PYTHON", "/usr/bin/python3"),
            pdf_ahead=env.get("RECEPTION_PDF_AHEAD", "1") not in {"0", "false", "no"},
            import_max_rows=int(env.get("RECEPTION_IMPORT_MAX_ROWS", "100000")),
            import_max_megabytes=int(env.get("RECEPTION_IMPORT_MAX_MEGABYTES", "50")),
            ledger_risk=_risk_rules(
                env.get("RECEPTION_LEDGER_RISK", "serious=5:100000,major=30:1000000")
            ),
            ledger_ref_prefix=env.get("RECEPTION_LEDGER_REF_PREFIX", "蓟矛"),
            spot_check_size=int(env.get("RECEPTION_SPOT_CHECK_SIZE", "5")),
            spot_check_fix_days=int(env.get("RECEPTION_SPOT_CHECK_FIX_DAYS", "10")),
            ledger_review_days={
                "general": 10,
                "serious": 5,
                "major": 2,
                **_kind_days(env.get("RECEPTION_LEDGER_REVIEW_DAYS", "")),
            },
        )


def _kind_days(text: str) -> dict[str, int]:
    """ "accept=3,handle=5" → {"accept": 3, "handle": 5}."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, days = part.partition("=")
        out[kind.strip()] = int(days)
    return out


def _risk_rules(text: str) -> dict[str, tuple[int, int]]:
    """ "serious=5:100000,major=30:1000000" → {"serious": (5, 100000), "major": (30, 1000000)}:
    from how many people or what amount (元) an entry is at least that risky."""
    out: dict[str, tuple[int, int]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        risk, _, rule = part.partition("=")
        people, _, amount = rule.partition(":")
        if risk.strip() not in ("serious", "major"):
            raise ValueError(
                f"RECEPTION_LEDGER_RISK: 风险等级只能是 serious 或 major,不是 {risk!r}"
            )
        out[risk.strip()] = (int(people), int(amount))
    return out


def get_settings() -> Settings:
    """The settings in the environment now (entry points only; services get them passed)."""
    return Settings.from_env()
