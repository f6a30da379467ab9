"""POST /v1/ingest: one batch is one transaction; bad input is refused whole and named by pointer."""

from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import AUTH, WRITE_KEY, make_settings

PROBLEM = "application/problem+json"

SOURCE_TEXT = (
    "The ministry said on Monday that Alpha Republic and Beta Kingdom “signed a new "
    "security pact”. Officials in Gamma Front said they receive   weapons\n from "
    'Alpha Republic. It’s a "long-standing" tie, one official said.'
)


def small_batch() -> dict[str, Any]:
    """Three actors, two relationships (one undirected, one directed), one source with text."""
    return {
        "sources": [
            {
                "id": "src-1",
                "url": "https://example.org/news/1",
                "title": "Pact signed",
                "publisher": "Example News",
                "published": "2025-01-02",
                "text": SOURCE_TEXT,
            }
        ],
        "actors": [
            {"id": "alpha", "name": "Alpha Republic", "kind": "state", "aliases": ["Alpha"]},
            {"id": "beta", "name": "Beta Kingdom", "kind": "state"},
            {"id": "gamma", "name": "Gamma Front", "kind": "armed_group"},
        ],
        "relationships": [
            {
                "source": "alpha",
                "target": "beta",
                "type": "cooperates_with",
                "valid_from": "2025-01",
                "confidence": 0.9,
                "evidence": [{"source": "src-1", "quote": "signed a new security pact"}],
            },
            {
                "source": "alpha",
                "target": "gamma",
                "type": "sponsors",
                "attributes": {"support": ["arms"]},
                "evidence": [{"source": "src-1", "quote": "Officials in Gamma Front said"}],
            },
        ],
    }


def ingest(client: TestClient, batch: Any, **headers: str) -> Any:
    return client.post("/v1/ingest", json=batch, headers={**AUTH, **headers})


def revision(client: TestClient) -> int:
    r = client.get("/v1/revision")
    assert r.status_code == 200
    return int(r.json()["revision"])


