"""Every error is problem+json that says what is wrong and leaks nothing of the server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import AUTH, make_settings

PROBLEM = "application/problem+json"
LEAKS = (
    "Traceback",
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "/work/",
    "site-packages",
    '.py"',
    "SELECT ",
    'File "',
)
FILE_PATH = re.compile(r"(/[\w.-]+){2,}\.(py|sqlite3|db)\b")


def assert_problem(r: Any, status: int | set[int]) -> dict[str, Any]:
    statuses = {status} if isinstance(status, int) else status
    assert r.status_code in statuses, (r.status_code, r.text)
    assert r.headers["content-type"].split(";")[0] == PROBLEM
    body = r.json()
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == r.status_code
    assert isinstance(body["detail"], str) and body["detail"]
    for e in body.get("errors") or []:
        assert isinstance(e["pointer"], str) and isinstance(e["message"], str)
    for leak in LEAKS:
        assert leak.lower() not in r.text.lower(), leak
    assert not FILE_PATH.search(r.text), r.text
    return dict(body)


JSON = {"Content-Type": "application/json"}

ERROR_REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", "/v1/actors/atlantis", {}, 404),
    ("GET", "/v1/actors/atlantis/ties", {}, 404),
    ("GET", "/v1/no-such-route", {}, 404),
    ("GET", "/v1/actors?limit=0", {}, 422),
    ("GET", "/v1/actors?kind=empire", {}, 422),
    ("GET", "/v1/actors/iraq/ties?as_of=2023-02-30", {}, 422),
    ("GET", "/v1/actors/Not_A_Slug", {}, 422),
    ("GET", "/v1/changes?since=-1", {}, 422),
    ("POST", "/v1/ingest", {"json": {}}, 401),
    ("POST", "/v1/ingest", {"json": {}, "headers": {"Authorization": "Bearer nope"}}, 401),
    (
        "POST",
        "/v1/ingest",
        {"content": b"{}", "headers": {**AUTH, "Content-Type": "text/csv"}},
        415,
    ),
    ("POST", "/v1/ingest", {"content": b'{"actors": [', "headers": {**AUTH, **JSON}}, 422),
    ("POST", "/v1/ingest", {"content": b'{"a": 1, "a": 2}', "headers": {**AUTH, **JSON}}, 422),
    ("POST", "/v1/ingest", {"content": b'{"actors": NaN}', "headers": {**AUTH, **JSON}}, 422),
    (
        "POST",
        "/v1/ingest",
        {"json": {"actors": [{"name": "X", "kind": "empire"}]}, "headers": AUTH},
        422,
    ),
    (
        "POST",
        "/v1/ingest",
        {
            "json": {
                "relationships": [
                    {
                        "source": "iraq",
                        "target": "atlantis",
                        "type": "allied_with",
                        "evidence": [
                            {"source": "the-national-2025-04-04-iraq-syria", "quote": "Iraq"}
                        ],
                    }
                ]
            },
            "headers": AUTH,
        },
        422,
    ),
    ("GET", "/v1/ingest", {}, 405),
    ("POST", "/v1/actors/iraq", {"json": {}, "headers": AUTH}, 405),
    ("DELETE", "/v1/actors/iraq", {"headers": AUTH}, 409),
    ("PATCH", "/v1/actors/atlantis", {"json": {"description": "x"}, "headers": AUTH}, 404),
    ("GET", "/v1/sources/no-such-source", {}, 404),
    ("GET", "/v1/actors?q=" + "x" * 5000, {}, 414),
]


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    ERROR_REQUESTS,
    ids=[f"{m} {u[:40]} {s}" for m, u, _, s in ERROR_REQUESTS],
)
def test_every_error_is_problem_json_without_leaks(
    seeded: TestClient, method: str, url: str, kwargs: dict[str, Any], status: int
) -> None:
    assert_problem(seeded.request(method, url, **kwargs), status)


def test_validation_errors_name_each_bad_item(seeded: TestClient) -> None:
    body = assert_problem(seeded.get("/v1/actors", params={"limit": 0, "offset": -1}), 422)
    assert {e["pointer"] for e in body["errors"]} == {"/limit", "/offset"}


def test_validation_errors_do_not_echo_the_bad_value(client: TestClient) -> None:
    secret = "<script>alert('x')</script>"
    r = client.post("/v1/ingest", json={"actors": [{"name": "X", "kind": secret}]}, headers=AUTH)
    assert_problem(r, 422)
    assert secret not in r.text


def test_lone_surrogate_in_a_body_is_422_with_valid_json(client: TestClient) -> None:
    r = client.post(
        "/v1/ingest",
        content=b'{"actors": [{"name": "X\\ud800", "kind": "state"}]}',
        headers={**AUTH, **JSON},
    )
    body = assert_problem(r, 422)
    assert [e["pointer"] for e in body["errors"]] == ["/actors/0/name"]
    assert client.get("/v1/revision").json()["revision"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/v1/actors/..%2F",
        "/v1/actors/..%2F..%2Fetc%2Fpasswd",
        "/v1/actors/%2e%2e",
        "/v1/actors/%00",
        "/v1/actors/a%2Fb",
        "/v1/actors/%ED%A0%80",
        "/v1/actors/iraq%00",
        "/v1/actors/..%2F/ties",
        "/v1/actors/%00/ties",
        "/v1/sources/..%2F",
        "/v1/sources/a%2Fb",
        "/v1/sources/src%01x",
    ],
)
def test_odd_path_parameters_are_404_or_422(seeded: TestClient, path: str) -> None:
    assert_problem(seeded.get(path), {404, 422})


def test_nul_in_a_source_id_is_404_or_422(seeded: TestClient) -> None:
    assert_problem(seeded.get("/v1/sources/%00"), {404, 422})


@pytest.mark.parametrize("q", ["\x00", "iraq\x00", "\x07"])
def test_control_characters_in_search_text_are_422(seeded: TestClient, q: str) -> None:
    assert_problem(seeded.get("/v1/actors", params={"q": q}), 422)


@pytest.mark.parametrize("path", ["/v1/actors/{id}", "/v1/actors/{id}/ties", "/v1/sources/{id}"])
def test_ten_kilobyte_ids_are_refused_not_500(db_url: str, path: str) -> None:
    # A URL cap above 10 KB, so that the id reaches the route's own validation.
    settings = make_settings(db_url, seed=True, max_url_length=65536)
    with TestClient(create_app(settings)) as roomy:
        assert_problem(roomy.get(path.format(id="a" * 10_240)), {404, 422})


def test_ten_kilobyte_id_under_the_default_url_cap(seeded: TestClient) -> None:
    assert_problem(seeded.get("/v1/actors/" + "a" * 10_240), {404, 414, 422})


def test_over_long_url_is_414(seeded: TestClient) -> None:
    body = assert_problem(seeded.get("/v1/actors", params={"q": "iraq", "pad": "x" * 5000}), 414)
    assert "URL" in body["detail"] or "url" in body["detail"].lower()


def test_url_just_under_the_cap_is_served(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors", params={"q": "iraq", "pad": "x" * 3000})
    assert r.status_code == 200


def test_unauthorised_write_names_the_scheme(seeded: TestClient) -> None:
    r = seeded.put("/v1/actors/iraq", json={"name": "Iraq", "kind": "state"})
    body = assert_problem(r, 401)
    assert r.headers["www-authenticate"].lower().startswith("bearer")
    assert "Authorization" in body["detail"]
