"""GET /v1/actors/{id}/ties on the seed graph: counterparts, evidence, filters, dates, paging."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROOT

PROBLEM = "application/problem+json"
SEED = json.loads(
    (ROOT / "seed_data" / "000_the_national_2025_04_04.json").read_text(encoding="utf-8")
)
SOURCE_ID = SEED["sources"][0]["id"]
SOURCE_TEXT = SEED["sources"][0]["text"]


def seed_actor_id(name: str) -> str:
    (found,) = [a["id"] for a in SEED["actors"] if a["name"] == name]
    return str(found)


ASSAD = seed_actor_id("Bashar Al Assad")
SHARA = seed_actor_id("Ahmad Al Shara")
SYRIA = seed_actor_id("Syria")


def ties(client: TestClient, actor_id: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/v1/actors/{actor_id}/ties", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def counterparts(page: dict[str, Any]) -> set[str]:
    return {t["counterpart"]["id"] for t in page["items"]}


def test_iran_sponsors_the_houthis_with_counterpart_and_evidence(seeded: TestClient) -> None:
    page = ties(seeded, "iran")
    (tie,) = [t for t in page["items"] if t["counterpart"]["id"] == "houthis"]
    assert tie["counterpart"] == {"id": "houthis", "name": "Houthis", "kind": "armed_group"}
    assert (tie["type"], tie["direction"], tie["source"], tie["target"]) == (
        "sponsors",
        "out",
        "iran",
        "houthis",
    )
    assert (tie["directed"], tie["polarity"]) == (True, "positive")
    assert tie["evidence"]
    for ev in tie["evidence"]:
        assert ev["source"] == SOURCE_ID
        assert ev["quote"] and ev["quote"] in SOURCE_TEXT


def test_the_same_sponsorship_reads_in_from_the_proxy(seeded: TestClient) -> None:
    (tie,) = [t for t in ties(seeded, "houthis")["items"] if t["counterpart"]["id"] == "iran"]
    assert (tie["type"], tie["direction"]) == ("sponsors", "in")
    assert tie["counterpart"] == {"id": "iran", "name": "Iran", "kind": "state"}


def test_an_undirected_tie_reads_the_same_from_both_ends(seeded: TestClient) -> None:
    (a,) = ties(seeded, "hamas", type="allied_with")["items"]
    (b,) = [t for t in ties(seeded, "houthis", type="allied_with")["items"]]
    assert a["id"] == b["id"]
    assert a["direction"] == b["direction"] == "both"
    assert (a["counterpart"]["id"], b["counterpart"]["id"]) == ("houthis", "hamas")


def test_every_tie_has_the_documented_shape(seeded: TestClient) -> None:
    page = ties(seeded, "iraq", limit=100)
    keys = {
        "id",
        "source",
        "target",
        "type",
        "directed",
        "polarity",
        "valid_from",
        "valid_to",
        "confidence",
        "attributes",
        "evidence",
        "counterpart",
        "direction",
    }
    for t in page["items"]:
        assert keys <= set(t)
        assert set(t["counterpart"]) == {"id", "name", "kind"}
        assert "iraq" in (t["source"], t["target"])
        assert t["counterpart"]["id"] == ({t["source"], t["target"]} - {"iraq"}).pop()


def test_type_filter(seeded: TestClient) -> None:
    page = ties(seeded, "iran", type="sponsors")
    assert {t["type"] for t in page["items"]} == {"sponsors"}
    assert counterparts(page) == {"houthis", "co-ordination-framework"}
    assert page["total"] == 2
    both = ties(seeded, "iran", type=["sponsors", "rival_of"])
    assert counterparts(both) == {"houthis", "co-ordination-framework", "united-states"}


def test_unknown_type_filter_is_422(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/iran/ties", params={"type": "friends_with"})
    assert r.status_code == 422
    assert "sponsors" in r.text


def test_polarity_filter(seeded: TestClient) -> None:
    page = ties(seeded, "iran", polarity="negative")
    assert page["items"]
    assert {t["polarity"] for t in page["items"]} == {"negative"}
    assert {t["type"] for t in page["items"]} <= {"rival_of", "hostile_to"}
    assert counterparts(page) == {"united-states", "israel"}
    assert "houthis" not in counterparts(page)


def test_direction_filter(seeded: TestClient) -> None:
    out = ties(seeded, "iraq", direction="out", limit=100)["items"]
    assert {t["direction"] for t in out} <= {"out", "both"}
    assert any(t["type"] == "supports" and t["target"] == SYRIA for t in out)
    assert not any(t["type"] == "leads" for t in out)

    inbound = ties(seeded, "iraq", direction="in", limit=100)["items"]
    assert {t["direction"] for t in inbound} <= {"in", "both"}
    assert any(t["type"] == "leads" and t["source"] == "mohammed-shia-al-sudani" for t in inbound)
    assert not any(t["type"] == "supports" for t in inbound)

    undirected = ties(seeded, "iraq", direction="both", limit=100)["items"]
    assert undirected
    assert {t["direction"] for t in undirected} == {"both"}
    assert all(not t["directed"] for t in undirected)


def test_min_confidence_filter(seeded: TestClient) -> None:
    everything = ties(seeded, "iran")
    assert "co-ordination-framework" in counterparts(everything)  # 0.85
    page = ties(seeded, "iran", min_confidence=0.9)
    assert page["items"]
    assert all(t["confidence"] >= 0.9 for t in page["items"])
    assert "houthis" in counterparts(page)  # exactly 0.9
    assert "co-ordination-framework" not in counterparts(page)


@pytest.mark.parametrize("value", [1.5, -0.1, "high", "nan"])
def test_bad_min_confidence_is_422(seeded: TestClient, value: Any) -> None:
    r = seeded.get("/v1/actors/iran/ties", params={"min_confidence": value})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)


def _leaders(client: TestClient, as_of: str) -> set[str]:
    return counterparts(ties(client, SYRIA, type="leads", as_of=as_of))


def test_as_of_picks_who_leads_syria(seeded: TestClient) -> None:
    assert _leaders(seeded, "2024-06-01") == {ASSAD}
    assert _leaders(seeded, "2025-04-04") == {SHARA}
    assert counterparts(ties(seeded, SYRIA, type="leads")) == {ASSAD, SHARA}


def test_partial_dates_compare_as_their_first_day(seeded: TestClient) -> None:
    # Assad: valid_to "2024-12"; Al Shara: valid_from "2024-12".
    assert _leaders(seeded, "2024-11-30") == {ASSAD}
    assert _leaders(seeded, "2024-12-01") == {SHARA}
    assert _leaders(seeded, "2024-12-31") == {SHARA}


def test_as_of_also_applies_to_the_assad_hts_war(seeded: TestClient) -> None:
    hts = "hayat-tahrir-al-sham"
    assert hts in counterparts(ties(seeded, ASSAD, as_of="2024-11-30"))
    assert hts not in counterparts(ties(seeded, ASSAD, as_of="2024-12-01"))


@pytest.mark.parametrize("as_of", ["2023-02-30", "2024-13-01", "yesterday", "2024/06/01"])
def test_bad_as_of_is_422(seeded: TestClient, as_of: str) -> None:
    r = seeded.get(f"/v1/actors/{SYRIA}/ties", params={"as_of": as_of})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert [e["pointer"] for e in r.json()["errors"]] == ["/as_of"]


def test_ties_of_an_unknown_actor_is_404(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/atlantis/ties")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "atlantis" in r.json()["detail"]


def test_paging_ties_keeps_the_total_and_visits_each_once(seeded: TestClient) -> None:
    full = ties(seeded, "iraq", limit=100)
    assert full["total"] == len(full["items"]) > 10
    seen: list[int] = []
    for offset in range(0, full["total"], 4):
        page = ties(seeded, "iraq", limit=4, offset=offset)
        assert page["total"] == full["total"]
        assert (page["limit"], page["offset"]) == (4, offset)
        seen += [t["id"] for t in page["items"]]
    assert seen == [t["id"] for t in full["items"]]


def test_paging_past_the_end_is_empty(seeded: TestClient) -> None:
    page = ties(seeded, "iran", offset=1000)
    assert page["items"] == []
    assert page["total"] == len(ties(seeded, "iran")["items"])


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 10000}, {"offset": -1}])
def test_bad_paging_of_ties_is_422(seeded: TestClient, params: dict[str, Any]) -> None:
    assert seeded.get("/v1/actors/iran/ties", params=params).status_code == 422