def ties(client: TestClient, actor_id: str, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"/v1/actors/{actor_id}/ties", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def pointers(response: Any) -> list[str]:
    assert response.headers["content-type"].startswith(PROBLEM)
    return [e["pointer"] for e in response.json().get("errors") or []]


def assert_nothing_written(client: TestClient, before: int = 0) -> None:
    assert revision(client) == before
    assert client.get("/v1/actors/alpha").status_code == 404
    assert client.get("/v1/changes", params={"since": before}).json()["items"] == []


# ---------------------------------------------------------------- happy path and idempotency


def test_valid_batch_creates_actors_relationships_and_evidence(client: TestClient) -> None:
    r = ingest(client, small_batch())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sources"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert body["actors"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert body["relationships"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert body["evidence_added"] == 2
    assert body["revision"] >= 1
    assert body["revision"] == revision(client)

    alpha = client.get("/v1/actors/alpha").json()
    assert (alpha["name"], alpha["kind"], alpha["aliases"]) == (
        "Alpha Republic",
        "state",
        ["Alpha"],
    )
    by_counterpart = {t["counterpart"]["id"]: t for t in ties(client, "alpha")}
    assert set(by_counterpart) == {"beta", "gamma"}
    assert by_counterpart["gamma"]["type"] == "sponsors"
    assert by_counterpart["gamma"]["evidence"] == [
        {"source": "src-1", "quote": "Officials in Gamma Front said"}
    ]
    assert by_counterpart["beta"]["confidence"] == 0.9


def test_resending_the_same_batch_changes_nothing(client: TestClient) -> None:
    first = ingest(client, small_batch()).json()
    changes_before = client.get("/v1/changes", params={"since": 0}).json()["items"]

    r = ingest(client, small_batch())
    assert r.status_code == 200, r.text
    again = r.json()
    for kind, n in (("sources", 1), ("actors", 3), ("relationships", 2)):
        assert again[kind] == {"created": 0, "updated": 0, "unchanged": n}, kind
    assert again["evidence_added"] == 0
    assert again["revision"] == first["revision"]
    assert revision(client) == first["revision"]
    assert client.get("/v1/changes", params={"since": 0}).json()["items"] == changes_before
    assert len(ties(client, "alpha")) == 2


def test_resending_a_batch_with_a_repeated_alias_changes_nothing(client: TestClient) -> None:
    batch = {"actors": [{"id": "omega", "name": "Omega", "kind": "state", "aliases": ["Om", "Om"]}]}
    first = ingest(client, batch).json()
    again = ingest(client, batch).json()
    assert again["actors"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert again["revision"] == first["revision"]


def test_undirected_relationship_with_swapped_ends_is_one_relationship(
    client: TestClient,
) -> None:
    ingest(client, small_batch())
    rev = revision(client)
    swapped = small_batch()
    rel = swapped["relationships"][0]
    rel["source"], rel["target"] = "beta", "alpha"
    r = ingest(client, swapped)
    assert r.status_code == 200, r.text
    assert r.json()["relationships"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert revision(client) == rev
    coop = ties(client, "alpha", type="cooperates_with")
    assert len(coop) == 1
    assert ties(client, "beta", type="cooperates_with")[0]["id"] == coop[0]["id"]


def test_both_orders_of_an_undirected_tie_in_one_batch_make_one_relationship(
    client: TestClient,
) -> None:
    batch = small_batch()
    twin = copy.deepcopy(batch["relationships"][0])
    twin["source"], twin["target"] = "beta", "alpha"
    batch["relationships"].append(twin)
    r = ingest(client, batch)
    assert r.status_code == 200, r.text
    assert r.json()["relationships"]["created"] == 2
    assert len(ties(client, "beta", type="cooperates_with")) == 1


def test_directed_relationship_with_swapped_ends_is_a_second_relationship(
    client: TestClient,
) -> None:
    ingest(client, small_batch())
    reverse = small_batch()
    rel = reverse["relationships"][1]
    rel["source"], rel["target"] = "gamma", "alpha"
    r = ingest(client, reverse)
    assert r.status_code == 200, r.text
    assert r.json()["relationships"]["created"] == 1
    directions = sorted(t["direction"] for t in ties(client, "alpha", type="sponsors"))
    assert directions == ["in", "out"]


def test_new_evidence_for_an_existing_relationship_is_merged(client: TestClient) -> None:
    ingest(client, small_batch())
    rev = revision(client)
    more = small_batch()
    more["relationships"] = [more["relationships"][0]]
    more["relationships"][0]["evidence"] = [
        {"source": "src-1", "quote": "Alpha Republic and Beta Kingdom"}
    ]
    r = ingest(client, more)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["relationships"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert body["evidence_added"] == 1
    assert body["revision"] == rev + 1
    coop = ties(client, "alpha", type="cooperates_with")
    assert len(coop) == 1
    assert {e["quote"] for e in coop[0]["evidence"]} == {
        "signed a new security pact",
        "Alpha Republic and Beta Kingdom",
    }


# ---------------------------------------------------------------- one bad item refuses the batch


def _unknown_target(b: dict[str, Any]) -> None:
    b["relationships"][1]["target"] = "nobody-here"


def _quote_not_in_source(b: dict[str, Any]) -> None:
    b["relationships"][0]["evidence"][0]["quote"] = "signed a new defence pact"


def _unknown_evidence_source(b: dict[str, Any]) -> None:
    b["relationships"][0]["evidence"][0]["source"] = "no-such-source"


def _conflicting_duplicate_actor(b: dict[str, Any]) -> None:
    b["actors"].append({"id": "beta", "name": "Beta Kingdom", "kind": "armed_group"})


@pytest.mark.parametrize(
    ("spoil", "pointer"),
    [
        (_unknown_target, "/relationships/1/target"),
        (_quote_not_in_source, "/relationships/0/evidence/0/quote"),
        (_unknown_evidence_source, "/relationships/0/evidence/0/source"),
        (_conflicting_duplicate_actor, "/actors/3"),
    ],
    ids=["unknown-target", "invented-quote", "unknown-source", "conflicting-actor"],
)
def test_one_bad_item_refuses_the_whole_batch_and_names_it(
    client: TestClient,
    spoil: Any,
    pointer: str,
) -> None:
    batch = small_batch()
    spoil(batch)
    r = ingest(client, batch)
    assert r.status_code == 422, r.text
    assert pointers(r) == [pointer]
    assert_nothing_written(client)


def test_conflicting_duplicate_actor_names_both_items(client: TestClient) -> None:
    batch = small_batch()
    _conflicting_duplicate_actor(batch)
    r = ingest(client, batch)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["pointer"] == "/actors/3"
    assert "/actors/1" in error["message"]


def test_bad_item_in_a_later_batch_leaves_stored_data_and_revision_alone(
    client: TestClient,
) -> None:
    ingest(client, small_batch())
    rev = revision(client)
    batch = small_batch()
    batch["actors"].append({"id": "delta", "name": "Delta", "kind": "state"})
    batch["relationships"][0]["evidence"].append({"source": "src-1", "quote": "new words"})
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/relationships/0/evidence/1/quote"]
    assert revision(client) == rev
    assert client.get("/v1/actors/delta").status_code == 404
    assert len(ties(client, "alpha", type="cooperates_with")[0]["evidence"]) == 1


def test_several_bad_items_are_all_named(client: TestClient) -> None:
    batch = small_batch()
    _unknown_target(batch)
    _quote_not_in_source(batch)
    _conflicting_duplicate_actor(batch)
    r = ingest(client, batch)
    assert r.status_code == 422
    assert set(pointers(r)) == {
        "/relationships/1/target",
        "/relationships/0/evidence/0/quote",
        "/actors/3",
    }
    assert_nothing_written(client)


def test_several_schema_errors_are_all_named(client: TestClient) -> None:
    batch = small_batch()
    batch["actors"][2]["kind"] = "militia"
    batch["relationships"][1]["confidence"] = 1.5
    batch["sources"][0]["url"] = "javascript:alert(1)"
    r = ingest(client, batch)
    assert r.status_code == 422
    assert set(pointers(r)) == {"/actors/2/kind", "/relationships/1/confidence", "/sources/0/url"}
    assert_nothing_written(client)


def test_schema_and_reference_errors_are_named_together(client: TestClient) -> None:
    batch = small_batch()
    batch["actors"][2]["kind"] = "militia"
    _unknown_target(batch)
    r = ingest(client, batch)
    assert r.status_code == 422
    assert set(pointers(r)) == {"/actors/2/kind", "/relationships/1/target"}


# ---------------------------------------------------------------- quotes


def test_quote_check_folds_white_space_and_typographic_quotes(client: TestClient) -> None:
    batch = small_batch()
    batch["relationships"][0]["evidence"] = [
        {"source": "src-1", "quote": '"signed a new security pact"'},  # text has “ ”
        {"source": "src-1", "quote": "It's a “long-standing” tie"},  # text has ’ and "
    ]
    batch["relationships"][1]["evidence"] = [
        {"source": "src-1", "quote": "they receive weapons from Alpha"},  # text: 3 spaces, \n
    ]
    r = ingest(client, batch)
    assert r.status_code == 200, r.text
    assert r.json()["evidence_added"] == 3


def test_quote_that_differs_by_a_word_is_refused(client: TestClient) -> None:
    batch = small_batch()
    batch["relationships"][1]["evidence"] = [
        {"source": "src-1", "quote": "they receive money from Alpha"}
    ]
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/relationships/1/evidence/0/quote"]


def test_quote_is_checked_against_a_stored_source(client: TestClient) -> None:
    ingest(client, small_batch())
    later = {
        "relationships": [
            {
                "source": "beta",
                "target": "gamma",
                "type": "rival_of",
                "evidence": [{"source": "src-1", "quote": "not in the article"}],
            }
        ]
    }
    r = ingest(client, later)
    assert r.status_code == 422
    assert pointers(r) == ["/relationships/0/evidence/0/quote"]
    later["relationships"][0]["evidence"][0]["quote"] = "one official said"
    assert ingest(client, later).status_code == 200


def test_replacing_a_source_text_that_stored_quotes_cite_is_refused(client: TestClient) -> None:
    ingest(client, small_batch())
    rev = revision(client)
    rewrite = {"sources": [{**small_batch()["sources"][0], "text": "An unrelated article."}]}
    r = ingest(client, rewrite)
    assert r.status_code == 422
    assert pointers(r) == ["/sources/0/text"]
    assert revision(client) == rev
    assert client.get("/v1/sources/src-1").json()["text"] == SOURCE_TEXT


def test_a_source_text_that_still_holds_every_quote_may_be_updated(client: TestClient) -> None:
    ingest(client, small_batch())
    longer = {"sources": [{**small_batch()["sources"][0], "text": SOURCE_TEXT + " More."}]}
    r = ingest(client, longer)
    assert r.status_code == 200, r.text
    assert r.json()["sources"]["updated"] == 1
    assert client.get("/v1/sources/src-1").json()["text"] == SOURCE_TEXT + " More."


# ---------------------------------------------------------------- derived ids and unicode


def test_actor_without_id_gets_a_slug_of_its_name(client: TestClient) -> None:
    batch = {"actors": [{"name": "Popular Mobilisation Forces", "kind": "armed_group"}]}
    r = ingest(client, batch)
    assert r.status_code == 200, r.text
    got = client.get("/v1/actors/popular-mobilisation-forces")
    assert got.status_code == 200
    assert got.json()["name"] == "Popular Mobilisation Forces"


def test_unicode_variants_of_one_name_are_one_actor(client: TestClient) -> None:
    nfc = "Café Noir Brigade"
    nfd = unicodedata.normalize("NFD", nfc)
    full_width = "Ｃａｆé Ｎｏｉｒ Ｂｒｉｇａｄｅ"
    assert len({nfc, nfd, full_width}) == 3
    r = ingest(
        client, {"actors": [{"name": v, "kind": "armed_group"} for v in (nfc, nfd, full_width)]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["actors"]["created"] == 1
    again = ingest(client, {"actors": [{"name": nfd, "kind": "armed_group"}]})
    assert again.json()["actors"] == {"created": 0, "updated": 0, "unchanged": 1}

    found = client.get("/v1/actors", params={"q": "cafe noir"}).json()
    assert found["total"] == 1
    assert found["items"][0]["id"] == "cafe-noir-brigade"
    assert found["items"][0]["name"] == nfc


# ---------------------------------------------------------------- field validation


def test_unknown_actor_kind_is_refused_listing_the_kinds(client: TestClient) -> None:
    batch = small_batch()
    batch["actors"][0]["kind"] = "empire"
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/actors/0/kind"]
    assert "government_body" in r.text and "think_tank" in r.text
    assert_nothing_written(client)


def test_unknown_relationship_type_is_refused_listing_the_types(client: TestClient) -> None:
    batch = small_batch()
    batch["relationships"][0]["type"] = "friends_with"
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/relationships/0/type"]
    assert "diplomatic_contact" in r.text and "hostile_to" in r.text
    assert_nothing_written(client)


@pytest.mark.parametrize("confidence", ["0.5", 1.5, -0.1, True, None])
def test_confidence_must_be_a_number_between_0_and_1(client: TestClient, confidence: Any) -> None:
    batch = small_batch()
    batch["relationships"][0]["confidence"] = confidence
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r)
    assert all(p.startswith("/relationships/0/confidence") for p in pointers(r))
    assert_nothing_written(client)


@pytest.mark.parametrize("confidence", [0, 1, 0.0, 1.0, 0.25])
def test_confidence_bounds_are_inclusive(client: TestClient, confidence: float) -> None:
    batch = small_batch()
    batch["relationships"][0]["confidence"] = confidence
    assert ingest(client, batch).status_code == 200
    assert ties(client, "beta")[0]["confidence"] == confidence


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [("2025-02-01", "2025-01-31"), ("2025", "2024-12"), ("2024-06", "2024-06")],
)
def test_valid_to_must_come_after_valid_from(
    client: TestClient, valid_from: str, valid_to: str
) -> None:
    batch = small_batch()
    batch["relationships"][0].update(valid_from=valid_from, valid_to=valid_to)
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) and all(p.startswith("/relationships/0") for p in pointers(r))
    assert_nothing_written(client)


@pytest.mark.parametrize(
    "bad",
    ["2023-02-30", "2024-13", "2024-00-10", "24-01-01", "2024/01/01", "2024-1-5", "yesterday"],
)
def test_impossible_or_malformed_dates_are_refused(client: TestClient, bad: str) -> None:
    batch = small_batch()
    batch["relationships"][0]["valid_from"] = bad
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/relationships/0/valid_from"]
    assert_nothing_written(client)


def test_partial_dates_keep_their_precision(client: TestClient) -> None:
    batch = small_batch()
    batch["relationships"][0].update(valid_from="2024-12", valid_to="2026")
    batch["relationships"][1].update(valid_from="2023", valid_to="2024-02-29")
    assert ingest(client, batch).status_code == 200
    by_type = {t["type"]: t for t in ties(client, "alpha")}
    assert (by_type["cooperates_with"]["valid_from"], by_type["cooperates_with"]["valid_to"]) == (
        "2024-12",
        "2026",
    )
    assert (by_type["sponsors"]["valid_from"], by_type["sponsors"]["valid_to"]) == (
        "2023",
        "2024-02-29",
    )


def test_self_loop_is_refused(client: TestClient) -> None:
    batch = small_batch()
    batch["relationships"][0]["target"] = "alpha"
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) and all(p.startswith("/relationships/0") for p in pointers(r))
    assert_nothing_written(client)


@pytest.mark.parametrize(
    ("place", "pointer"),
    [
        (lambda b: b.update(revision=7), "/revision"),
        (
            lambda b: b["actors"][0].update(created_at="2025-01-01T00:00:00Z"),
            "/actors/0/created_at",
        ),
        (lambda b: b["relationships"][0].update(verified=True), "/relationships/0/verified"),
        (
            lambda b: b["relationships"][0]["evidence"][0].update(page=3),
            "/relationships/0/evidence/0/page",
        ),
        (lambda b: b["sources"][0].update(fetched=True), "/sources/0/fetched"),
    ],
    ids=["batch", "actor", "relationship", "evidence", "source"],
)
def test_unknown_and_server_owned_fields_are_refused(
    client: TestClient, place: Any, pointer: str
) -> None:
    batch = small_batch()
    place(batch)
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == [pointer]
    assert_nothing_written(client)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,hi",
        "ftp://example.org/x",
        "https://example.org/" + "a" * 3000,
    ],
)
def test_source_url_must_be_http_or_https(client: TestClient, url: str) -> None:
    batch = small_batch()
    batch["sources"][0]["url"] = url
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/sources/0/url"]
    assert_nothing_written(client)


