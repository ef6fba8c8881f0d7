"""Rendering console pages: the Jinja set-up, Chinese dates, the layout's context, and turning
form fields into the services' request bodies (and the services' errors into messages beside
the fields they concern).

A page is the second face of a service call: it never queries the database itself and never
checks a permission the service does not. What it adds is only what a person needs around the
call (labels, dates in Beijing time, where to go next).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

import msgspec
from jinja2 import FileSystemLoader
from litestar import Request, Response
from litestar.datastructures import FormMultiDict
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from reception import sandbox
from reception.auth import Principal
from reception.base import role_label
from reception.boundary import CONTROL_MESSAGE, has_control
from reception.context import Context
from reception.errors import DomainError
from reception.messages import body_allowed, translate
from reception.web.models import ConsoleSession
from reception.wording import chinese_date, typed_day_or_time

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = "/static"
HTMX = f"{STATIC}/vendor/htmx-2.0.11/htmx.min.js"
WEEKDAYS = "一二三四五六日"

T = TypeVar("T")
AnyRequest = Request[Principal, Any, Any]


# ---------------------------------------------------------------- dates for people


def cn_date(value: date | datetime | str | None) -> str:
    """2026年12月21日 (also of an ISO date string, as reports carry them)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            return chinese_date(date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return chinese_date(value)


def weekday(value: date) -> str:
    return "周" + WEEKDAYS[value.weekday()]


def cn_day(value: date | None) -> str:
    """2026年12月21日 (周一)"""
    if value is None:
        return "—"
    return f"{cn_date(value)}({weekday(value)})"


def hm(value: datetime | None) -> str:
    """09:00 (the value is already in Beijing time: the views convert)."""
    return value.strftime("%H:%M") if value else "—"


def cn_datetime(value: datetime | None) -> str:
    return f"{cn_date(value)} {hm(value)}" if value else "—"


def month_label(value: date | str) -> str:
    """2026年11月 (of a date or a "2026-11" month)."""
    if isinstance(value, str):
        year, _, month = value.partition("-")
        return f"{year}年{int(month)}月" if month.isdigit() else value
    return f"{value.year}年{value.month}月"


def query(base: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(kept)}" if kept else base


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    # The sandbox like every template (sandbox.py); a misspelt variable is an error in the
    # tests, not a blank on a secretary's screen.
    environment = sandbox.environment(loader=FileSystemLoader(TEMPLATES), strict=True)
    environment.trim_blocks = True
    environment.lstrip_blocks = True
    # `| tojson` (the only way data enters a page's <script type="application/json">) encodes
    # what the services return (dates, structs) and escapes <, >, & and ' for HTML.
    environment.policies["json.dumps_function"] = _json_text
    environment.policies["json.dumps_kwargs"] = {}
    environment.filters.update(
        cn_date=cn_date, cn_day=cn_day, hm=hm, cn_datetime=cn_datetime, weekday=weekday
    )
    environment.filters["month_label"] = month_label
    environment.globals.update(query=query, role_label=role_label, HTMX=HTMX, STATIC=STATIC)
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment))


# ---------------------------------------------------------------- the layout


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str


