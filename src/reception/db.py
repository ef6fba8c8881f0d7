"""Engine and session factory, SQLite pragmas, and the UTC datetime column type."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar.di import NamedDependency
from sqlalchemy import (
    DateTime,
    event,
    func,
    inspect,
    literal,
    make_url,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from reception.config import Settings
from reception.errors import Broken, Conflict, NotFound

# Named constraints let SQLite batch migrations drop them, and keep names equal on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The per-request session, as handlers declare it.
DB = NamedDependency[AsyncSession]

# Execution option that asks SQLite for BEGIN IMMEDIATE: a request that reads and then writes
# must hold the write lock from its first statement, or concurrent writers deadlock into
# "database is locked" (PITFALLS.md).
SQLITE_WRITE = "reception_sqlite_write"


# Pooled PostgreSQL connections older than this are closed and replaced at checkout.
POOL_RECYCLE_SECONDS = 1800

# Every connection plans each statement for its own parameters: asyncpg runs them as cached
# prepared statements, and after five executions PostgreSQL may switch to a generic plan that
# ignores the dates and the subtree of a heavy aggregate (measured: 5.5 s instead of 0.16 s for
# the review on a million cases, 0.64 s instead of 0.03 s for the ledger's monthly table at
# 200,000 entries, 375 ms instead of 75 ms for a worklist page). Planning afresh costs well
# under a millisecond, and set once per connection it costs no statement per request.
CUSTOM_PLANS = {"plan_cache_mode": "force_custom_plan"}


# Where a session carries the clock of the request (or command) it serves: every "now" a
# service stamps comes from there (`now_of`), so a test's clock rules everything.
CLOCK = "reception.clock"


AUDIT_SEAL = "audit_seal"


def now_of(session: AsyncSession | Session) -> datetime:
    """The current instant of the request or command this session serves (UTC)."""
    clock = session.info.get(CLOCK)
    if clock is None:
        raise Broken("expected: a database session made by create_sessionmaker(engine, clock)")
    now: datetime = clock.now()
    return now


STAMP = "reception.stamp"


def stamped(**kwargs: Any) -> Any:
    """An instant column a new row gets the session's now in, unless the code set it (a
    row's created_at, updated_at …): from the request's clock, never the wall clock."""
    return Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"info": {STAMP: True}},
        **kwargs,
    )


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    now = None
    for row in session.new:
        for column in inspect(row).mapper.columns:
            if column.info.get(STAMP) and getattr(row, column.key) is None:
                now = now or now_of(session)
                setattr(row, column.key, now)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: refuses naive values, stores UTC, and reads back aware UTC on every backend.

    SQLite's DateTime(timezone=True) silently drops the offset; this keeps it honest.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: instants must carry a UTC offset")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def create_engine(settings: Settings, *, custom_plans: bool = True) -> AsyncEngine:
    """`custom_plans=False`: PostgreSQL keeps its cached plans (see CUSTOM_PLANS) — for the
    calendar feeds' one-statement poll, the same for every feed and cheaper to run than to
    plan again."""
    # hide_parameters: statement parameters (petitioners' names, phones, ID numbers) must never
    # reach a log or an error message.
    kwargs: dict[str, Any] = {"echo": settings.sql_echo, "hide_parameters": True}
    if settings.is_sqlite:
        path = make_url(settings.database_url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 60}
    else:
        kwargs["pool_size"] = settings.db_pool_size
        kwargs["max_overflow"] = settings.db_pool_size
        # No pool_pre_ping: on asyncpg it costs 3 round trips (BEGIN; ";"; ROLLBACK) per
        # checkout. Connections are replaced after POOL_RECYCLE_SECONDS instead, and one that
        # died meanwhile fails its request with a DBAPIError (a 503 problem, errors.py);
        # SQLAlchemy then invalidates it and every older pooled connection, so the next
        # request gets a fresh one.
        kwargs["pool_recycle"] = POOL_RECYCLE_SECONDS
        if custom_plans:
            kwargs["connect_args"] = {"server_settings": CUSTOM_PLANS}
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.is_sqlite:
        _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit BEGIN is deferred and late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted and rewritten rows are zeroed, not left in free pages of the file (a key
        # rotation or a correction must not leave the old bytes behind for a copy to find).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(SQLITE_WRITE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def create_sessionmaker(
    engine: AsyncEngine, clock: Any, keys: Any = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions for the engine, each carrying `clock` (reception.context.Clock) and, given
    the data keys, what the audit chain is sealed with (their suite's hash, the audit key)."""
    info: dict[str, Any] = {CLOCK: clock}
    if keys is not None:
        info[AUDIT_SEAL] = keys.audit_seal()
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


# ---------------------------------------------------------------- migrations


def _project_file(name: str) -> Path:
    # An editable install or the source tree (Docker copies it to /app): alembic/ sits at the root.
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(f"{name} not found next to the source tree or in {Path.cwd()}")


