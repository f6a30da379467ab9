"""Browser origins: configured ones are admitted, others get nothing, never a wildcard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.main import create_app
from app.settings import Settings
from tests.conftest import make_settings

ALLOWED = "https://newsroom.example"


@pytest.fixture
def cors(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(db_url, cors_origins=[ALLOWED]))) as c:
        yield c


def test_configured_origin_is_admitted_with_credentials(cors: TestClient) -> None:
    r = cors.get("/v1/revision", headers={"Origin": ALLOWED})
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert r.headers["access-control-allow-credentials"] == "true"
    pre = cors.options(
        "/v1/ingest",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == ALLOWED


def test_other_origins_get_no_cors_headers(cors: TestClient) -> None:
    r = cors.get("/v1/revision", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    pre = cors.options(
        "/v1/ingest",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers


def test_no_origin_configured_means_no_cors(client: TestClient) -> None:
    r = client.get("/v1/revision", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in r.headers


def test_a_wildcard_origin_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError):
        Settings(cors_origins=["*"])  # type: ignore[list-item]