NAV: dict[str, list[NavItem]] = {
    "secretary": [NavItem("/desk", "接访日历"), NavItem("/subscriptions", "日历订阅")],
    "leader": [
        NavItem("/me", "我的日程"),
        NavItem("/me/cases", "我的包案"),
        NavItem("/ledger", "矛盾纠纷台账"),
        NavItem("/ledger/check-in", "稳控报告"),
        NavItem("/supervision/inquiries", "流调签批"),
        NavItem("/desk", "月历"),
        NavItem("/subscriptions", "日历订阅"),
    ],
    "clerk": [
        NavItem("/cases", "信访事项"),
        NavItem("/cases/new", "登记"),
        NavItem("/ledger", "矛盾纠纷台账"),
        NavItem("/supervision/findings", "抽查整改"),
        NavItem("/supervision/decisions", "督办事项"),
        NavItem("/supervision/inquiries", "流调"),
        NavItem("/proxy", "网格员代办"),
        NavItem("/imports", "台账导入"),
        NavItem("/subscriptions", "日历订阅"),
    ],
    "reviewer": [
        NavItem("/review", "月度点评"),
        NavItem("/supervision/spot-checks", "基础业务抽查"),
        NavItem("/supervision/conferences", "联席会议"),
        NavItem("/supervision/inquiries", "流调"),
        NavItem("/cases", "信访事项"),
        NavItem("/ledger", "矛盾纠纷台账"),
        NavItem("/subscriptions", "日历订阅"),
    ],
    "secadmin": [
        NavItem("/admin/users", "用户与角色"),
        NavItem("/admin/security", "安全设置"),
    ],
    "auditor": [
        NavItem("/admin/audit", "审计记录"),
    ],
    "grid": [
        NavItem("/proxy", "我的代办"),
        NavItem("/proxy/new", "代办登记"),
    ],
    "admin": [
        NavItem("/desk", "接访日历"),
        NavItem("/admin/users", "用户"),
        NavItem("/admin/units", "单位"),
        NavItem("/admin/calendar", "工作日历"),
        NavItem("/imports", "台账导入"),
        NavItem("/admin/rules", "接访规则"),
        NavItem("/admin/periods", "敏感时期"),
        NavItem("/admin/check-items", "抽查清单"),
        NavItem("/admin/notify", "消息推送"),
        NavItem("/admin/templates", "文书模板"),
        NavItem("/cases", "信访事项"),
        NavItem("/ledger", "矛盾纠纷台账"),
        NavItem("/supervision/spot-checks", "基础业务抽查"),
        NavItem("/review", "月度点评"),
        NavItem("/subscriptions", "日历订阅"),
    ],
}
HOME = {
    "secretary": "/desk",
    "leader": "/me",
    "clerk": "/cases",
    "reviewer": "/review",
    "admin": "/admin/users",
    "secadmin": "/admin/users",
    "auditor": "/admin/audit",
    "grid": "/proxy",
}


def page(
    request: AnyRequest,
    name: str,
    *,
    status: int = 200,
    title: str,
    **context: Any,
) -> Template:
    """A full page (or, for an htmx request that targets a part, the same template: the
    layout renders only the part htmx asked for when `partial` is set)."""
    ctx: Context = request.app.state.ctx
    principal: Principal | None = request.scope.get("user")
    nav = NAV.get(principal.role, []) if principal else []
    path = request.url.path
    # The nav item of this page: the longest href that is the path or a folder of it.
    here = max(
        (i.href for i in nav if path == i.href or path.startswith(i.href.rstrip("/") + "/")),
        key=len,
        default="",
    )
    base: dict[str, Any] = {
        "me": principal,
        "here": here,
        "nav": nav,
        "path": path,
        "title": title,
        "office": ctx.settings.office_name,
        # Where petitioners look their matter up (every page's footer tells the staff).
        "public_url": f"{ctx.settings.public_url.rstrip('/')}/public",
        "today": ctx.today(),
        "errors": {},
        "values": {},
        # The flash of the change that led here (web.console), never a query parameter.
        "notice": cast("dict[str, Any]", request.scope).get("reception.flash", ""),
        "htmx": request.headers.get("hx-request") == "true",
    }
    return Template(template_name=name, context={**base, **context}, status_code=status)


async def see_other(
    request: AnyRequest, db: AsyncSession, url: str, *, notice: str = ""
) -> Redirect:
    """After a successful form: go to the page that shows the result (PRG), with a line
    saying what was done — kept in the console session (a flash), not in the URL."""
    if notice and request.user.session_id is not None:
        await db.execute(
            update(ConsoleSession)
            .where(col(ConsoleSession.id) == request.user.session_id)
            .values(flash=notice[:500])
        )
    return Redirect(url, status_code=303)


# ---------------------------------------------------------------- forms