def alembic_config(database_url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(_project_file("alembic.ini")))
    cfg.set_main_option("script_location", str(_project_file("alembic")))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def migrate(database_url: str, action: str = "upgrade", revision: str = "head") -> None:
    """Run an Alembic command. Blocking: from async code call it via asyncio.to_thread."""
    from alembic import command

    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(database_url)
    if action == "upgrade":
        command.upgrade(cfg, revision)
    elif action == "downgrade":
        command.downgrade(cfg, revision)
    elif action == "current":
        command.current(cfg, verbose=False)
    else:
        raise ValueError(f"unknown migration action {action!r}")


@asynccontextmanager
async def committed(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A request's one transaction: committed when the block ends (before the response is
    sent), rolled back on any error."""
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    else:
        await session.commit()


async def flush_refused(
    session: AsyncSession, *rows: Any, then: Callable[[], Awaitable[None]] | None = None
) -> IntegrityError | None:
    """Add `rows` (and do `then`) and flush in a savepoint. When the database refuses it — a
    unique, check, exclusion or foreign-key constraint: a concurrent twin, a clash — the
    refusal is returned and only the savepoint is rolled back; the transaction goes on."""
    try:
        async with session.begin_nested():
            session.add_all(rows)
            await session.flush()
            if then is not None:
                await then()
    except IntegrityError as exc:
        return exc
    return None


async def flush_or_conflict(session: AsyncSession, message: str, *rows: Any, **extra: Any) -> None:
    """`flush_refused`, the refusal answered as a 409 with `message` (Chinese, for a person)."""
    refused = await flush_refused(session, *rows)
    if refused is not None:
        raise Conflict(message, **extra) from refused


# Ids per IN list: asyncpg takes at most 32,767 parameters in one statement.
IN_LIST_MAX = 5000


def in_parts(ids: Sequence[Any], size: int = IN_LIST_MAX) -> list[Sequence[Any]]:
    """`ids` in slices short enough for one IN list each."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT into `table` that takes ON CONFLICT (DO NOTHING / DO UPDATE), in the
    session's dialect: PostgreSQL's or SQLite's construct (both spell it the same)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def next_id_of(model: Any) -> Any:
    """SQL for the next id of `model`'s table from its sequence (PostgreSQL), to take inside
    a statement that runs anyway (a booking's slot UPDATE … RETURNING) or in `next_ids`."""
    return func.nextval(func.pg_get_serial_sequence(model.__tablename__, "id"))


async def next_ids(session: AsyncSession, wanted: dict[Any, int]) -> dict[Any, list[int]]:
    """Ids for new rows (`{model: how many}`), known before their INSERT, so what needs the
    id (sealed values: it is in their associated data) goes in the INSERT, with no UPDATE
    after it. PostgreSQL: from the tables' sequences, in one statement. SQLite: the last id
    + 1 …, which is what SQLite itself would give, and holds only under its one write lock (a
    writing request takes it at its BEGIN IMMEDIATE; a concurrent writer fails on its stale
    snapshot)."""
    models = list(wanted)
    out: dict[Any, list[int]] = {m: [] for m in models}
    if session.get_bind().dialect.name == "postgresql":
        parts = [
            select(literal(i), next_id_of(model)).select_from(
                func.generate_series(1, wanted[model])
            )
            for i, model in enumerate(models)
        ]
        for i, new_id in await session.execute(union_all(*parts)):
            out[models[i]].append(int(new_id))
        return {m: sorted(ids) for m, ids in out.items()}
    for model in models:
        last = int(await session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0)
        out[model] = list(range(last + 1, last + 1 + wanted[model]))
    return out


async def next_in_counter(session: AsyncSession, model: Any, count: int = 1, **key: Any) -> int:
    """The next number of a counter row (`last` + 1) — a year's case references, a kind's
    document numbers: one UPDATE … RETURNING, serialised by the row lock, so concurrent callers
    get consecutive numbers and a rolled-back one gives its number back. The row is made the
    first time (a concurrent twin's refusal is fine: the row is there). `count` takes a block
    of numbers at once (an import): the last of them is returned."""
    statement = (
        update(model)
        .where(*(getattr(model, k) == v for k, v in key.items()))
        .values(last=model.last + count)
        .returning(model.last)
    )
    seq = (await session.execute(statement)).scalar_one_or_none()
    if seq is None:
        await flush_refused(session, model(**key, last=0))
        seq = (await session.execute(statement)).scalar_one()
    return int(seq)


async def get_in_scope(
    session: AsyncSession,
    model: Any,
    row_id: int,
    scope: Any,
    *,
    missing: str,
    for_update: bool = False,
) -> Any:
    """One row by id if the caller's `scope` (a WHERE clause, or None for the command line)
    lets him see it; else NotFound with `missing` — the same answer as for no row at all, so
    existence outside one's scope does not leak. `for_update` locks the row."""
    query = select(model).where(model.id == row_id)
    if scope is not None:
        query = query.where(scope)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = await session.scalar(query)
    if row is None:
        raise NotFound(missing)
    return row


async def paginate(
    session: AsyncSession, query: Any, *order_by: Any, limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of a list query, and the total number of rows it matches."""
    from sqlalchemy import func

    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(*order_by).limit(limit).offset(offset))
    return list(rows.all()), total
