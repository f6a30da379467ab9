"""The record reads: the engine path (driver cursor) answers as the session path does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError

from app.db import read_session
from app.repo import SqlFeed, dbapi_cursor, relationship_records


def test_records_read_through_the_engine_match_the_session(seeded: TestClient) -> None:
    engine = seeded.app.state.engine  # type: ignore[attr-defined]
    ids = [t["id"] for t in seeded.get("/v1/actors/iran/ties").json()["items"]]
    with read_session(engine) as session:
        expected = relationship_records(session, [*ids, 10**9])
    got = relationship_records(engine, [*ids, 10**9])
    assert got == expected and set(got) == set(ids)
    assert any(r["evidence"] for r in got.values())


def test_the_head_revision_follows_writes(seeded: TestClient) -> None:
    feed = SqlFeed(seeded.app.state.engine)  # type: ignore[attr-defined]
    before = feed.head()
    assert before == seeded.get("/v1/revision").json()["revision"]
    r = seeded.patch(
        "/v1/actors/iraq",
        json={"description": "Changed."},
        headers={"Authorization": "Bearer test-write-key"},
    )
    assert r.status_code == 200
    assert feed.head() == before + 1


def test_driver_errors_surface_as_sqlalchemy_errors(seeded: TestClient) -> None:
    # The error handlers map SQLAlchemy's errors (a busy database's OperationalError is a 503).
    # Which subclass a missing table raises is the driver's choice: OperationalError on
    # SQLite, ProgrammingError on PostgreSQL.
    engine = seeded.app.state.engine  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError) as caught, dbapi_cursor(engine) as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert isinstance(caught.value.orig, engine.dialect.loaded_dbapi.Error)