@pytest.mark.parametrize(
    "name",
    [
        "Alpha\x00Republic",
        "Alpha\x07Republic",
        "Alpha\nRepublic",
        "Alpha\rRepublic",
        "Alpha\x1bRepublic",
        "   ",
        "",
    ],
)
def test_control_characters_and_blank_names_are_refused(client: TestClient, name: str) -> None:
    batch = small_batch()
    batch["actors"][0]["name"] = name
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/actors/0/name"]
    assert "\x00" not in r.text
    assert_nothing_written(client)


def test_nul_byte_in_a_quote_is_refused(client: TestClient) -> None:
    batch = small_batch()
    batch["relationships"][0]["evidence"][0]["quote"] = "signed a new\x00 security pact"
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/relationships/0/evidence/0/quote"]
    assert_nothing_written(client)


@pytest.mark.parametrize("actor_id", ["Alpha", "alpha_1", "-alpha", "al pha", "alpha/beta", 7])
def test_actor_ids_must_be_slugs(client: TestClient, actor_id: Any) -> None:
    batch = {"actors": [{"id": actor_id, "name": "Alpha Republic", "kind": "state"}]}
    r = ingest(client, batch)
    assert r.status_code == 422
    assert pointers(r) == ["/actors/0/id"]
    assert revision(client) == 0


