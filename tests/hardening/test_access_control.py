"""Access: write keys, the optional read requirement, how keys are kept and compared, and the
change log that says which key wrote what, and when."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import auth
from app.auth import KeyRing, key_digest, key_id
from app.main import create_app
from tests.conftest import AUTH, READ_KEY, WRITE_KEY, make_settings
from tests.hardening.helpers import assert_problem

OTHER_WRITE_KEY = "second-write-key"
READ = {"Authorization": f"Bearer {READ_KEY}"}
OTHER = {"Authorization": f"Bearer {OTHER_WRITE_KEY}"}

WRITE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/ingest", {"actors": [{"id": "oman", "name": "Oman", "kind": "state"}]}),
    ("PUT", "/v1/actors/oman", {"name": "Oman", "kind": "state"}),
    ("PATCH", "/v1/actors/iraq", {"description": "Changed."}),
    ("DELETE", "/v1/actors/hamas?cascade=true", None),
]
READ_ROUTES = [
    "/v1/actors?q=iraq",
    "/v1/actors/iran",
    "/v1/actors/iran/ties",
    "/v1/actors/iran/neighborhood",
    "/v1/actors/iran/proxies",
    "/v1/actors/houthis/patrons",
    "/v1/actors/iran/timeline",
    "/v1/paths?from=iran&to=hamas",
    "/v1/analytics/blocs",
    "/v1/analytics/balance",
    "/v1/analytics/centrality",
    "/v1/graph",
    "/v1/diff?from=2024-01-01&to=2025-01-01",
    "/v1/changes?since=0",
    "/v1/revision",
    "/v1/sources",
]


@pytest.fixture
def locked(db_url: str) -> Iterator[TestClient]:
    """Two write keys, one read key, and reads closed to anyone without a key."""
    settings = make_settings(
        db_url, seed=True, api_keys=[WRITE_KEY, OTHER_WRITE_KEY], read_keys=[READ_KEY]
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("url", READ_ROUTES)
def test_with_read_keys_set_every_read_needs_a_key(locked: TestClient, url: str) -> None:
    r = locked.get(url)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert locked.get(url, headers=READ).status_code == 200
    assert locked.get(url, headers=AUTH).status_code == 200
    assert_problem(locked.get(url, headers={"Authorization": "Bearer guess"}), 401)
    assert_problem(locked.get(url + ("&" if "?" in url else "?") + f"api_key={READ_KEY}"), 401)


def test_read_keys_are_off_by_default(seeded: TestClient) -> None:
    for url in READ_ROUTES:
        assert seeded.get(url).status_code == 200, url


@pytest.mark.parametrize(("method", "url", "body"), WRITE_ROUTES)
def test_a_read_key_on_any_write_route_is_403_and_writes_nothing(
    locked: TestClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    before = locked.get("/v1/revision", headers=READ).json()["revision"]
    r = locked.request(method, url, json=body, headers=READ)
    assert_problem(r, 403)
    assert locked.get("/v1/revision", headers=READ).json()["revision"] == before


@pytest.mark.parametrize(("method", "url", "body"), WRITE_ROUTES)
def test_the_change_log_names_the_key_by_id_and_says_when(
    locked: TestClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    since = locked.get("/v1/revision", headers=READ).json()["revision"]
    start = datetime.now(UTC) - timedelta(seconds=1)
    r = locked.request(method, url, json=body, headers=OTHER)
    assert r.status_code in (200, 201, 204), r.text
    changes = locked.get("/v1/changes", params={"since": since}, headers=READ).json()
    [entry] = changes["items"]
    assert entry["revision"] == since + 1 == changes["next_since"]
    assert entry["key_id"] == key_id(key_digest(OTHER_WRITE_KEY))
    assert entry["key_id"] != key_id(key_digest(WRITE_KEY))
    assert OTHER_WRITE_KEY not in str(changes) and key_digest(OTHER_WRITE_KEY) not in str(changes)
    at = datetime.fromisoformat(entry["at"])
    assert at.tzinfo is not None and start <= at <= datetime.now(UTC) + timedelta(seconds=1)
    assert entry["actors"] or entry["relationships"] or entry["sources"]


def test_the_change_log_pages_with_since(locked: TestClient) -> None:
    for name in ("Oman", "Qatar", "Bahrain"):
        r = locked.put(
            f"/v1/actors/{name.lower()}", json={"name": name, "kind": "state"}, headers=AUTH
        )
        assert r.status_code == 201
    head = locked.get("/v1/revision", headers=READ).json()["revision"]
    seen: list[int] = []
    since = 0
    while True:
        page = locked.get("/v1/changes", params={"since": since, "limit": 2}, headers=READ).json()
        if not page["items"]:
            break
        seen += [c["revision"] for c in page["items"]]
        since = page["next_since"]
    assert seen == list(range(1, head + 1))


def test_keys_are_kept_only_as_hashes(locked: TestClient) -> None:
    ring: KeyRing = locked.app.state.keyring  # type: ignore[attr-defined]
    kept = repr(ring) + repr(vars(ring) if hasattr(ring, "__dict__") else ring)
    for key in (WRITE_KEY, OTHER_WRITE_KEY, READ_KEY):
        assert key not in kept
    assert key_digest(WRITE_KEY) in ring.write and key_digest(READ_KEY) in ring.read


def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stored digest is compared, with hmac.compare_digest, whether or not one matches."""
    calls: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    ring = KeyRing.from_keys(["w1", "w2", "w3"], ["r1", "r2"])
    for key, role, compared in [
        ("w1", "write", 3),
        ("w3", "write", 3),
        ("r1", "read", 5),
        ("x", None, 5),
    ]:
        calls.clear()
        assert ring.role(key) == role
        assert len(calls) == compared, (key, len(calls))


def test_a_generated_key_is_printed_once_and_works(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(make_settings(db_url, api_keys=[]))) as c:
        printed = capsys.readouterr().out
        key = next(w for w in printed.split() if w.startswith("kg_"))
        r = c.put(
            "/v1/actors/oman",
            json={"name": "Oman", "kind": "state"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201
        assert_problem(c.put("/v1/actors/oman", json={"name": "Oman", "kind": "state"}), 401)
        c.get("/v1/actors/oman")
        assert key not in capsys.readouterr().out  # shown at start-up, never again
