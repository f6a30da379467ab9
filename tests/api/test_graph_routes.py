"""The seed graph's own questions, answered through HTTP."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import AUTH


def test_iran_proxies_include_the_houthis_with_chain(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/iran/proxies")
    assert r.status_code == 200
    by_id = {i["actor"]["id"]: i for i in r.json()["items"]}
    assert by_id["houthis"]["depth"] == 1
    assert by_id["houthis"]["chain"] == ["iran", "houthis"]
    patrons = seeded.get("/v1/actors/houthis/patrons").json()["items"]
    assert [p["actor"]["id"] for p in patrons] == ["iran"]


def test_alliance_path_from_iran_to_hamas_carries_evidence(seeded: TestClient) -> None:
    r = seeded.get("/v1/paths", params={"from": "iran", "to": "hamas", "mode": "alliance"})
    assert r.status_code == 200
    best = r.json()["items"][0]
    assert best["nodes"] == ["iran", "houthis", "hamas"]
    assert best["length"] == 2
    assert [h["relationship"]["type"] for h in best["hops"]] == ["sponsors", "allied_with"]
    assert all(h["relationship"]["evidence"][0]["quote"] for h in best["hops"])


def test_no_path_is_an_empty_list_and_unknown_actor_a_404(seeded: TestClient) -> None:
    r = seeded.get("/v1/paths", params={"from": "hamas", "to": "iran", "mode": "proxy"})
    assert r.status_code == 200 and r.json()["items"] == []
    r = seeded.get("/v1/paths", params={"from": "iran", "to": "atlantis"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "atlantis" in r.json()["detail"]


def test_path_limits_are_named_settings(seeded: TestClient) -> None:
    r = seeded.get("/v1/paths", params={"from": "iran", "to": "hamas", "k": 50})
    assert r.status_code == 422 and "KG_MAX_PATHS" in r.json()["detail"]
    r = seeded.get("/v1/paths", params={"from": "iran", "to": "hamas", "max_hops": "x"})
    assert r.status_code == 422


def _leaders(client: TestClient, on: str) -> set[str]:
    ties = client.get("/v1/actors/syria/ties", params={"type": "leads", "as_of": on}).json()[
        "items"
    ]
    return {t["counterpart"]["id"] for t in ties}


def test_who_led_syria_depends_on_the_date(seeded: TestClient) -> None:
    assert _leaders(seeded, "2024-06-01") == {"bashar-al-assad"}
    assert _leaders(seeded, "2025-04-04") == {"ahmad-al-shara"}


def test_hts_former_tie_to_al_qaeda_shows_in_its_timeline(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/hayat-tahrir-al-sham/timeline")
    assert r.status_code == 200
    events = [(e["event"], e["tie"]["counterpart"]["id"]) for e in r.json()["items"]]
    assert ("ended", "al-qaeda") in events
    dates = [e["date"] or "" for e in r.json()["items"]]
    assert dates == sorted(dates)
    page = seeded.get(
        "/v1/actors/hayat-tahrir-al-sham/timeline", params={"limit": 1, "offset": 3}
    ).json()
    assert page["total"] == len(events) and len(page["items"]) == 1
    assert page["items"][0] == r.json()["items"][3]


def test_diff_across_the_fall_of_assad(seeded: TestClient) -> None:
    r = seeded.get("/v1/diff", params={"from": "2024-06-01", "to": "2025-04-04"})
    assert r.status_code == 200
    body = r.json()
    ended = {(x["source"], x["target"], x["type"]) for x in body["ended"]}
    began = {(x["source"], x["target"], x["type"]) for x in body["began"]}
    assert ("bashar-al-assad", "syria", "leads") in ended
    assert ("ahmad-al-shara", "syria", "leads") in began
    assert (
        seeded.get("/v1/diff", params={"from": "2025-01-01", "to": "2024-01-01"}).status_code == 422
    )


def test_neighbourhood_depth_and_as_of(seeded: TestClient) -> None:
    r = seeded.get("/v1/actors/iran/neighborhood", params={"depth": 1})
    ids = {n["id"] for n in r.json()["nodes"]}
    assert {"iran", "houthis", "iraq"} <= ids and "hamas" not in ids
    two = seeded.get("/v1/actors/iran/neighborhood", params={"depth": 2}).json()
    assert "hamas" in {n["id"] for n in two["nodes"]}
    assert all(e["source"] in {n["id"] for n in two["nodes"]} for e in two["edges"])
    r = seeded.get("/v1/actors/iran/neighborhood", params={"depth": 9})
    assert r.status_code == 422 and "KG_MAX_DEPTH" in r.json()["detail"]
    old = seeded.get("/v1/actors/syria/neighborhood", params={"as_of": "2024-06-01"}).json()
    assert "bashar-al-assad" in {n["id"] for n in old["nodes"]}
    assert "ahmad-al-shara" not in {n["id"] for n in old["nodes"]}


def test_blocs_separate_the_houthis_from_the_united_states(seeded: TestClient) -> None:
    r = seeded.get("/v1/analytics/blocs")
    assert r.status_code == 200
    bloc_of = {m: b["id"] for b in r.json()["items"] for m in b["members"]}
    assert bloc_of["houthis"] == bloc_of["hamas"]
    assert bloc_of["houthis"] != bloc_of["united-states"]
    crossing = {(x["source"], x["target"]) for x in r.json()["crossing"]}
    assert ("houthis", "united-states") in crossing


def test_balance_implies_hamas_and_us_are_at_odds(seeded: TestClient) -> None:
    r = seeded.get("/v1/analytics/balance", params={"include_open": "true", "limit": 500})
    assert r.status_code == 200
    implied = {
        (tuple(t["implied"]["between"]), t["implied"]["polarity"])
        for t in r.json()["items"]
        if t["kind"] == "open"
    }
    assert (("hamas", "united-states"), "negative") in implied
    # Derived, never written: the graph revision is unchanged and no such tie exists.
    ties = seeded.get("/v1/actors/hamas/ties").json()["items"]
    assert "united-states" not in {t["counterpart"]["id"] for t in ties}


def test_centrality_puts_iraq_first_by_degree(seeded: TestClient) -> None:
    r = seeded.get("/v1/analytics/centrality", params={"metric": "degree", "top": 3})
    assert r.status_code == 200
    assert r.json()["items"][0]["actor"]["id"] == "iraq"
    assert len(r.json()["items"]) == 3
    for metric in ("betweenness", "pagerank"):
        assert seeded.get("/v1/analytics/centrality", params={"metric": metric}).status_code == 200
    assert seeded.get("/v1/analytics/centrality", params={"metric": "magic"}).status_code == 422


def test_exports_in_every_format(seeded: TestClient) -> None:
    nl = seeded.get("/v1/graph", params={"format": "node-link"})
    assert nl.status_code == 200
    G = nx.node_link_graph(json.loads(nl.content), edges="links")
    assert G.has_edge("iran", "houthis")
    cy = seeded.get("/v1/graph", params={"format": "cytoscape"}).json()
    assert any(
        e["data"]["source"] == "iran" and e["data"]["target"] == "houthis"
        for e in cy["elements"]["edges"]
    )
    gml = seeded.get("/v1/graph", params={"format": "graphml"})
    assert gml.headers["content-type"].startswith("application/graphml+xml")
    ET.fromstring(gml.content)
    gexf = seeded.get("/v1/graph", params={"format": "gexf", "as_of": "2024-06-01"})
    assert b"bashar-al-assad" in gexf.content
    assert seeded.get("/v1/graph", params={"format": "dot"}).status_code == 422


def test_graph_etag_answers_304_until_a_write(seeded: TestClient) -> None:
    first = seeded.get("/v1/graph", params={"format": "cytoscape"})
    etag = first.headers["etag"]
    again = seeded.get("/v1/graph", params={"format": "cytoscape"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    r = seeded.put("/v1/actors/oman", json={"name": "Oman", "kind": "state"}, headers=AUTH)
    assert r.status_code == 201
    after = seeded.get("/v1/graph", params={"format": "cytoscape"}, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag


def test_a_write_is_visible_to_the_next_read(seeded: TestClient) -> None:
    batch = {
        "actors": [{"id": "oman", "name": "Oman", "kind": "state"}],
        "relationships": [
            {
                "source": "oman",
                "target": "iran",
                "type": "cooperates_with",
                "evidence": [
                    {
                        "source": "the-national-2025-04-04-iraq-syria",
                        "quote": "good relations with Iran",
                    }
                ],
            }
        ],
    }
    assert seeded.post("/v1/ingest", json=batch, headers=AUTH).status_code == 200
    ties = seeded.get("/v1/actors/iran/ties").json()["items"]
    assert "oman" in {t["counterpart"]["id"] for t in ties}
    paths = seeded.get(
        "/v1/paths", params={"from": "oman", "to": "hamas", "mode": "alliance"}
    ).json()["items"]
    assert paths and paths[0]["nodes"] == ["oman", "iran", "houthis", "hamas"]


def test_analytics_sample_graphs_past_their_size_limit(db_url: str) -> None:
    from app.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(db_url, seed=True, max_edges=10)
    with TestClient(create_app(settings)) as whole:
        exact = whole.get("/v1/analytics/blocs").json()
        assert (exact["sampled"], exact["sample"]) == (False, None)
        degree = whole.get("/v1/analytics/centrality", params={"top": 500}).json()
        assert (degree["sampled"], degree["sample"]) == (False, None)
    # Below the setting's floor, to make the seed graph "large".
    tiny = settings.model_copy(update={"analytics_sample_edges": 10})
    with TestClient(create_app(tiny)) as c:
        r = c.get("/v1/analytics/blocs")
        assert r.status_code == 200
        body = r.json()
        sample = body["sample"]
        assert body["sampled"] is True and 0 < sample["ties"] <= 10
        assert sample["of_ties"] > 10 and sample["actors"] < sample["of_actors"]
        members = [m for b in body["items"] for m in b["members"]]
        assert 0 < len(members) <= sample["actors"]
        assert len(body["crossing"]) <= sample["ties"]
        assert c.get("/v1/analytics/blocs").json() == body  # cached, and deterministic
        balance = c.get("/v1/analytics/balance", params={"include_open": "true"}).json()
        assert balance["sampled"] is True and balance["sample"]["ties"] <= 10
        assert all(len(t["relationships"]) <= 10 for t in balance["items"])
        for metric in ("betweenness", "pagerank"):
            scores = c.get("/v1/analytics/centrality", params={"metric": metric}).json()
            assert scores["sampled"] is True and scores["sample"]["ties"] <= 10
            assert scores["nodes"] <= scores["sample"]["actors"]
        # Degree is read from the adjacency: exact at any size, never sampled.
        assert c.get("/v1/analytics/centrality", params={"top": 500}).json() == degree
        hood = c.get("/v1/actors/iraq/neighborhood", params={"depth": 2}).json()
        assert len(hood["edges"]) == 10 and hood["truncated"]


def test_balance_is_cached_per_revision_unless_cut_short(
    seeded: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.graph import analytics

    calls: list[bool] = []
    real = analytics.balance
    cut = {"short": False}

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(True)
        found = real(*args, **kwargs)
        return {**found, "truncated": cut["short"]}

    monkeypatch.setattr(analytics, "balance", counted)
    first = seeded.get("/v1/analytics/balance").json()
    assert seeded.get("/v1/analytics/balance").json() == first
    assert len(calls) == 1  # the second answer came from the cache
    cut["short"] = True  # an answer cut by the budget depends on the moment: never kept
    seeded.get("/v1/analytics/balance", params={"limit": 7}).json()
    seeded.get("/v1/analytics/balance", params={"limit": 7}).json()
    assert len(calls) == 3


def test_analytics_cache_keeps_only_what_keep_allows() -> None:
    from app.reads import AnalyticsCache

    cache = AnalyticsCache(size=2)
    n = iter(range(100))
    assert cache.get_or_compute(("a",), lambda: {"v": next(n)}) == {"v": 0}
    assert cache.get_or_compute(("a",), lambda: {"v": next(n)}) == {"v": 0}
    assert cache.get_or_compute(("b",), lambda: {"v": next(n)}, keep=lambda r: False) == {"v": 1}
    assert cache.get_or_compute(("b",), lambda: {"v": next(n)}) == {"v": 2}
    cache.get_or_compute(("c",), lambda: {"v": next(n)})  # evicts the oldest, ("a",)
    assert cache.get_or_compute(("a",), lambda: {"v": next(n)}) == {"v": 4}