# ---------------------------------------------------------------- authentication


def test_ingest_without_a_key_is_401_with_www_authenticate(client: TestClient) -> None:
    r = client.post("/v1/ingest", json=small_batch())
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["www-authenticate"].lower().startswith("bearer")
    assert_nothing_written(client)


def test_ingest_with_a_wrong_key_is_401(client: TestClient) -> None:
    r = client.post(
        "/v1/ingest", json=small_batch(), headers={"Authorization": "Bearer not-the-key"}
    )
    assert r.status_code == 401
    assert "www-authenticate" in r.headers
    assert_nothing_written(client)


@pytest.mark.parametrize("with_header", [False, True])
def test_key_in_the_query_string_is_refused(client: TestClient, with_header: bool) -> None:
    r = client.post(
        "/v1/ingest",
        params={"api_key": WRITE_KEY},
        json=small_batch(),
        headers=AUTH if with_header else {},
    )
    assert r.status_code == 401
    assert "www-authenticate" in r.headers
    assert_nothing_written(client)


def test_ingest_with_the_write_key_succeeds(client: TestClient) -> None:
    r = client.post(
        "/v1/ingest", json=small_batch(), headers={"Authorization": f"Bearer {WRITE_KEY}"}
    )
    assert r.status_code == 200
    assert client.get("/v1/actors/alpha").status_code == 200


