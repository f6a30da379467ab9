"""Configuration safety: security headers on every answer, no caching of authenticated ones,
no stack trace or SQL in any body even when the server fails, and CORS exactly as configured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from app.main import create_app
from tests.conftest import AUTH, make_settings
from tests.hardening.helpers import assert_problem

ALLOWED = "https://newsroom.example"
JSON = {"Content-Type": "application/json"}

# One request per kind of answer: routes, errors from handlers, and errors from middleware.
# (method, url, request kwargs, status without a key, status with the write key)
ANSWERS: list[tuple[str, str, dict[str, Any], int, int]] = [
    ("GET", "/v1/actors/iran", {}, 200, 200),
    ("HEAD", "/v1/revision", {}, 200, 200),
    ("GET", "/health", {}, 200, 200),
    ("GET", "/openapi.json", {}, 200, 200),
    ("GET", "/docs", {}, 200, 200),
    ("GET", "/redoc", {}, 200, 200),
    ("GET", "/redoc.standalone.js", {}, 200, 200),
    ("GET", "/v1/graph?format=graphml", {}, 200, 200),
    ("GET", "/v1/actors/atlantis", {}, 404, 404),
    ("GET", "/nowhere", {}, 404, 404),
    ("DELETE", "/v1/revision", {}, 405, 405),
    ("GET", "/v1/actors?limit=0", {}, 422, 422),
    ("POST", "/v1/ingest", {"json": {"extra": 1}}, 401, 422),
    ("POST", "/v1/ingest", {"content": b"x" * 70_000, "headers": JSON}, 413, 413),
    ("GET", "/v1/actors?q=" + "x" * 5000, {}, 414, 414),
    ("POST", "/v1/ingest", {"content": b"{}", "headers": {"Content-Type": "text/csv"}}, 415, 415),
    ("POST", "/v1/ingest", {"content": b"{", "headers": JSON}, 422, 422),
]


@pytest.fixture
def app_client(db_url: str) -> Iterator[TestClient]:
    settings = make_settings(db_url, seed=True, max_body_bytes=64 * 1024, cors_origins=[ALLOWED])
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "anonymous", "keyed"),
    ANSWERS,
    ids=[f"{m} {u[:30]} {s}" for m, u, _, s, _ in ANSWERS],
)
@pytest.mark.parametrize("authed", [False, True], ids=["anonymous", "with-key"])
def test_every_answer_carries_the_security_headers(
    app_client: TestClient,
    method: str,
    url: str,
    kwargs: dict[str, Any],
    anonymous: int,
    keyed: int,
    authed: bool,
) -> None:
    kwargs = dict(kwargs)
    headers = {**kwargs.pop("headers", {}), **(AUTH if authed else {})}
    r = app_client.request(method, url, headers=headers, **kwargs)
    assert r.status_code == (keyed if authed else anonymous), (r.status_code, r.text[:200])
    assert r.headers["x-content-type-options"] == "nosniff"
    if authed:
        # Exactly one Cache-Control, and it forbids storing: a route's own policy is replaced.
        assert r.headers.get_list("cache-control") == ["no-store"]
    if r.status_code >= 400 and method != "HEAD":
        assert_problem(r, r.status_code)


def _fail_with(c: TestClient, monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise exc

    monkeypatch.setattr(c.app.state.store, "sync", boom)  # type: ignore[attr-defined]


LEAKY = "SELECT secret FROM actor WHERE 1=1 -- /work/main/app/graph/store.py line 42"


def test_a_server_failure_says_nothing_about_the_server(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_with(app_client, monkeypatch, RuntimeError(LEAKY))
    for url, headers in [("/v1/actors/iran/ties", {}), ("/v1/revision", AUTH)]:
        r = app_client.get(url, headers=headers)
        body = assert_problem(r, 500)
        assert body["detail"] == "The server failed; the error was logged."
        assert "secret" not in r.text and "store.py" not in r.text and "Runtime" not in r.text
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"


def test_a_database_that_is_gone_is_503_with_retry_after(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = OperationalError(LEAKY, {}, Exception("could not connect to server: Connection refused"))
    _fail_with(app_client, monkeypatch, gone)
    r = app_client.get("/v1/actors/iran/ties")
    body = assert_problem(r, 503)
    assert r.headers["retry-after"] == "1"
    assert "retry" in body["detail"]
    assert "SELECT" not in r.text and "refused" not in r.text


def test_a_database_bug_is_a_500_without_its_sql(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_with(app_client, monkeypatch, OperationalError(LEAKY, {}, Exception("no such column: x")))
    r = app_client.get("/v1/actors/iran/ties")
    assert_problem(r, 500)
    assert "SELECT" not in r.text and "no such column" not in r.text


def test_cors_admits_only_the_configured_origin_with_credentials(app_client: TestClient) -> None:
    r = app_client.get("/v1/revision", headers={"Origin": ALLOWED})
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "etag" in r.headers["access-control-expose-headers"].lower()
    assert "*" not in r.headers.get("access-control-allow-origin", "")
    pre = app_client.options(
        "/v1/ingest",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == ALLOWED
    refused = app_client.options(
        "/v1/ingest",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    body = assert_problem(refused, 400)
    assert "KG_CORS_ORIGINS" in body["detail"]
    assert "access-control-allow-origin" not in refused.headers


def test_a_conditional_write_is_never_answered_not_modified(app_client: TestClient) -> None:
    """If-None-Match makes reads cheap; it must never turn a write into a silent no-op."""
    same = app_client.get("/v1/actors/iraq").json()["description"]
    # A write that changes nothing keeps the revision, so its ETag is the one the next has.
    etag = app_client.patch("/v1/actors/iraq", json={"description": same}, headers=AUTH).headers[
        "etag"
    ]
    r = app_client.patch(
        "/v1/actors/iraq", json={"description": "Changed."}, headers={**AUTH, "If-None-Match": etag}
    )
    assert r.status_code == 200, r.text
    assert app_client.get("/v1/actors/iraq").json()["description"] == "Changed."


@pytest.mark.parametrize(
    "url",
    [
        "/static/..%2f..%2fapp/main.py",
        "/static/../app/main.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%5c..%5capp%5cmain.py",
        "/static/%00",
    ],
)
def test_static_files_never_leave_their_directory(app_client: TestClient, url: str) -> None:
    r = app_client.get(url)
    assert r.status_code in (400, 404), r.status_code
    assert "import" not in r.text and "[project]" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
