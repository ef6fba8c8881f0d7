"""The admin's user pages (console): create a person's account with a first password, give
the role its links (a secretary's leaders, a clerk's unit, a leader's own record), reset a
password, deactivate. Each form calls the service the JSON API calls."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from reception.auth import Principal, require_only
from reception.base import ROLE_LABELS
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import Broken, DomainError, NotFound
from reception.org import schemas, service, signin
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body, values_of

AnyRequest = Request[Principal, Any, Any]
# 三员分立: both administrators see the accounts; the security administrator creates them
# (grants the role), sets passwords and (de)activates; the system administrator keeps the
# units and links.
ACCOUNTS = [require_only("admin", "secadmin")]
SECURITY = [require_only("secadmin")]
SYSTEM = [require_only("admin")]


async def _choices(db: DB, principal: Principal) -> dict[str, Any]:
    leaders, _ = await service.list_leaders(
        session=db, principal=principal, limit=1000, offset=0, active=True
    )
    units, _ = await service.list_units(session=db, limit=2000, offset=0, active=True)
    return {
        "leaders": leaders,
        "units": units,
        "roles": list(ROLE_LABELS.items()),
        "leader_names": {leader.id: leader.name for leader in leaders},
        "unit_names": {u.id: u.name for u in units},
    }


async def _list_page(
    request: AnyRequest,
    db: DB,
    *,
    role: str | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    users, _ = await service.list_users(session=db, limit=1000, offset=0, role=role or None)
    ids = [u.id for u in users if u.id is not None]
    links = await service.linked_leader_ids(session=db, user_ids=ids)
    choices = await _choices(db, request.user)
    names = choices["leader_names"]
    return page(
        request,
        "org/users.html",
        status=status,
        title="用户管理",
        users=users,
        link_names={
            uid: "、".join(names[lid] for lid in lids if lid in names)
            for uid, lids in links.items()
        },
        role=role or "",
        role_labels=ROLE_LABELS,
        errors=errors or {},
        values=values or {},
        **choices,
    )


@get("/admin/users", guards=ACCOUNTS)
async def users(
    db: DB,
    request: AnyRequest,
    role: Annotated[str | None, QueryParameter(name="role", max_length=20)] = None,
) -> Template:
    return await _list_page(request, db, role=role)


def _links(form: Any, role: str) -> dict[str, Any]:
    return {
        "unit_id": form.get("unit_id", "") if role == "clerk" else "",
        "leader_id": form.get("leader_id", "") if role == "leader" else "",
        "leader_ids": form.getall("leader_ids")
        if role == "secretary" and "leader_ids" in form
        else [],
    }


@post("/admin/users", guards=SECURITY, status_code=200)
async def create_user(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await read_form(request)
    values = values_of(form, "leader_ids")
    role = str(form.get("role") or "")
    try:
        data = to_body(
            schemas.UserCreate, {"name": form.get("name", ""), "role": role, **_links(form, role)}
        )
        user = await service.create_user(session=db, actor=request.user, data=data)
        if user.id is None:
            raise Broken("expected: user.id is not None")
        await signin.set_password(
            session=db,
            ctx=ctx,
            actor=request.user,
            user_id=user.id,
            username=str(form.get("username") or ""),
            password=str(form.get("password") or ""),
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _list_page(
            request, db, status=problem.status, errors=problem.fields, values=values
        )
    return await see_other(
        request,
        db,
        f"/admin/users/{user.id}",
        notice=f"已创建 {user.name}({ROLE_LABELS[user.role]}),用户名 {user.username}:"
        "请把初始密码当面告知本人,首次登录须修改",
    )


async def _user_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    user_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    new_token: str = "",
) -> Template:
    user = await service.get_user(session=db, user_id=user_id)
    links = (await service.linked_leader_ids(session=db, user_ids=[user_id]))[user_id]
    tokens = (
        await service.list_tokens(session=db, user_id=user_id)
        if request.user.role == "secadmin"
        else []
    )
    return page(
        request,
        "org/user.html",
        status=status,
        title=f"用户 {user.name}",
        user=user,
        linked=links,
        role_labels=ROLE_LABELS,
        locked=ctx.local(user.locked_until)
        if user.locked_until is not None and user.locked_until > ctx.now()
        else None,
        errors=errors or {},
        values=values or {},
        tokens=[(t, ctx.local(t.expires_at) if t.expires_at else None) for t in tokens],
        now=ctx.now(),
        new_token=new_token,
        **await _choices(db, request.user),
    )


@get("/admin/users/{user_id:int}", guards=ACCOUNTS)
async def user_page(db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int]) -> Template:
    return await _user_page(request, db, ctx, user_id)


@post("/admin/users/{user_id:int}", guards=SYSTEM, status_code=200)
async def update_user(
    db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int]
) -> Response[Any]:
    form = await read_form(request)
    try:
        user = await service.get_user(session=db, user_id=user_id)
        links = _links(form, user.role)
        body: dict[str, Any] = {"name": form.get("name", "")}
        if user.role == "clerk":
            body["unit_id"] = links["unit_id"]
        if user.role == "leader":
            body["leader_id"] = links["leader_id"]
        if user.role == "secretary":
            # An empty list is an answer here (no leaders), not "not given".
            body["leader_ids"] = [int(x) for x in links["leader_ids"] if str(x).isdigit()]
        data = to_body(schemas.UserUpdate, body)
        if user.role == "secretary":
            data = msgspec.structs.replace(data, leader_ids=body["leader_ids"])
        await service.update_user(session=db, actor=request.user, user_id=user_id, data=data)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _user_page(
            request,
            db,
            ctx,
            user_id,
            status=problem.status,
            errors=problem.fields,
            values=values_of(form, "leader_ids"),
        )
    return await see_other(request, db, f"/admin/users/{user_id}", notice="已保存")


@post("/admin/users/{user_id:int}/password", guards=SECURITY, status_code=200)
async def reset_password(
    db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int]
) -> Response[Any]:
    form = await read_form(request)
    try:
        await signin.set_password(
            session=db,
            ctx=ctx,
            actor=request.user,
            user_id=user_id,
            username=str(form.get("username") or "") or None,
            password=str(form.get("password") or ""),
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {f"pw_{k}" if k else "pw": v for k, v in problem.fields.items()}
        return await _user_page(request, db, ctx, user_id, status=problem.status, errors=fields)
    return await see_other(
        request,
        db,
        f"/admin/users/{user_id}",
        notice="已设置初始密码(原登录已失效):请当面告知本人,首次登录须修改",
    )


@post("/admin/users/{user_id:int}/active", guards=SECURITY, status_code=200)
async def set_active(
    db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int]
) -> Response[Any]:
    form = await read_form(request)
    active = form.get("active") == "true"
    try:
        await service.update_user(
            session=db,
            actor=request.user,
            user_id=user_id,
            data=schemas.UserUpdate(active=active),
        )
    except DomainError as exc:
        problem = await refused(db, exc)
        return await _user_page(
            request, db, ctx, user_id, status=problem.status, errors=problem.fields
        )
    if not active:
        await signin.end_sessions(session=db, user_id=user_id, reason="deactivated", at=ctx.now())
    return await see_other(
        request,
        db,
        f"/admin/users/{user_id}",
        notice="已启用" if active else "已停用,该用户已无法登录",
    )


@post("/admin/users/{user_id:int}/role", guards=SECURITY, status_code=200)
async def set_role(db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int]) -> Response[Any]:
    """The security administrator grants another role (its links are then the system
    administrator's to set)."""
    form = await read_form(request)
    try:
        data = to_body(schemas.UserUpdate, {"role": form.get("role", "")})
        user = await service.update_user(session=db, actor=request.user, user_id=user_id, data=data)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {f"role_{k}" if k else "role": v for k, v in problem.fields.items()}
        return await _user_page(request, db, ctx, user_id, status=problem.status, errors=fields)
    return await see_other(
        request, db, f"/admin/users/{user_id}", notice=f"角色已改为{ROLE_LABELS[user.role]}"
    )


@post("/admin/users/{user_id:int}/tokens", guards=SECURITY, status_code=200)
async def issue_token(
    db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int]
) -> Response[Any]:
    """A token for a program acting as this person: it expires, and may only read if asked;
    shown here once (only its hash is kept)."""
    form = await read_form(request)
    days = str(form.get("expires_in_days") or "").strip()
    try:
        data = to_body(
            schemas.TokenCreate,
            {
                "label": form.get("label", ""),
                **({"expires_in_days": days} if days else {}),
                "scopes": ["read"] if form.get("read_only") else ["read", "write"],
            },
        )
        _, token = await service.issue_token(
            session=db,
            actor=request.user,
            user_id=user_id,
            label=data.label,
            expires_in_days=data.expires_in_days,
            scopes=data.scopes,
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {f"tk_{k}" if k else "tk": v for k, v in problem.fields.items()}
        return await _user_page(request, db, ctx, user_id, status=problem.status, errors=fields)
    return await _user_page(request, db, ctx, user_id, new_token=token)


@post("/admin/users/{user_id:int}/tokens/{token_id:int}/revoke", guards=SECURITY, status_code=200)
async def revoke_token(
    db: DB, ctx: Ctx, request: AnyRequest, user_id: FromPath[int], token_id: FromPath[int]
) -> Response[Any]:
    tokens = await service.list_tokens(session=db, user_id=user_id)
    if token_id not in {t.id for t in tokens}:
        raise NotFound(f"该用户没有令牌 {token_id}")
    await service.revoke_token(session=db, actor=request.user, token_id=token_id)
    return await see_other(request, db, f"/admin/users/{user_id}", notice="令牌已吊销,立即失效")


PAGES = [
    users,
    create_user,
    user_page,
    update_user,
    reset_password,
    set_active,
    set_role,
    issue_token,
    revoke_token,
]