# ---------------------------------------------------------------- request-level limits


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(client: TestClient, content_type: str) -> None:
    r = client.post(
        "/v1/ingest",
        content=json.dumps(small_batch()).encode(),
        headers={**AUTH, "Content-Type": content_type},
    )
    assert r.status_code == 415
    assert r.headers["content-type"].startswith(PROBLEM)
    assert_nothing_written(client)


def test_body_over_the_size_cap_is_413(db_url: str) -> None:
    with TestClient(create_app(make_settings(db_url, max_body_bytes=2048))) as small:
        batch = small_batch()
        batch["sources"][0]["text"] = SOURCE_TEXT + " padding" * 400
        body = json.dumps(batch).encode()
        assert len(body) > 2048
        r = small.post(
            "/v1/ingest", content=body, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert r.status_code == 413
        assert r.headers["content-type"].startswith(PROBLEM)
        assert_nothing_written(small)
        # Under the cap the same route works.
        ok = small.post(
            "/v1/ingest",
            json={"actors": [{"id": "alpha", "name": "A", "kind": "state"}]},
            headers=AUTH,
        )
        assert ok.status_code == 200


def test_batch_over_the_item_cap_is_refused_naming_the_cap(db_url: str) -> None:
    with TestClient(create_app(make_settings(db_url, max_batch_items=4))) as small:
        r = small.post("/v1/ingest", json=small_batch(), headers=AUTH)  # 6 items
        assert r.status_code == 413
        assert r.headers["content-type"].startswith(PROBLEM)
        assert "4" in r.json()["detail"]
        assert_nothing_written(small)


def _raw(client: TestClient, body: bytes) -> Any:
    return client.post(
        "/v1/ingest", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )


def test_duplicate_json_keys_are_refused(client: TestClient) -> None:
    body = b'{"actors": [{"id": "alpha", "name": "Alpha", "kind": "state", "kind": "person"}]}'
    r = _raw(client, body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert_nothing_written(client)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_422_with_a_valid_json_body(
    client: TestClient, number: bytes
) -> None:
    body = json.dumps(small_batch()).replace('"confidence": 0.9', '"confidence": __N__')
    r = _raw(client, body.replace("__N__", number.decode()).encode())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = json.loads(r.content)  # strict JSON: no NaN/Infinity in the error either
    assert problem["status"] == 422
    assert_nothing_written(client)


@pytest.mark.parametrize(
    "body", [b'{"actors": [', b"null", b"[]", b'"batch"', b"\xff\xfe{}", b"[" * 50_000]
)
def test_malformed_bodies_are_4xx_never_500(client: TestClient, body: bytes) -> None:
    r = _raw(client, body)
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["status"] == r.status_code
    assert revision(client) == 0


# ---------------------------------------------------------------- change log


def test_change_log_records_the_write_by_key_id_not_by_key(client: TestClient) -> None:
    rev = ingest(client, small_batch()).json()["revision"]
    r = client.get("/v1/changes", params={"since": 0})
    assert r.status_code == 200
    (change,) = r.json()["items"]
    assert change["revision"] == rev
    assert change["action"] == "ingest"
    assert set(change["actors"]) == {"alpha", "beta", "gamma"}
    assert len(change["relationships"]) == 2
    assert change["key_id"]
    assert change["key_id"] != WRITE_KEY
    assert WRITE_KEY not in r.text
    assert client.get("/v1/changes", params={"since": rev}).json()["items"] == []
