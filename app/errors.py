"""Domain errors carry their HTTP status; one set of handlers writes every error as problem+json."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

log = logging.getLogger("kg")

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://geokg.dev/problems/"
#: Most entries an `errors` list carries: a huge invalid batch must not make a huge answer.
MAX_REPORTED_ERRORS = 100


class DomainError(Exception):
    """An error a client can act on; ``status`` is what the client gets."""

    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class Invalid(DomainError):
    status, title, slug = 422, "Validation failed", "validation"


class TooLarge(DomainError):
    status, title, slug = 413, "Content too large", "too-large"


class Unauthorized(DomainError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="kg"'})


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


class Unavailable(DomainError):
    status, title, slug = 503, "Service unavailable", "unavailable"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def _safe_text(value: object, limit: int = 300) -> str:
    """Text that always encodes: lone surrogates and oversized input never break the response."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return text.encode("utf-8", "replace").decode("utf-8")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem+json response."""
    detail = _safe_text(detail, 2000)
    if errors is not None and len(errors) > MAX_REPORTED_ERRORS:
        detail += f" (the first {MAX_REPORTED_ERRORS} of {len(errors)} are listed)"
        errors = errors[:MAX_REPORTED_ERRORS]
    body: dict[str, Any] = {
        "type": _TYPE_BASE + (slug or str(status)),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        # Pointers can carry client-chosen keys: every string is made encodable, not only messages.
        body["errors"] = [
            {k: _safe_text(v) if isinstance(v, str) else v for k, v in e.items()} for e in errors
        ]
    return Response(
        orjson.dumps(body, default=_safe_text),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _pointer(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """Split a pydantic location into (where, JSON pointer): body items become /a/0/b."""
    parts = list(loc)
    where = (
        str(parts.pop(0)) if parts and parts[0] in ("body", "query", "path", "header") else "body"
    )
    # Drop pydantic's internal tags for unions and function validators.
    clean = [
        p
        for p in parts
        if not (isinstance(p, str) and ("[" in p or p.startswith(("function-", "constrained-"))))
    ]
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in clean]
    return where, "/" + "/".join(escaped) if escaped else ""


_DATE_ERRORS = {
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "date_past",
    "date_future",
}


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as {pointer, in, message}, never echoing the offending input."""
    out: list[dict[str, Any]] = []
    for err in exc.errors():
        where, pointer = _pointer(err.get("loc", ()))
        message = err.get("msg", "invalid")
        if err.get("type") in _DATE_ERRORS:
            # Say what is accepted, not only what went wrong.
            message = f"{message}; expected an ISO date YYYY-MM-DD"
        entry = {"pointer": pointer, "in": where, "message": _safe_text(message)}
        if entry not in out:
            out.append(entry)
    return out


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    methods = {
        m
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)
    }
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install_handlers(app: FastAPI) -> None:
    """Route every error through problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> Response:
        if exc.status == 304:
            return Response(status_code=304, headers=exc.headers)
        return problem(
            exc.status, exc.title, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc)
        return problem(
            422,
            "Validation failed",
            f"{len(errors)} invalid item(s) in the request",
            slug="validation",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        titles = {
            404: "Not found",
            405: "Method not allowed",
            401: "Unauthorized",
            413: "Content too large",
            414: "URI too long",
            415: "Unsupported media type",
        }
        return problem(
            exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), headers=headers
        )

    @app.exception_handler(OperationalError)
    async def _database(_: Request, exc: OperationalError) -> Response:
        # A lock held past the busy timeout, or a database that is briefly unreachable, is
        # worth retrying; anything else is a bug and stays a 500 (without its SQL).
        if is_transient(exc):
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return problem(
                503,
                Unavailable.title,
                "The database is busy or unreachable; retry shortly.",
                slug=Unavailable.slug,
                headers={"Retry-After": "1"},
            )
        return await _unexpected(_, exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        # Served by Starlette's outermost middleware, outside SecurityHeaders: set them here.
        return problem(
            500,
            "Internal error",
            "The server failed; the error was logged.",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )


def is_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a database lock wait that ran out (SQLite busy, PostgreSQL timeout)."""
    msg = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in msg or "lock timeout" in msg or "deadlock" in msg


def is_transient(exc: OperationalError) -> bool:
    """Lock timeouts and lost connections: conditions a client can retry."""
    if is_lock_error(exc) or exc.connection_invalidated:
        return True
    msg = str(exc.orig).lower()
    return any(
        s in msg for s in ("connection", "server closed", "terminating", "could not connect")
    )