@dataclass
class FormErrors(Exception):
    """What is wrong with a form, by field ("" for the form as a whole)."""

    fields: dict[str, str] = field(default_factory=dict)
    status: int = 400

    @property
    def general(self) -> str:
        return self.fields.get("", "")


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The submitted form, checked (`check_form`). Every page reads its form here, or with
    `unchecked_form` and then `check_form` inside its own error handling (a long form shown
    again as typed)."""
    return check_form(await unchecked_form(request))


async def unchecked_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    return await request.form()


def check_form(form: FormMultiDict) -> FormMultiDict:
    """Every field checked at the boundary as JSON bodies are (`reception.boundary`): a
    control character (NUL …) is refused with a message beside the field it is in, and
    nothing is done."""
    bad = {
        str(key) if not has_control(str(key)) else "": CONTROL_MESSAGE
        for key, value in form.multi_items()
        if has_control(str(key)) or (isinstance(value, str) and has_control(value))
    }
    if bad:
        raise FormErrors(bad, status=400)
    # Days and times as people type them (2026年12月5日, 2026.12.5, 9点30) read as the ISO
    # form the fields expect: the console's date and time boxes are plain text (web/macros).
    return FormMultiDict(
        [
            (k, typed_day_or_time(v) if isinstance(v, str) and _plain(k) else v)
            for k, v in form.multi_items()
        ]
    )


def _plain(name: str) -> bool:
    """A field whose value is read as typed (not a secret, not a token)."""
    return "password" not in name and not name.startswith("_")


def values_of(form: FormMultiDict, *lists: str) -> dict[str, Any]:
    """The form as typed (to show it again), with the named fields as lists."""
    out: dict[str, Any] = {k: form.get(k) for k in form}
    for name in lists:
        out[name] = form.getall(name) if name in form else []
    return out


def to_body(kind: type[T], values: Mapping[str, Any]) -> T:
    """The service's request body from form fields: empty fields are left out (so defaults
    and "not given" apply), "on"/"" checkboxes become booleans, numbers and dates are parsed
    by msgspec as the JSON API would (the same messages, in Chinese)."""
    data = {k: v for k, v in values.items() if v not in ("", None, [])}
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = ""
        if "`$." in message:
            where = message.rsplit("`$.", 1)[1].split("`", 1)[0].split("[", 1)[0].split(".", 1)[0]
        elif "unknown field `" in message:
            where = message.split("unknown field `", 1)[1].split("`", 1)[0]
        raise FormErrors({where: translate(message, body_allowed(kind, where))}) from exc


async def form_step(
    request: AnyRequest,
    db: AsyncSession,
    act: Callable[[Any], Awaitable[tuple[str, str]]],
    again: Callable[[FormErrors, dict[str, Any]], Awaitable[Template]],
) -> Response[Any] | Template:
    """A console form: read it, let the service act (it says what was done and where to see
    it), then go there (PRG) with that line; refused, the same page again with the reason
    beside the field."""
    values: dict[str, Any] = {}
    try:
        form = await read_form(request)
        values = values_of(form)
        notice, url = await act(form)
    except (DomainError, FormErrors) as exc:
        return await again(await refused(db, exc), values)
    return await see_other(request, db, url, notice=notice)


# Objects of a request body a console form writes as plain fields (its 送达 fields).
FLATTENED = ("delivery.",)


def errors_of(exc: DomainError | FormErrors) -> FormErrors:
    if isinstance(exc, FormErrors):
        return exc
    fields: dict[str, str] = {}
    for item in exc.extra.get("errors") or []:
        path = str(item.get("field") or "")
        for flat in FLATTENED:
            path = path.removeprefix(flat)
        # A dotted or indexed path (petitioners[0].phone) shows beside its first part.
        where = path.split("[", 1)[0].split(".", 1)[0]
        fields.setdefault(where, str(item.get("message") or exc.detail))
    return FormErrors(fields or {"": exc.detail}, status=exc.status)


async def refused(db: AsyncSession, exc: DomainError | FormErrors) -> FormErrors:
    """A service said no: nothing it did stays (rolled back), and the page shows why."""
    await db.rollback()
    return errors_of(exc)
