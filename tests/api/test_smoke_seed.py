"""The seed graph answers the questions the service exists for."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_health_reports_revision(seeded: TestClient) -> None:
    r = seeded.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["revision"] >= 1
