"""Access control: write keys, the optional read requirement, and what the change log records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import AUTH, READ_KEY, WRITE_KEY, make_settings

READ = {"Authorization": f"Bearer {READ_KEY}"}


@pytest.fixture
def locked(db_url: str) -> Iterator[TestClient]:
    """A server where reads need a key too."""
    with TestClient(create_app(make_settings(db_url, read_keys=[READ_KEY], seed=True))) as c:
        yield c


def test_reads_are_open_by_default(seeded: TestClient) -> None:
    assert seeded.get("/v1/actors/iran").status_code == 200


def test_read_keys_close_reads_but_not_health(locked: TestClient) -> None:
    r = locked.get("/v1/actors/iran")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert locked.get("/v1/actors/iran", headers=READ).status_code == 200
    assert locked.get("/v1/actors/iran", headers=AUTH).status_code == 200
    assert locked.get("/health").status_code == 200


def test_a_read_key_on_a_write_route_is_403(locked: TestClient) -> None:
    r = locked.put("/v1/actors/oman", json={"name": "Oman", "kind": "state"}, headers=READ)
    assert r.status_code == 403
    assert locked.get("/v1/actors/oman", headers=READ).status_code == 404


def test_keys_in_the_query_string_are_refused(locked: TestClient) -> None:
    r = locked.get("/v1/actors/iran", params={"api_key": READ_KEY})
    assert r.status_code == 401
    r = locked.put(
        "/v1/actors/oman", params={"token": WRITE_KEY}, json={"name": "Oman", "kind": "state"}
    )
    assert r.status_code == 401


def test_change_log_names_the_key_by_id_never_the_key(seeded: TestClient) -> None:
    seeded.put("/v1/actors/oman", json={"name": "Oman", "kind": "state"}, headers=AUTH)
    last = seeded.get("/v1/changes", params={"since": 0}).json()["items"][-1]
    assert last["action"] == "actor.put" and last["actors"] == ["oman"]
    assert last["key_id"].startswith("key-") and WRITE_KEY not in str(last)


def test_authenticated_responses_are_not_cached(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/iran", headers=AUTH)
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_openapi_declares_the_bearer_scheme(seeded: TestClient) -> None:
    schema = seeded.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["WriteKey"]["scheme"] == "bearer"
    ingest = schema["paths"]["/v1/ingest"]["post"]
    assert {"WriteKey": []} in ingest["security"]
