"""create_app(settings) -> Litestar: the one place the service is wired together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any

from litestar import Litestar, MediaType, Request, Router, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import reception.models  # noqa: F401  (the whole metadata, so every foreign key resolves)
from reception import __version__, openapi, reads
from reception.audit import pages as audit_pages
from reception.audit.controllers import AuditController
from reception.audit.reads import audit_whole_reads
from reception.auth import duties
from reception.boundary import boundary_middleware
from reception.campaigns.controllers import CampaignController
from reception.cases import pages as cases_pages
from reception.cases import registration_pages, worklist_pages
from reception.cases.clocks import apply_calendar_year, running_dues
from reception.cases.controllers import (
    CaseController,
    CategoryController,
    DeliveryController,
    LeaderCasesController,
)
from reception.config import Settings, get_settings
from reception.context import Clock, Context
from reception.db import SQLITE_WRITE, committed, create_engine, create_sessionmaker
from reception.documents import pages as documents_pages
from reception.documents import template_pages
from reception.documents.controllers import (
    CaseDocumentController,
    DocumentController,
    DocumentKindController,
    DocumentTemplateController,
)
from reception.errors import exception_handlers
from reception.feeds import pages as feeds_pages
from reception.feeds.controllers import FeedController, SessionIcsController, feed_ics
from reception.imports import pages as imports_pages
from reception.imports.controllers import ImportController
from reception.ledger import pages as ledger_pages
from reception.ledger import period_pages as ledger_period_pages
from reception.ledger.controllers import (
    LedgerController,
    LedgerOfCaseController,
    SensitivePeriodController,
)
from reception.notify import outbox
from reception.notify import pages as notify_pages
from reception.notify import worker as notify_worker
from reception.notify.controllers import NotifyController
from reception.org import pages as org_pages
from reception.org import signin, signin_pages, twofactor_pages, unit_pages
from reception.org.controllers import (
    LeaderController,
    MeController,
    TokenController,
    UnitController,
    UserController,
    VenueController,
)
from reception.org.principals import TokenAuthMiddleware
from reception.portal import pages as portal_pages
from reception.proxy import controllers as proxy_controllers
from reception.proxy import pages as proxy_pages
from reception.reports import pages as reports_pages
from reception.reports.controllers import IncidentController, ReportController
from reception.scheduling import booking_pages, leader_pages, rule_pages
from reception.scheduling import pages as scheduling_pages
from reception.scheduling.controllers import (
    AppointmentController,
    RuleController,
    SessionCasesController,
    SessionController,
)
from reception.scheduling.service import scheduled_between
from reception.supervision import conference_pages as supervision_conference_pages
from reception.supervision import controllers as supervision_controllers
from reception.supervision import inquiry_pages as supervision_inquiry_pages
from reception.supervision import pages as supervision_pages
from reception.web import console
from reception.web.render import template_config
from reception.workcal import pages as workcal_pages
from reception.workcal.controllers import CalendarController
from reception.workcal.service import ensure_years

# Routes under /api (bearer token required).
API_HANDLERS: list[Any] = [
    UnitController,
    LeaderController,
    VenueController,
    UserController,
    TokenController,
    MeController,
    AuditController,
    FeedController,
    SessionIcsController,
    CalendarController,
    RuleController,
    SessionController,
    AppointmentController,
    CaseController,
    DeliveryController,
    LeaderCasesController,
    CategoryController,
    CampaignController,
    SessionCasesController,
    ReportController,
    IncidentController,
    CaseDocumentController,
    DocumentController,
    DocumentKindController,
    DocumentTemplateController,
    NotifyController,
    ImportController,
    LedgerController,
    LedgerOfCaseController,
    SensitivePeriodController,
    *supervision_controllers.CONTROLLERS,
    *proxy_controllers.CONTROLLERS,
]
# Routes outside /api with their own access rule (e.g. secret feed URLs).
PUBLIC_HANDLERS: list[Any] = [feed_ics]
# The console: pages for people signed in with a password (a session cookie), and the sign-in.
CONSOLE_PAGES: list[Any] = [
    *signin_pages.PAGES,
    *twofactor_pages.PAGES,
    *audit_pages.PAGES,
    *scheduling_pages.PAGES,
    *booking_pages.PAGES,
    *leader_pages.PAGES,
    *rule_pages.PAGES,
    *cases_pages.PAGES,
    *worklist_pages.PAGES,
    *registration_pages.PAGES,
    *documents_pages.PAGES,
    *template_pages.PAGES,
    *reports_pages.PAGES,
    *feeds_pages.PAGES,
    *org_pages.PAGES,
    *unit_pages.PAGES,
    *workcal_pages.PAGES,
    *imports_pages.PAGES,
    *ledger_pages.PAGES,
    *ledger_period_pages.PAGES,
    *notify_pages.PAGES,
    *supervision_pages.PAGES,
    *supervision_inquiry_pages.PAGES,
    *supervision_conference_pages.PAGES,
    *proxy_pages.PAGES,
]
CONSOLE_PUBLIC_PAGES: list[Any] = [*signin_pages.PUBLIC_PAGES]

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_db(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    async with request.app.state.sessionmaker() as session:
        if request.method not in _READ_METHODS:
            await session.connection(execution_options={SQLITE_WRITE: True})
        async with committed(session):
            yield session
    if request.method not in _READ_METHODS:
        await reads.remember_write(request)


def provide_ctx(state: State) -> Context:
    ctx: Context = state.ctx
    return ctx


def provide_apply_year() -> Any:
    # The calendar's writes recompute the cases' clocks: wired here, where both are known.
    return apply_calendar_year


# What the calendar import's preview reads of cases and sessions (workcal imports neither).
YEAR_EFFECTS = SimpleNamespace(clock_dues=running_dues, scheduled_sessions=scheduled_between)


def provide_year_effects() -> Any:
    return YEAR_EFFECTS


MIDDLEWARE = [
    console.security_headers,
    boundary_middleware,
    audit_whole_reads,
    reads.wal_cookie_middleware,
]
DEPENDENCIES = {
    "db": Provide(provide_db),
    "reads": Provide(reads.provide_reads),
    "ctx": Provide(provide_ctx, sync_to_thread=False),
    "apply_year": Provide(provide_apply_year, sync_to_thread=False),
    "year_effects": Provide(provide_year_effects, sync_to_thread=False),
}


@get("/health", tags=["health"], media_type=MediaType.JSON, cache_control=None)
async def health(state: State) -> dict[str, str]:
    try:
        async with state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        raise HTTPException(status_code=503, detail="database unreachable") from exc
    return {"status": "ok", "database": state.engine.dialect.name, "version": __version__}


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Litestar:
    """The service, with its settings and clock (tests pass both; a worker process reads the
    environment)."""
    settings = settings or get_settings()
    ctx = Context.of(settings, clock)
    # Audited writes become outbox events (notify hears of them; audit imports no notify).
    outbox.listen()
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine, ctx.clock, ctx.keys)
    pools = reads.pools_for(settings, engine, ctx.clock, ctx.keys)

    tasks: list[asyncio.Task[None]] = []

    async def seed_calendar() -> None:
        # The working-day calendar of last, this and next year is put in before the first
        # request: a page reading a year not stored yet would otherwise write it in the middle
        # of a read, which SQLite refuses ("database is locked") while the outbox writes.
        today = ctx.today()
        async with sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            await ensure_years(session=session, years=range(today.year - 1, today.year + 3))
            await session.commit()

    async def start_worker() -> None:
        # The outbox is delivered from every serve process (safe: claims are leased);
        # RECEPTION_OUTBOX_WORKER=0 leaves it to `reception worker`.
        if settings.outbox_worker:
            tasks.append(asyncio.create_task(notify_worker.run_forever(sessionmaker, ctx)))

    async def dispose_engine() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await reads.dispose_pools(engine, pools)

    api = Router(
        path="/api",
        route_handlers=API_HANDLERS,
        # Every method authenticates, OPTIONS and HEAD included (guards read the caller).
        middleware=[DefineMiddleware(TokenAuthMiddleware, exclude_http_methods=[])],
        guards=[duties],
        security=[{"bearer": []}],
    )
    return Litestar(
        route_handlers=[
            health,
            *PUBLIC_HANDLERS,
            api,
            *console.console_router(
                CONSOLE_PAGES,
                CONSOLE_PUBLIC_PAGES,
                # Sign-in (org) handed to the console's shell, which imports no org.
                SimpleNamespace(resolve=signin.resolve, record_seen=signin.record_seen),
            ),
            portal_pages.portal_router(),
            create_static_files_router(
                path=openapi.STATIC_PATH,
                directories=[openapi.STATIC_DIR],
                # Vendored files carry their version in the path: cache them for a day.
                cache_control=CacheControlHeader(max_age=86_400),
                include_in_schema=False,
            ),
        ],
        middleware=MIDDLEWARE,
        dependencies=DEPENDENCIES,
        exception_handlers=console.html_errors(exception_handlers),
        template_config=template_config(),
        csrf_config=console.csrf_config(ctx),
        state=State(
            {
                "settings": settings,
                "ctx": ctx,
                "engine": engine,
                "sessionmaker": sessionmaker,
                **pools,
            }
        ),
        on_startup=[seed_calendar, start_worker],
        on_shutdown=[dispose_engine],
        openapi_config=openapi.config(),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="never",
            disable_stack_trace={404, 401, 403, 409, 412, 422, 400},
        ),
        debug=False,
    )


def factory() -> Litestar:
    """Entry point for uvicorn worker processes: settings come from the environment."""
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return create_app()
