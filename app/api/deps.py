"""Annotated dependencies: what a route needs, reached through the app's lifespan-owned state."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.auth import KeyRing, key_digest, key_id
from app.db import read_session
from app.errors import DomainError, Forbidden, Unauthorized
from app.graph.store import GraphStore
from app.reads import AnalyticsCache
from app.settings import Settings

_QUERY_KEY_NAMES = {"api_key", "apikey", "key", "token", "access_token", "api-key"}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="WriteKey",
    description="An API key from KG_API_KEYS, sent as `Authorization: Bearer <key>`. "
    "Required for every write; keys in the query string are refused.",
)


# The cheap dependencies are `async def`: FastAPI runs a plain `def` dependency through the
# thread pool, and each such hop measured ~0.1 ms of a ~2 ms read (PERF).
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with read_session(engine) as session:
        yield session


class NotModified(DomainError):
    status, title, slug = 304, "Not modified", "not-modified"


def get_store(request: Request, response: Response) -> GraphStore:
    """The live graph, caught up with the database; answers If-None-Match with 304."""
    store: GraphStore = request.app.state.store
    revision = store.sync()
    query = request.url.path + "?" + request.url.query
    etag = f'W/"{revision}-{hashlib.sha1(query.encode()).hexdigest()[:12]}"'
    response.headers["ETag"] = etag
    request.state.etag = etag
    inm = request.headers.get("if-none-match")
    # Only a read can be answered "not modified": a write always runs.
    if inm and request.method in ("GET", "HEAD") and etag in {t.strip() for t in inm.split(",")}:
        raise NotModified("unchanged", headers={"ETag": etag})
    return store


def json_reply(request: Request, body: Any) -> Response:
    """``body`` as JSON, with the ETag ``get_store`` gave the request.

    A route returning this keeps its `response_model` for the schema but skips FastAPI's
    validation and serialisation of the reply against it: on a reply of a few hundred chains
    those cost as much as the walk itself (PERF). Each such route has a test that its replies
    match the model.
    """
    etag = getattr(request.state, "etag", None)
    return Response(
        orjson.dumps(body),
        media_type="application/json",
        headers={"ETag": etag} if etag else None,
    )


async def get_cache(request: Request) -> AnalyticsCache:
    cache: AnalyticsCache = request.app.state.analytics_cache
    return cache


@dataclass(frozen=True)
class Caller:
    key_id: str | None
    role: str


def _reject_query_keys(request: Request) -> None:
    if _QUERY_KEY_NAMES & {k.lower() for k in request.query_params}:
        raise Unauthorized(
            "API keys are not accepted in the query string; send `Authorization: Bearer <key>`."
        )


def _caller(request: Request, creds: HTTPAuthorizationCredentials | None) -> Caller | None:
    _reject_query_keys(request)
    if creds is None:
        return None
    ring: KeyRing = request.app.state.keyring
    role = ring.role(creds.credentials)
    if role is None:
        raise Unauthorized("The API key is not valid.")
    return Caller(key_id(key_digest(creds.credentials)), role)


async def require_writer(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """A caller holding a write key; 401 without a valid key, 403 for a read-only key."""
    caller = _caller(request, creds)
    if caller is None:
        raise Unauthorized("This route writes: send `Authorization: Bearer <write key>`.")
    if caller.role != "write":
        raise Forbidden("This key may read but not write.")
    return caller


async def require_reader(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller | None:
    """When KG_READ_KEYS is set, reads need a read or write key too."""
    settings: Settings = request.app.state.settings
    caller = _caller(request, creds)
    if settings.read_keys and caller is None:
        raise Unauthorized("Reads need `Authorization: Bearer <key>` on this server.")
    return caller


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[GraphStore, Depends(get_store)]
CacheDep = Annotated[AnalyticsCache, Depends(get_cache)]
WriterDep = Annotated[Caller, Depends(require_writer)]


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    304: "Not modified: the graph revision still matches `If-None-Match`.",
    401: "No valid API key (see `WWW-Authenticate`).",
    403: "The key may not do this.",
    404: "No such actor, source or relationship.",
    409: "The change conflicts with stored data.",
    413: "The body or batch exceeds a configured limit.",
    414: "The URL exceeds KG_MAX_URL_LENGTH.",
    415: "The body is not JSON.",
    422: "Invalid input; `errors` names each bad item by JSON pointer.",
    503: "The database is busy; retry after `Retry-After` seconds.",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting each error as problem+json."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if code == 304:
            out[code] = {"description": _DESCRIPTIONS[code]}
            continue
        out[code] = {
            "description": _DESCRIPTIONS[code],
            "content": {"application/problem+json": {"schema": PROBLEM_REF}},
        }
    return out
