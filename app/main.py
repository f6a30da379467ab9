"""create_app(settings) and the lifespan: the one place where things are wired."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__
from app.api import actors, analytics, graph, ingest, system
from app.api.deps import problems, require_reader
from app.auth import KeyRing, generate_key
from app.db import make_engine
from app.errors import install_handlers, problem
from app.graph.store import GraphStore
from app.migrate import upgrade
from app.reads import AnalyticsCache
from app.repo import SqlFeed
from app.schemas import Problem
from app.seed import load_seed
from app.settings import Settings

log = logging.getLogger("kg")
STATIC = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
A geopolitical knowledge graph: actors (states, leaders, ministries, armed groups, coalitions,
think tanks) and the dated relationships between them, each backed by verbatim evidence.

* **Reads** are open unless `KG_READ_KEYS` is set. **Writes** need `Authorization: Bearer <key>`.
* Every error is `application/problem+json` (RFC 9457); validation errors name each bad item by
  JSON pointer.
* `as_of` (a date) keeps relationships with `valid_from <= as_of < valid_to`; partial dates
  (`2024`, `2024-12`) count as their first day.
"""


class RequestGuard:
    """Turns away oversized, over-long or malformed requests before any route runs.

    Starlette has no body cap, and the stdlib JSON parser lets the last duplicate key win and
    reads NaN/Infinity; both are refused here, once, for every JSON route.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, max_url: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_url = max_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url_len = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
        if url_len > self.max_url:
            await problem(
                414,
                "URI too long",
                f"The URL exceeds {self.max_url} bytes (KG_MAX_URL_LENGTH).",
                slug="uri-too-long",
            )(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                await self._too_large(scope, receive, send)
                return
        if body:
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"application/json" and not ctype.endswith(b"+json"):
                await problem(
                    415,
                    "Unsupported media type",
                    "Send the body as application/json.",
                    slug="unsupported-media-type",
                )(scope, receive, send)
                return
            error = strict_json_error(bytes(body))
            if error:
                await problem(
                    422,
                    "Malformed JSON",
                    error,
                    slug="malformed-json",
                    errors=[{"pointer": "", "in": "body", "message": error}],
                )(scope, receive, send)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Connection: close, so the server stops reading the rest of an oversized body.
        await problem(
            413,
            "Content too large",
            f"The body exceeds {self.max_body} bytes (KG_MAX_BODY_BYTES).",
            slug="too-large",
            headers={"Connection": "close"},
        )(scope, receive, send)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def strict_json_error(body: bytes) -> str | None:
    """Why ``body`` is not strict JSON (None when it is)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "The body is not valid UTF-8."
    try:
        json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except _DuplicateKey as exc:
        return f"Duplicate key {str(exc)[:100]!r} in a JSON object."
    except RecursionError:
        return "The JSON is nested too deeply."
    except ValueError as exc:
        msg = str(exc)
        if "out of range" in msg or "not a JSON number" in msg:
            return "Numbers must be finite (no NaN, Infinity or overflow)."
        return "The body is not valid JSON."
    return None


