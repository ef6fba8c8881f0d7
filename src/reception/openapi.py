"""The API's own description (OpenAPI at /schema): served offline, and telling the truth.

- Swagger UI and Redoc come from the service itself (vendored from npm, pinned, licences kept
  beside them in web/static/vendor/): offices run on closed networks, and Litestar's defaults
  load scripts, fonts and a favicon from jsdelivr, redoc.ly and Google.
- Every error a route can answer is documented as application/problem+json (RFC 9457), the
  shape `reception.errors` sends, not Litestar's default exception body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType

from reception import __version__
from reception.errors import PROBLEM_JSON, Broken

STATIC_DIR = Path(__file__).parent / "web" / "static"
STATIC_PATH = "/static"
SWAGGER = f"{STATIC_PATH}/vendor/swagger-ui-5.35.0"
REDOC = f"{STATIC_PATH}/vendor/redoc-2.5.2"
FAVICON = f"<link rel='icon' type='image/png' href='{SWAGGER}/favicon-32x32.png'>"

# What each status means to the client, as documented on every operation that can answer it.
ERRORS = {
    "400": "请求格式有误(字段类型、取值、长度;空字符;JSON 过深)",
    "401": "需要登录(Authorization: Bearer <令牌>)",
    "403": "无权操作(例如秘书为未关联的领导操作)",
    "404": "不存在,或不在调用者的可见范围内",
    "409": "与现有数据冲突(名额已满、时间重叠、状态不允许)",
    "412": "If-Match 给出的版本已过期",
    "413": "请求正文过大",
    "415": "请求正文须为 JSON",
    "422": "请求格式正确,但业务规则不允许",
    "503": "数据库暂不可用,请稍后重试",
}

PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details: `type` is a stable slug, `title`/`detail` Chinese.",
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, examples=["/problems/invalid-input"]),
        "title": Schema(type=OpenAPIType.STRING, examples=["输入不符合要求"]),
        "status": Schema(type=OpenAPIType.INTEGER, examples=[422]),
        "detail": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING, examples=["petitioners[0].phone"]),
                    "message": Schema(type=OpenAPIType.STRING, examples=["不是有效的电话号码"]),
                },
            ),
        ),
    },
)


def _before_schema(request: Request[Any, Any, Any]) -> None:
    # Before the first page of /schema is built (once per process): see document_problems.
    if not request.app.state.get("problems_documented"):
        document_problems(request.app)
        request.app.state["problems_documented"] = True


def config() -> OpenAPIConfig:
    return OpenAPIConfig(
        openapi_router=Router(path="/schema", route_handlers=[], before_request=_before_schema),
        title="reception",
        version=__version__,
        description="接访日、下访与领导包案: reception days, field visits and case ownership",
        path="/schema",
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
        ),
        render_plugins=[
            SwaggerRenderPlugin(
                path=["/", "/swagger"],
                js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
                favicon=FAVICON,
            ),
            RedocRenderPlugin(
                path="/redoc",
                js_url=f"{REDOC}/redoc.standalone.js",
                google_fonts=False,
                favicon=FAVICON,
            ),
            JsonRenderPlugin(path="/openapi.json"),
        ],
    )


def _operations(item: Any) -> list[Any]:
    return [
        op
        for op in (item.get, item.put, item.post, item.delete, item.patch, item.head, item.options)
        if op is not None
    ]


def document_problems(app: Litestar) -> None:
    """Every operation's error responses become problem+json, and the statuses every route
    may answer are documented on it (done to the generated description before it is first
    served)."""
    spec = app.openapi_schema
    if spec.components is None:
        raise Broken("expected: spec.components is not None")
    schemas = spec.components.schemas if isinstance(spec.components.schemas, dict) else {}
    schemas["Problem"] = PROBLEM
    spec.components.schemas = schemas
    problem = Reference(ref="#/components/schemas/Problem")
    for path, item in (spec.paths or {}).items():
        for op in _operations(item):
            responses = dict(op.responses or {})
            codes = set(ERRORS)
            if not path.startswith("/api"):
                codes -= {"401", "403"}
            for code in codes | {c for c in responses if c[:1] in "45"}:
                responses[code] = OpenAPIResponse(
                    description=ERRORS.get(code, "请求被拒绝"),
                    content={PROBLEM_JSON: OpenAPIMediaType(schema=problem)},
                )
            op.responses = responses
