"""Actors: ranked search, read, and the keyed writes PUT / PATCH / DELETE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import AUTH, READ_KEY, make_settings

PROBLEM = "application/problem+json"


def revision(client: TestClient) -> int:
    return int(client.get("/v1/revision").json()["revision"])


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    r = client.get("/v1/actors", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def ids(page: dict[str, Any]) -> list[str]:
    return [a["id"] for a in page["items"]]


def add_actors(client: TestClient, *actors: dict[str, Any]) -> None:
    r = client.post("/v1/ingest", json={"actors": list(actors)}, headers=AUTH)
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- search


def test_search_ranks_exact_name_then_alias_then_prefix_then_substring(
    client: TestClient,
) -> None:
    # Inserted in an order, and with names, that alphabetical order would get wrong.
    add_actors(
        client,
        {"id": "red-falcon", "name": "Red Falcon", "kind": "armed_group"},
        {"id": "falcon-brigade", "name": "Falcon Brigade", "kind": "armed_group"},
        {"id": "bird-unit", "name": "Bird Unit", "kind": "organization", "aliases": ["Falcon"]},
        {"id": "falcon", "name": "Falcon", "kind": "armed_group"},
        {"id": "eagle", "name": "Eagle", "kind": "armed_group"},
    )
    page = search(client, q="falcon")
    assert ids(page) == ["falcon", "bird-unit", "falcon-brigade", "red-falcon"]
    assert [a["rank"] for a in page["items"]] == [0, 1, 2, 3]
    assert page["total"] == 4


@pytest.mark.parametrize("q", ["sudani", "SUDANI", "Sudání", "  sudani  ", "al sudani"])
def test_search_is_case_and_accent_insensitive(seeded: TestClient, q: str) -> None:
    page = search(seeded, q=q)
    assert ids(page)[0] == "mohammed-shia-al-sudani"


def test_search_finds_accented_aliases_from_plain_text(seeded: TestClient) -> None:
    assert ids(search(seeded, q="turkiye")) == ["turkey"]


def test_search_by_alias_finds_the_actor(seeded: TestClient) -> None:
    page = search(seeded, q="Daesh")
    assert ids(page) == ["isis"]
    assert page["items"][0]["rank"] == 1


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("100%", ["hundred-percent"]),
        ("a_b", ["a-underscore-b"]),
        ("%", ["hundred-percent"]),
        ("_", ["a-underscore-b"]),
        ("k\\s", ["back-slash"]),
    ],
)
def test_like_metacharacters_in_search_are_literal(
    client: TestClient, q: str, expected: list[str]
) -> None:
    add_actors(
        client,
        {"id": "hundred-percent", "name": "100% Group", "kind": "organization"},
        {"id": "hundred", "name": "1000 Group", "kind": "organization"},
        {"id": "a-underscore-b", "name": "A_B Corp", "kind": "organization"},
        {"id": "axb", "name": "AxB Corp", "kind": "organization"},
        {"id": "back-slash", "name": "Back\\Slash", "kind": "organization"},
        {"id": "backs", "name": "Backs Lash", "kind": "organization"},
    )
    assert ids(search(client, q=q)) == expected


def test_sql_in_search_text_is_just_text(seeded: TestClient) -> None:
    page = search(seeded, q="'; DROP TABLE actor; --")
    assert page == {**page, "items": [], "total": 0}
    assert search(seeded)["total"] == 28


def test_kind_filter_keeps_only_that_kind(seeded: TestClient) -> None:
    everything = search(seeded, q="al", limit=100)
    assert {a["kind"] for a in everything["items"]} > {"person"}
    people = search(seeded, q="al", kind="person", limit=100)
    assert people["items"]
    assert {a["kind"] for a in people["items"]} == {"person"}
    assert people["total"] == len(people["items"]) < everything["total"]
    assert set(ids(search(seeded, kind="think_tank"))) == {
        "iraqi-political-thinking-centre",
        "political-decision-think-tank",
    }


def test_unknown_kind_filter_is_422(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors", params={"kind": "empire"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "armed_group" in r.text


def test_paging_walks_every_actor_once_with_a_stable_total(seeded: TestClient) -> None:
    seen: list[str] = []
    for offset in range(0, 30, 7):
        page = search(seeded, limit=7, offset=offset)
        assert (page["total"], page["limit"], page["offset"]) == (28, 7, offset)
        assert len(page["items"]) == min(7, 28 - offset)
        seen += ids(page)
    assert len(seen) == len(set(seen)) == 28
    assert search(seeded, limit=7, offset=28)["items"] == []


def test_paging_a_search_keeps_the_ranking(seeded: TestClient) -> None:
    full = ids(search(seeded, q="al", limit=100))
    assert len(full) > 4
    paged = ids(search(seeded, q="al", limit=3)) + ids(search(seeded, q="al", limit=3, offset=3))
    assert paged == full[:6]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 10000}, {"limit": "ten"}, {"offset": -1}, {"limit": -5}]
)
def test_out_of_range_paging_is_422(seeded: TestClient, params: dict[str, Any]) -> None:
    r = seeded.get("/v1/actors", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert [e["pointer"] for e in r.json()["errors"]] == ["/" + next(iter(params))]


# ---------------------------------------------------------------- read


def test_get_actor_returns_the_record(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/houthis")
    assert r.status_code == 200
    body = r.json()
    assert (body["id"], body["name"], body["kind"], body["country"]) == (
        "houthis",
        "Houthis",
        "armed_group",
        "YE",
    )
    assert "Ansar Allah" in body["aliases"]


def test_get_unknown_actor_is_404_naming_it(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/atlantis")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == 404
    assert "atlantis" in body["detail"]


# ---------------------------------------------------------------- keyed writes


def test_put_creates_then_replaces_the_actor(client: TestClient) -> None:
    first = {
        "name": "Zeta Council",
        "kind": "political_group",
        "aliases": ["Zeta"],
        "country": "IQ",
        "description": "A council.",
        "attributes": {"founded": 2020},
    }
    r = client.put("/v1/actors/zeta", json=first, headers=AUTH)
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in first} == first
    assert client.get("/v1/actors/zeta").json()["name"] == "Zeta Council"

    second = {"name": "Zeta Assembly", "kind": "organization"}
    r = client.put("/v1/actors/zeta", json=second, headers=AUTH)
    assert r.status_code == 200, r.text
    got = client.get("/v1/actors/zeta").json()
    # A PUT replaces every field: what was not sent is back to its default.
    assert (
        got["name"],
        got["kind"],
        got["aliases"],
        got["country"],
        got["description"],
        got["attributes"],
    ) == ("Zeta Assembly", "organization", [], None, None, {})
    assert search(client, q="zeta council")["total"] == 0
    assert ids(search(client, q="zeta assembly")) == ["zeta"]


def test_put_with_an_invalid_body_is_422_and_creates_nothing(client: TestClient) -> None:
    r = client.put(
        "/v1/actors/zeta", json={"name": "Zeta", "kind": "empire", "id": "zeta"}, headers=AUTH
    )
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json()["errors"]} == {"/kind", "/id"}
    assert client.get("/v1/actors/zeta").status_code == 404


def test_put_with_a_non_slug_id_is_422(client: TestClient) -> None:
    r = client.put("/v1/actors/Zeta_Council", json={"name": "Zeta", "kind": "state"}, headers=AUTH)
    assert r.status_code == 422
    assert revision(client) == 0


def test_patch_changes_one_field_and_keeps_the_rest(seeded: TestClient) -> None:
    before = seeded.get("/v1/actors/iraq").json()
    r = seeded.patch("/v1/actors/iraq", json={"description": "Revised."}, headers=AUTH)
    assert r.status_code == 200, r.text
    after = seeded.get("/v1/actors/iraq").json()
    assert after["description"] == "Revised."
    for field in ("name", "kind", "aliases", "country", "attributes", "created_at"):
        assert after[field] == before[field], field


def test_patching_a_name_is_seen_by_search_and_by_counterparts(seeded: TestClient) -> None:
    r = seeded.patch("/v1/actors/houthis", json={"name": "Ansarallah Movement"}, headers=AUTH)
    assert r.status_code == 200
    assert ids(search(seeded, q="ansarallah movement"))[0] == "houthis"
    iran_ties = seeded.get("/v1/actors/iran/ties", params={"type": "sponsors"}).json()["items"]
    names = {t["counterpart"]["id"]: t["counterpart"]["name"] for t in iran_ties}
    assert names["houthis"] == "Ansarallah Movement"


def test_patch_unknown_actor_is_404(seeded: TestClient) -> None:
    r = seeded.patch("/v1/actors/atlantis", json={"description": "x"}, headers=AUTH)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "atlantis" in r.json()["detail"]


def test_patch_with_an_unknown_field_is_422(seeded: TestClient) -> None:
    rev = revision(seeded)
    r = seeded.patch("/v1/actors/iraq", json={"population": 46}, headers=AUTH)
    assert r.status_code == 422
    assert revision(seeded) == rev


def test_delete_actor_with_relationships_is_409(seeded: TestClient) -> None:
    rev = revision(seeded)
    r = seeded.delete("/v1/actors/iraq", headers=AUTH)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "cascade" in r.json()["detail"]
    assert seeded.get("/v1/actors/iraq").status_code == 200
    assert revision(seeded) == rev


def test_delete_with_cascade_removes_the_actor_and_its_ties(seeded: TestClient) -> None:
    syria_before = seeded.get("/v1/actors/syria/ties").json()
    assert "iraq" in {t["counterpart"]["id"] for t in syria_before["items"]}
    r = seeded.delete("/v1/actors/iraq", params={"cascade": "true"}, headers=AUTH)
    assert r.status_code == 204
    assert r.content == b""
    assert seeded.get("/v1/actors/iraq").status_code == 404
    assert seeded.get("/v1/actors/iraq/ties").status_code == 404
    syria_after = seeded.get("/v1/actors/syria/ties").json()
    assert "iraq" not in {t["counterpart"]["id"] for t in syria_after["items"]}
    assert syria_after["total"] < syria_before["total"]
    assert search(seeded, q="baghdad")["total"] == 0


def test_delete_actor_without_relationships_is_204(client: TestClient) -> None:
    client.put("/v1/actors/zeta", json={"name": "Zeta", "kind": "state"}, headers=AUTH)
    assert client.delete("/v1/actors/zeta", headers=AUTH).status_code == 204
    assert client.get("/v1/actors/zeta").status_code == 404
    assert client.delete("/v1/actors/zeta", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdDp0ZXN0"}]
)
def test_delete_without_a_valid_key_is_401(seeded: TestClient, headers: dict[str, str]) -> None:
    r = seeded.delete("/v1/actors/hamas", params={"cascade": "true"}, headers=headers)
    assert r.status_code == 401
    assert "www-authenticate" in r.headers
    assert seeded.get("/v1/actors/hamas").status_code == 200


@pytest.mark.parametrize(
    ("method", "body"), [("put", {"name": "X", "kind": "state"}), ("patch", {"description": "x"})]
)
def test_put_and_patch_without_a_key_are_401(
    seeded: TestClient, method: str, body: dict[str, Any]
) -> None:
    r = seeded.request(method.upper(), "/v1/actors/hamas", json=body)
    assert r.status_code == 401
    assert seeded.get("/v1/actors/hamas").json()["name"] == "Hamas"


def test_every_write_bumps_the_revision_by_one(client: TestClient) -> None:
    rev = revision(client)
    client.put("/v1/actors/zeta", json={"name": "Zeta", "kind": "state"}, headers=AUTH)
    assert revision(client) == rev + 1
    client.patch("/v1/actors/zeta", json={"country": "IQ"}, headers=AUTH)
    assert revision(client) == rev + 2
    client.delete("/v1/actors/zeta", headers=AUTH)
    assert revision(client) == rev + 3
    actions = [c["action"] for c in client.get("/v1/changes").json()["items"]]
    assert actions == ["actor.put", "actor.patch", "actor.delete"]


def test_a_write_that_changes_nothing_keeps_the_revision(client: TestClient) -> None:
    body = {"name": "Zeta", "kind": "state"}
    client.put("/v1/actors/zeta", json=body, headers=AUTH)
    rev = revision(client)
    assert client.put("/v1/actors/zeta", json=body, headers=AUTH).status_code == 200
    assert client.patch("/v1/actors/zeta", json={"name": "Zeta"}, headers=AUTH).status_code == 200
    assert revision(client) == rev


def test_timestamps_carry_a_utc_offset_when_read_back(client: TestClient) -> None:
    created = client.put(
        "/v1/actors/zeta", json={"name": "Zeta", "kind": "state"}, headers=AUTH
    ).json()
    got = client.get("/v1/actors/zeta").json()
    for field in ("created_at", "updated_at"):
        assert datetime.fromisoformat(got[field]).utcoffset() is not None, got[field]
        assert datetime.fromisoformat(got[field]) == datetime.fromisoformat(created[field])


def test_wrong_method_is_405_with_allow(seeded: TestClient) -> None:
    r = seeded.post("/v1/actors/iraq", json={}, headers=AUTH)
    assert r.status_code == 405
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "GET" in r.headers["allow"]
    assert seeded.get("/v1/actors/iraq").status_code == 200


def test_405_allow_header_lists_every_method_of_the_resource(seeded: TestClient) -> None:
    r = seeded.post("/v1/actors/iraq", json={}, headers=AUTH)
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"GET", "PUT", "PATCH", "DELETE"} <= allowed


@pytest.mark.parametrize(
    "path",
    ["/v1/actors/iraq", "/v1/actors?q=iraq", "/v1/actors/iraq/ties", "/v1/revision", "/v1/changes"],
)
def test_reads_need_a_key_when_read_keys_are_set(db_url: str, path: str) -> None:
    settings = make_settings(db_url, seed=True, read_keys=[READ_KEY])
    with TestClient(create_app(settings)) as locked:
        r = locked.get(path)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith(PROBLEM)
        assert "www-authenticate" in r.headers
        assert locked.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert locked.get(path, headers={"Authorization": f"Bearer {READ_KEY}"}).status_code == 200
        assert locked.get(path, headers=AUTH).status_code == 200


def test_a_read_key_cannot_write(db_url: str) -> None:
    settings = make_settings(db_url, seed=True, read_keys=[READ_KEY])
    with TestClient(create_app(settings)) as locked:
        r = locked.patch(
            "/v1/actors/iraq",
            json={"description": "x"},
            headers={"Authorization": f"Bearer {READ_KEY}"},
        )
        assert r.status_code in (401, 403)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert locked.get("/v1/actors/iraq", headers=AUTH).json()["description"] != "x"