class HeadAsGet:
    """HEAD is GET without the body (RFC 9110); FastAPI routes declare only GET, and the Allow
    header of a 405 promises HEAD wherever GET is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_head)


class SecurityHeaders:
    """nosniff everywhere; responses to authenticated requests are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authed = any(k == b"authorization" for k, _ in scope["headers"])

        # Replaced, not added to: a route's own Cache-Control must not survive next to no-store.
        replaced = (
            {b"x-content-type-options", b"cache-control"} if authed else {b"x-content-type-options"}
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in replaced
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                if authed:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Query parameters whose ceiling is a setting: the schema states this server's bound, so that
# a request the schema admits is one the server serves.
_SETTING_BOUNDS = {"depth": "max_depth", "k": "max_paths", "max_hops": "max_hops"}


def _document_limits(schema: dict[str, Any], settings: Settings) -> None:
    """Declare on every operation what RequestGuard and the database can answer, and bounds."""
    for ops in schema["paths"].values():
        for op in ops.values():
            codes = [414, 503]
            if "requestBody" in op:
                codes += [413, 415, 422]
            for code, entry in problems(*codes).items():
                op["responses"].setdefault(str(code), entry)
            for param in op.get("parameters", []):
                setting = _SETTING_BOUNDS.get(param["name"])
                if setting and param["in"] == "query":
                    bound = getattr(settings, setting)
                    param["schema"]["maximum"] = min(param["schema"].get("maximum", bound), bound)


class ProblemCORS(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json like every error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-type", "content-length")
        }
        return problem(
            response.status_code,
            "CORS request refused",
            f"{bytes(response.body).decode()}: see KG_CORS_ORIGINS.",
            slug="cors-refused",
            headers=headers,
        )


def _write_keys(settings: Settings) -> list[str]:
    if settings.api_keys:
        return settings.api_keys
    key = generate_key()
    # Shown once, like a notebook token: the operator copies it or sets KG_API_KEYS.
    print(
        f"\n  No KG_API_KEYS set; generated a write key for this process:\n    {key}\n", flush=True
    )
    return [key]


_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def _install_redoc(app: FastAPI) -> None:
    """/redoc from fastapi-offline's bundle, minus the one logo its build fetches from a CDN."""
    bundle = Path(fastapi_offline.__file__).resolve().parent / "static" / "redoc.standalone.js"
    cache: dict[str, bytes] = {}

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url="/redoc.standalone.js",
            with_google_fonts=False,
            redoc_favicon_url="/static-offline-docs/favicon.png",
        )

    @app.get("/redoc.standalone.js", include_in_schema=False)
    def redoc_js() -> Response:
        if "js" not in cache:
            cache["js"] = bundle.read_bytes().replace(
                _REDOC_LOGO, b"/static-offline-docs/favicon.png"
            )
        return Response(
            cache["js"],
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (from the environment when omitted)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        upgrade(engine)
        if settings.seed:
            load_seed(engine, settings.seed_dir, max_items=1_000_000)
        store = GraphStore(SqlFeed(engine))
        store.load()
        app.state.settings = settings
        app.state.engine = engine
        app.state.store = store
        app.state.analytics_cache = AnalyticsCache()
        app.state.keyring = KeyRing.from_keys(_write_keys(settings), settings.read_keys)
        log.info("graph revision %s loaded", store.revision)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPIOffline(
        title="Geopolitical knowledge graph",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
        openapi_tags=[
            {"name": "ingest", "description": "Write batches of sources, actors and ties."},
            {
                "name": "actors",
                "description": "Search actors; read their ties, neighbourhoods, "
                "proxies, patrons and timelines; keyed writes.",
            },
            {"name": "graph", "description": "Paths, changes over time, and exports."},
            {"name": "analytics", "description": "Blocs, structural balance and centrality."},
            {"name": "sources", "description": "The documents evidence quotes."},
            {"name": "service", "description": "Health, revision and the change log."},
        ],
    )
    install_handlers(app)
    app.include_router(system.open_router)
    readers = [Depends(require_reader)]
    for router in (system.router, ingest.router, actors.router, graph.router, analytics.router):
        app.include_router(router, dependencies=readers)

    _install_redoc(app)

    if (STATIC / "explorer.html").exists():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.get("/explorer", include_in_schema=False)
        def explorer() -> FileResponse:
            return FileResponse(STATIC / "explorer.html")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            Problem.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        )
        schema["components"]["schemas"].update(
            Problem.model_json_schema(
                by_alias=True, ref_template="#/components/schemas/{model}"
            ).pop("$defs", {})
        )
        schema["components"]["schemas"]["Problem"].pop("$defs", None)
        for ops in schema["paths"].values():
            for method, op in ops.items():
                # Reads take a key only when KG_READ_KEYS is set: the scheme is optional there.
                if method == "get" and op.get("security"):
                    op["security"] = [{}, *op["security"]]
        _document_limits(schema, settings)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    app.add_middleware(
        RequestGuard, max_body=settings.max_body_bytes, max_url=settings.max_url_length
    )
    if settings.cors_origins:
        app.add_middleware(
            ProblemCORS,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag"],
        )
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    return app


app = create_app()
