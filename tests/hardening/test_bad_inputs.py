"""Every case of ../shared/BAD_INPUTS.md, answered as it says, and proof that nothing was written.

Each variant's id starts with its case number (``case-05-duplicate-keys-nested``). Around every
variant the test takes a snapshot of every table (row count and content digest), the revision
and the served graph, and asserts it unchanged, except where the case is about a write that
must happen exactly once (11, 16's "never fetched", 17, 18), which says what changed instead.

One seeded server serves the whole module (nothing is written, so variants cannot disturb each
other), with small limits so that oversized input stays cheap to build.
"""

from __future__ import annotations

import copy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app, strict_json_error
from tests.conftest import AUTH, PG_URL, USING_PG, WRITE_KEY, make_settings, reset_postgres
from tests.hardening.helpers import (
    SEED_QUOTE,
    SEED_SOURCE,
    Snapshot,
    assert_problem,
    assert_strict_json,
    snapshot,
)

ALLOWED_ORIGIN = "https://newsroom.example"
BODY_CAP = 64 * 1024
BATCH_CAP = 50
URL_CAP = 16 * 1024
BUDGET_S = 1.0
# What a 2-core CI machine, busy with other work, adds on top of the query budget.
SLACK_S = 3.0
JSON = {**AUTH, "Content-Type": "application/json"}

Send = Callable[[TestClient], httpx.Response | list[httpx.Response]]
Changes = Callable[[Snapshot, Snapshot], None]


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if USING_PG:
        reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('bad') / 'kg.sqlite3'}"
    settings = make_settings(
        url,
        seed=True,
        max_body_bytes=BODY_CAP,
        max_batch_items=BATCH_CAP,
        max_url_length=URL_CAP,
        query_time_budget_s=BUDGET_S,
        cors_origins=[ALLOWED_ORIGIN],
    )
    with TestClient(create_app(settings)) as c:
        yield c


# ---------------------------------------------------------------- request builders


def good_batch() -> dict[str, Any]:
    """A valid batch (tests/hardening checks it is accepted); each variant breaks one thing."""
    return {
        "sources": [
            {
                "id": "hard-src",
                "url": "https://example.org/alpha",
                "title": "Alpha Front armed",
                "publisher": "Example News",
                "published": "2025-01",
                "text": "Officials said Alpha Front receives arms from Iran, and the report added more.",
            }
        ],
        "actors": [{"id": "alpha-front", "name": "Alpha Front", "kind": "armed_group"}],
        "relationships": [
            {
                "source": "iran",
                "target": "alpha-front",
                "type": "sponsors",
                "valid_from": "2024-06",
                "confidence": 0.7,
                "attributes": {"support": ["arms"]},
                "evidence": [{"source": "hard-src", "quote": "receives arms from Iran"}],
            }
        ],
    }


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    batch = copy.deepcopy(good_batch())
    change(batch)
    return batch


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``value`` at a JSON-pointer-like ``path`` ("actors/0/name") of the batch."""

    def change(batch: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = batch
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def ingest(batch: Any, headers: dict[str, str] | None = None) -> Send:
    return lambda c: c.post("/v1/ingest", json=batch, headers=AUTH if headers is None else headers)


def ingest_set(path: str, value: Any) -> Send:
    return ingest(mutated(setter(path, value)))


def raw(
    content: bytes | Iterator[bytes],
    ctype: str | None = "application/json",
    *,
    method: str = "POST",
    url: str = "/v1/ingest",
) -> Send:
    headers = dict(AUTH)
    if ctype is not None:
        headers["Content-Type"] = ctype
    return lambda c: c.request(method, url, content=content, headers=headers)


def get(url: str, **headers: str) -> Send:
    return lambda c: c.get(url, headers=headers)


def request(method: str, url: str, **kwargs: Any) -> Send:
    return lambda c: c.request(method, url, **kwargs)


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    id: str
    send: Send
    status: set[int]
    # Extra checks on the (last) response, past status, problem+json and leaks.
    check: Callable[[httpx.Response], None] | None = None
    problem: bool = True
    setup: Callable[[TestClient], None] | None = None
    # What the case must change; None: nothing at all.
    changes: Changes | None = None
    mentions: list[str] = field(default_factory=list)
    pointers: list[str] = field(default_factory=list)


def detail_names(*words: str) -> Callable[[httpx.Response], None]:
    def check(r: httpx.Response) -> None:
        body = r.json()
        text = body["detail"] + " ".join(e["message"] for e in body.get("errors") or [])
        for w in words:
            assert w in text, (w, text)

    return check


CASES: list[Case] = []


def case(name: str, send: Send, status: int | set[int] = 422, **kwargs: Any) -> None:
    CASES.append(Case(name, send, {status} if isinstance(status, int) else status, **kwargs))


# 1. Body larger than the configured cap: 413, read no further than the cap.
big = b'{"actors": [' + b" " * (BODY_CAP + 10) + b"]}"
case("case-01-declared-length-over-cap", raw(big), 413, mentions=["KG_MAX_BODY_BYTES"])


def _stream() -> Iterator[bytes]:
    yield b'{"actors": ['
    for _ in range(4 * BODY_CAP // 8192):
        yield b" " * 8192
    yield b"]}"


case("case-01-streamed-body-over-cap", lambda c: raw(_stream())(c), 413)
case(
    "case-01-put-over-cap",
    raw(
        b'{"name": "X", "kind": "state", "description": "' + b"x" * BODY_CAP + b'"}',
        method="PUT",
        url="/v1/actors/x",
    ),
    413,
)

# 2. More items than KG_MAX_BATCH_ITEMS: 413 naming the cap, before any item is validated.
many_actors = [{"id": f"a-{i}", "name": f"A {i}", "kind": "state"} for i in range(BATCH_CAP + 1)]
case(
    "case-02-batch-over-item-cap",
    ingest({"actors": many_actors}),
    {413, 422},
    mentions=["KG_MAX_BATCH_ITEMS", str(BATCH_CAP)],
)
case(
    "case-02-cap-counts-every-kind",
    ingest(
        {
            "sources": [{"id": f"s-{i}"} for i in range(20)],
            "actors": many_actors[:20],
            "relationships": good_batch()["relationships"] * 11,
        }
    ),
    {413, 422},
    mentions=["KG_MAX_BATCH_ITEMS"],
)


def _not_validated(r: httpx.Response) -> None:
    assert "errors" not in r.json(), "the items of an oversized batch were validated"


case(
    "case-02-invalid-items-over-cap-not-validated",
    ingest({"actors": [{}] * (BATCH_CAP * 20)}),
    413,
    check=_not_validated,
)

# 3. Wrong Content-Type on a body: 415 saying what to send.
for ctype in [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    None,
]:
    case(
        f"case-03-content-type-{(ctype or 'missing').split(';')[0].replace('/', '-')}",
        raw(b'{"actors": []}', ctype),
        415,
        mentions=["application/json"],
    )
case(
    "case-03-put-as-text",
    raw(b'{"name": "X", "kind": "state"}', "text/plain", method="PUT", url="/v1/actors/x"),
    415,
)

# 4. Truncated, non-UTF-8, deeply nested or non-object JSON: 4xx, never 500.
for name, body in [
    ("truncated", b'{"actors": [{"name": "X"'),
    ("invalid-utf8", b'{"actors": [{"name": "\xff\xfe", "kind": "state"}]}'),
    ("deep-array", b"[" * 30_000 + b"]" * 30_000),
    ("deep-object", b'{"a":' * 5_000 + b"1" + b"}" * 5_000),
    ("null", b"null"),
    ("top-level-array", b"[]"),
    ("top-level-string", b'"actors"'),
    ("top-level-number", b"42"),
    ("empty", b""),
    ("byte-order-mark", b'\xef\xbb\xbf{"actors": []}'),
    ("trailing-garbage", b'{"actors": []} x'),
]:
    case(f"case-04-{name}", raw(body), 422)

# 5. Duplicate keys: 422 (the stdlib lets the last one win silently).
case("case-05-duplicate-keys-top-level", raw(b'{"actors": [], "actors": []}'), 422)
case(
    "case-05-duplicate-keys-nested",
    raw(b'{"actors": [{"name": "A", "name": "B", "kind": "state"}]}'),
    422,
    mentions=["Duplicate"],
)
case(
    "case-05-duplicate-keys-put",
    raw(b'{"name": "A", "kind": "state", "kind": "person"}', method="PUT", url="/v1/actors/x"),
    422,
)

# 6. NaN, Infinity, 1e999: 422 with a body that is still valid JSON.
for name, number in [
    ("nan", b"NaN"),
    ("infinity", b"Infinity"),
    ("minus-infinity", b"-Infinity"),
    ("overflow", b"1e999"),
    ("minus-overflow", b"-1e999"),
]:
    case(
        f"case-06-{name}-confidence",
        raw(
            b'{"relationships": [{"source": "iraq", "target": "iran", "type": "allied_with", '
            b'"confidence": ' + number + b', "evidence": [{"source": "x", "quote": "y"}]}]}'
        ),
        422,
    )
case(
    "case-06-nan-attribute",
    raw(b'{"actors": [{"name": "X", "kind": "state", "attributes": {"n": NaN}}]}'),
    422,
)
for q in ["nan", "inf", "-inf", "1e999", "infinity"]:
    case(f"case-06-min-confidence-{q}", get(f"/v1/actors/iran/ties?min_confidence={q}"), 422)

# 7. Unknown and server-owned fields: 422 naming them (by default they are dropped).
for name, path, value, pointer in [
    ("unknown-top-level", "extra", 1, "/extra"),
    ("unknown-actor-field", "actors/0/nickname", "Al", "/actors/0/nickname"),
    ("actor-created-at", "actors/0/created_at", "2020-01-01T00:00:00Z", "/actors/0/created_at"),
    ("actor-updated-at", "actors/0/updated_at", "2020-01-01T00:00:00Z", "/actors/0/updated_at"),
    ("batch-revision", "revision", 7, "/revision"),
    ("relationship-verified", "relationships/0/verified", True, "/relationships/0/verified"),
    ("relationship-id", "relationships/0/id", 1, "/relationships/0/id"),
    ("relationship-polarity", "relationships/0/polarity", "negative", "/relationships/0/polarity"),
    ("relationship-directed", "relationships/0/directed", False, "/relationships/0/directed"),
    ("evidence-id", "relationships/0/evidence/0/id", 1, "/relationships/0/evidence/0/id"),
    ("source-has-text", "sources/0/has_text", True, "/sources/0/has_text"),
]:
    case(f"case-07-{name}", ingest_set(path, value), 422, pointers=[pointer])
case(
    "case-07-put-with-server-owned-fields",
    lambda c: c.put(
        "/v1/actors/x",
        json={"name": "X", "kind": "state", "id": "y", "created_at": "2020-01-01"},
        headers=AUTH,
    ),
    422,
    pointers=["/id", "/created_at"],
)

# 8. Lax types where exactness matters: 422.
for name, path, value in [
    ("confidence-as-string", "relationships/0/confidence", "0.5"),
    ("confidence-as-bool", "relationships/0/confidence", True),
    ("id-as-number", "actors/0/id", 7),
    ("name-as-number", "actors/0/name", 5),
    ("aliases-as-string", "actors/0/aliases", "Alpha"),
    ("date-as-number", "relationships/0/valid_from", 2024),
    ("evidence-as-object", "relationships/0/evidence", {"source": "hard-src", "quote": "x"}),
    ("kind-as-list", "actors/0/kind", ["state"]),
    ("url-as-number", "sources/0/url", 42),
    ("target-as-null", "relationships/0/target", None),
]:
    case(f"case-08-{name}", ingest_set(path, value), 422, pointers=["/" + path])

# 9. NUL, lone surrogates, control characters, CR/LF: 422 naming the field.
for name, path, value in [
    ("nul-in-name", "actors/0/name", "Alpha\x00Front"),
    ("nul-in-id", "actors/0/id", "alpha\x00"),
    ("nul-in-quote", "relationships/0/evidence/0/quote", "receives\x00arms"),
    ("nul-in-source-text", "sources/0/text", "text\x00"),
    ("nul-in-description", "actors/0/description", "a\x00b"),
    ("nul-in-attribute", "actors/0/attributes", {"note": "a\x00b"}),
    ("nul-in-attribute-key", "actors/0/attributes", {"a\x00": 1}),
    ("nul-in-url", "sources/0/url", "https://example.org/\x00"),
    ("nul-in-alias", "actors/0/aliases", ["Al\x00pha"]),
    ("bell-in-name", "actors/0/name", "Alpha\x07"),
    ("escape-in-description", "actors/0/description", "\x1b[31mred"),
    ("c1-control-in-name", "actors/0/name", "Alpha\x85Front"),
    ("crlf-in-name", "actors/0/name", "Alpha\r\nFront"),
    ("lf-in-id", "actors/0/id", "alpha\n"),
    ("tab-in-name", "actors/0/name", "Alpha\tFront"),
    ("line-separator-in-name", "actors/0/name", "Alpha\u2028Front"),
    ("crlf-in-title", "sources/0/title", "Title\r\nInjected: yes"),
]:
    case(f"case-09-{name}", ingest_set(path, value), 422, pointers=["/" + path])
for name, body, pointer in [
    (
        "surrogate-in-name",
        b'{"actors": [{"name": "X\\ud800", "kind": "state"}]}',
        "/actors/0/name",
    ),
    (
        "surrogate-in-quote",
        b'{"relationships": [{"source": "iraq", "target": "iran", "type": "allied_with", '
        b'"evidence": [{"source": "x", "quote": "\\udc00"}]}]}',
        "/relationships/0/evidence/0/quote",
    ),
    ("surrogate-in-text", b'{"sources": [{"id": "s", "text": "a\\ud800b"}]}', "/sources/0/text"),
    # A name with no Latin letters gets a hashed id: hashing it must not fail on a surrogate.
    (
        "surrogate-only-name",
        b'{"actors": [{"name": "\\ud800", "kind": "state"}]}',
        "/actors/0/name",
    ),
    (
        "surrogate-in-unknown-key",
        b'{"actors": [{"name": "X", "kind": "state", "\\ud800": 1}]}',
        "",
    ),
    (
        "surrogate-in-attribute-key",
        b'{"actors": [{"name": "X", "kind": "state", "attributes": {"\\ud800": 1}}]}',
        "",
    ),
]:
    case(f"case-09-{name}", raw(body), 422, pointers=[pointer] if pointer else [])
case(
    "case-09-nul-in-search",
    get("/v1/actors?q=iraq%00"),
    422,
)
case(
    "case-09-surrogate-in-patch",
    raw(b'{"description": "\\ud800"}', method="PATCH", url="/v1/actors/iraq"),
    422,
    pointers=["/description"],
)

# 10. Empty or blank ids and names; strings past their max_length: 422.
for name, path, value in [
    ("empty-id", "actors/0/id", ""),
    ("blank-name", "actors/0/name", "   "),
    ("empty-name", "actors/0/name", ""),
    ("ideographic-blank-name", "actors/0/name", "\u3000\u3000"),
    ("name-too-long", "actors/0/name", "N" * 301),
    ("name-too-long-once-normalised", "actors/0/name", "\ufdfa" * 20),
    ("name-folds-too-long", "actors/0/name", "ß" * 200),
    ("alias-too-long", "actors/0/aliases", ["A" * 301]),
    ("id-too-long", "actors/0/id", "a" * 201),
    ("quote-too-long", "relationships/0/evidence/0/quote", "q" * 2001),
    ("blank-quote", "relationships/0/evidence/0/quote", "   "),
    ("no-evidence", "relationships/0/evidence", []),
    ("description-too-long", "actors/0/description", "d" * 10_001),
    ("blank-title", "sources/0/title", " "),
    ("publisher-too-long", "sources/0/publisher", "p" * 301),
    ("url-too-long", "sources/0/url", "https://example.org/" + "a" * 2048),
    ("too-many-aliases", "actors/0/aliases", [f"A{i}" for i in range(101)]),
    ("too-many-attributes", "actors/0/attributes", {f"k{i}": i for i in range(51)}),
]:
    case(f"case-10-{name}", ingest_set(path, value), 422, pointers=["/" + path])


# 11. Unicode variants of one name: normalised, never two actors.
def one_actor_more(before: Snapshot, after: Snapshot) -> None:
    grown = {t: after.counts()[t] - before.counts()[t] for t in after.counts()}
    assert grown["actor"] == 1 and grown["relationship"] == 0, grown
    assert after.revision == before.revision + 1


def _variants(c: TestClient) -> list[httpx.Response]:
    spellings = ["Caf\u00e9 Royal Front", "Cafe\u0301 Royal Front", "\uff23af\u00e9 Royal Front"]
    responses = [
        c.post("/v1/ingest", json={"actors": [{"name": n, "kind": "armed_group"}]}, headers=AUTH)
        for n in spellings
    ]
    for r in responses:
        assert r.status_code == 200, r.text
    assert [r.json()["actors"]["created"] for r in responses] == [1, 0, 0]
    for q in [*spellings, "cafe royal"]:
        found = c.get("/v1/actors", params={"q": q}).json()["items"]
        assert [a["id"] for a in found] == ["cafe-royal-front"], (q, found)
    assert c.get("/v1/actors/cafe-royal-front").json()["name"] == "Caf\u00e9 Royal Front"
    return responses


case(
    "case-11-nfc-nfd-fullwidth-are-one-actor", _variants, 200, problem=False, changes=one_actor_more
)
case(
    "case-11-variants-in-one-batch-do-not-conflict",
    ingest(
        {
            "actors": [
                {"id": "zeta", "name": "Z\u00e9ta Group", "kind": "organization"},
                {"id": "zeta", "name": "Ze\u0301ta Group", "kind": "organization"},
            ]
        }
    ),
    200,
    problem=False,
    changes=one_actor_more,
)

# 12. Unknown actor kind or relationship type: 422 listing the allowed values.
case(
    "case-12-unknown-actor-kind",
    ingest_set("actors/0/kind", "empire"),
    422,
    pointers=["/actors/0/kind"],
    mentions=["state", "armed_group", "think_tank"],
)
case(
    "case-12-unknown-relationship-type",
    ingest_set("relationships/0/type", "married_to"),
    422,
    pointers=["/relationships/0/type"],
    mentions=["allied_with", "sponsors", "hostile_to"],
)
case("case-12-unknown-kind-filter", get("/v1/actors?kind=empire"), 422, mentions=["state"])
case("case-12-unknown-type-filter", get("/v1/actors/iran/ties?type=x"), 422, mentions=["sponsors"])
case(
    "case-12-unknown-polarity",
    get("/v1/actors/iran/ties?polarity=mixed"),
    422,
    mentions=["positive"],
)
case(
    "case-12-unknown-path-mode",
    get("/v1/paths?from=iran&to=hamas&mode=romance"),
    422,
    mentions=["alliance", "proxy"],
)
case(
    "case-12-unknown-metric",
    get("/v1/analytics/centrality?metric=fame"),
    422,
    mentions=["betweenness"],
)

# 13. Dangling references and invented quotes: 422, the whole batch refused.
case(
    "case-13-relationship-end-unknown",
    ingest_set("relationships/0/target", "atlantis"),
    422,
    pointers=["/relationships/0/target"],
    mentions=["atlantis"],
)
case(
    "case-13-evidence-source-unknown",
    ingest_set("relationships/0/evidence/0/source", "no-such-source"),
    422,
    pointers=["/relationships/0/evidence/0/source"],
)
case(
    "case-13-quote-not-in-batch-source",
    ingest_set("relationships/0/evidence/0/quote", "receives tanks from Iran"),
    422,
    pointers=["/relationships/0/evidence/0/quote"],
)
case(
    "case-13-quote-not-in-stored-source",
    ingest_set("relationships/0/evidence/0", {"source": SEED_SOURCE, "quote": "Iran loves Alpha"}),
    422,
    pointers=["/relationships/0/evidence/0/quote"],
)
case(
    "case-13-one-bad-item-among-good-ones",
    ingest(
        mutated(
            lambda b: b["relationships"].append(
                {
                    "source": "iraq",
                    "target": "atlantis",
                    "type": "cooperates_with",
                    "evidence": [{"source": SEED_SOURCE, "quote": SEED_QUOTE}],
                }
            )
        )
    ),
    422,
    pointers=["/relationships/1/target"],
)

# 14. The same item twice with conflicting fields: 422 naming both.
case(
    "case-14-conflicting-actor-twice",
    ingest(
        mutated(
            lambda b: b["actors"].append(
                {"id": "alpha-front", "name": "Alpha Front", "kind": "state"}
            )
        )
    ),
    422,
    pointers=["/actors/1"],
    mentions=["/actors/0"],
)
case(
    "case-14-conflicting-actor-by-derived-id",
    ingest(
        {
            "actors": [
                {"name": "Omega Front", "kind": "armed_group"},
                {"name": "Omega Front", "kind": "political_group"},
            ]
        }
    ),
    422,
    pointers=["/actors/1"],
    mentions=["/actors/0"],
)
case(
    "case-14-conflicting-source-twice",
    ingest(mutated(lambda b: b["sources"].append({"id": "hard-src", "title": "Other"}))),
    422,
    pointers=["/sources/1"],
    mentions=["/sources/0"],
)
case(
    "case-14-conflicting-relationship-twice",
    ingest(
        mutated(lambda b: b["relationships"].append({**b["relationships"][0], "confidence": 0.1}))
    ),
    422,
    mentions=["/relationships/0"],
)

# 15. Out-of-range confidence, impossible dates, reversed validity, self-loops: 422.
for name, path, value in [
    ("confidence-above-one", "relationships/0/confidence", 1.5),
    ("confidence-below-zero", "relationships/0/confidence", -0.1),
    ("february-30", "relationships/0/valid_from", "2023-02-30"),
    ("month-13", "relationships/0/valid_from", "2024-13"),
    ("year-zero", "relationships/0/valid_from", "0000"),
    ("slashed-date", "relationships/0/valid_from", "2024/06/01"),
    ("published-impossible", "sources/0/published", "2023-02-29"),
]:
    case(f"case-15-{name}", ingest_set(path, value), 422, pointers=["/" + path])
case(
    "case-15-valid-to-before-valid-from",
    ingest_set("relationships/0/valid_to", "2024-01"),
    422,
    mentions=["valid_to"],
)
case(
    "case-15-valid-to-equals-valid-from",
    ingest_set("relationships/0/valid_to", "2024-06"),
    422,
)
case(
    "case-15-self-loop",
    ingest_set("relationships/0/target", "iran"),
    422,
    pointers=["/relationships/0/target"],
)

# 16. Source URLs that are not http(s), or absurdly long: 422. The server never fetches one.
for name, url in [
    ("javascript", "javascript:alert(1)"),
    ("file", "file:///etc/passwd"),
    ("data", "data:text/html,<script>alert(1)</script>"),
    ("ftp", "ftp://example.org/x"),
    ("scheme-relative", "//example.org/x"),
    ("no-host", "https://"),
    ("space", "https://exa mple.org/"),
    ("absurdly-long", "https://example.org/" + "x" * 5000),
]:
    case(f"case-16-url-{name}", ingest_set("sources/0/url", url), 422, pointers=["/sources/0/url"])


def _listener() -> tuple[socket.socket, list[bool]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    hits: list[bool] = []

    def accept() -> None:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            hits.append(True)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return sock, hits


def _never_fetched(c: TestClient) -> httpx.Response:
    sock, hits = _listener()
    port = sock.getsockname()[1]
    try:
        r = c.post(
            "/v1/ingest",
            json={"sources": [{"id": "local-bait", "url": f"http://127.0.0.1:{port}/bait"}]},
            headers=AUTH,
        )
        assert r.status_code == 200, r.text
        c.get("/v1/sources/local-bait")
        time.sleep(1.1)
        assert hits == [], "the server connected to a source URL"
    finally:
        sock.close()
    return r


def one_source_more(before: Snapshot, after: Snapshot) -> None:
    grown = {t: after.counts()[t] - before.counts()[t] for t in after.counts()}
    assert grown["source"] == 1 and grown["actor"] == 0, grown


case(
    "case-16-source-url-is-never-fetched",
    _never_fetched,
    200,
    problem=False,
    changes=one_source_more,
)


# 17. Re-sending a batch after a timeout: no duplicates.
def _resend(c: TestClient) -> list[httpx.Response]:
    batch = {
        "sources": [{"id": "resend-src", "text": "Resend Front is backed by Iran, it said."}],
        "actors": [{"id": "resend-front", "name": "Resend Front", "kind": "armed_group"}],
        "relationships": [
            {
                "source": "iran",
                "target": "resend-front",
                "type": "sponsors",
                "evidence": [{"source": "resend-src", "quote": "backed by Iran"}],
            }
        ],
    }
    first = c.post("/v1/ingest", json=batch, headers=AUTH)
    assert first.status_code == 200, first.text
    again = [c.post("/v1/ingest", json=batch, headers=AUTH) for _ in range(3)]
    for r in again:
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["revision"] == first.json()["revision"]
        assert body["evidence_added"] == 0
        for kind in ("sources", "actors", "relationships"):
            assert body[kind]["created"] == body[kind]["updated"] == 0, body
    return [first, *again]


def one_batch_once(before: Snapshot, after: Snapshot) -> None:
    grown = {t: after.counts()[t] - before.counts()[t] for t in after.counts()}
    assert (grown["actor"], grown["relationship"], grown["evidence"], grown["source"]) == (
        1,
        1,
        1,
        1,
    ), grown
    assert after.revision == before.revision + 1


case("case-17-resent-batch-adds-nothing", _resend, 200, problem=False, changes=one_batch_once)


# 18. Two (here eight) clients writing the same actor at once: one merged actor, never a 500.
def _same_actor_at_once(c: TestClient) -> list[httpx.Response]:
    n = 8
    results: list[httpx.Response | None] = [None] * n
    gate = threading.Barrier(n)

    def write(i: int) -> None:
        gate.wait()
        results[i] = c.post(
            "/v1/ingest",
            json={
                "actors": [
                    {
                        "id": "contested",
                        "name": "Contested Council",
                        "kind": "organization",
                        "aliases": [f"Alias {i}"],
                    }
                ]
            },
            headers=AUTH,
        )

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    responses = [r for r in results if r is not None]
    assert len(responses) == n
    for r in responses:
        assert r.status_code in (200, 409), r.text
        assert "locked" not in r.text.lower()
    won = [r for r in responses if r.status_code == 200]
    aliases = set(c.get("/v1/actors/contested").json()["aliases"])
    assert aliases >= {f"Alias {i}" for i, r in enumerate(results) if r in won}
    return responses


def one_merged_actor(before: Snapshot, after: Snapshot) -> None:
    grown = {t: after.counts()[t] - before.counts()[t] for t in after.counts()}
    assert grown["actor"] == 1, grown


case(
    "case-18-same-actor-written-at-once",
    _same_actor_at_once,
    {200, 409},
    problem=False,
    changes=one_merged_actor,
)

# 19. Unknown actor: 404 naming it. Odd path parameters: 404/422.
for route in ["", "/ties", "/neighborhood", "/proxies", "/patrons", "/timeline"]:
    case(
        f"case-19-unknown-actor{route.replace('/', '-')}",
        get(f"/v1/actors/atlantis{route}"),
        404,
        mentions=["atlantis"],
    )
case("case-19-unknown-path-end", get("/v1/paths?from=atlantis&to=iraq"), 404, mentions=["atlantis"])
case("case-19-unknown-source", get("/v1/sources/no-such-source"), 404)
for name, path in [
    ("dot-dot-slash", "/v1/actors/..%2F..%2Fetc%2Fpasswd"),
    ("dot-dot", "/v1/actors/%2e%2e"),
    ("nul", "/v1/actors/%00"),
    ("trailing-nul", "/v1/actors/iraq%00"),
    ("encoded-slash", "/v1/actors/a%2Fb"),
    ("upper-case", "/v1/actors/IRAQ"),
    ("accented", "/v1/actors/%C3%A9"),
    ("lone-surrogate-bytes", "/v1/actors/%ED%A0%80"),
    ("ten-kilobytes", "/v1/actors/" + "a" * 10_240),
    ("ten-kilobytes-ties", "/v1/actors/" + "a" * 10_240 + "/ties"),
    ("source-dot-dot", "/v1/sources/..%2F"),
    ("path-query-ten-kilobytes", "/v1/paths?from=iran&to=" + "a" * 10_240),
]:
    case(f"case-19-odd-path-{name}", get(path), {404, 422})

# 20. Paging and traversal bounds out of range or not integers: 422 with the range.
for name, url, words in [
    ("limit-zero", "/v1/actors?limit=0", ["greater than or equal to 1"]),
    ("limit-above-page-size", "/v1/actors?limit=501", ["less than or equal to 500"]),
    ("limit-not-integer", "/v1/actors?limit=ten", ["integer"]),
    ("limit-fraction", "/v1/actors/iran/ties?limit=1.5", ["integer"]),
    ("offset-negative", "/v1/actors?offset=-1", ["greater than or equal to 0"]),
    ("offset-huge", "/v1/actors?offset=99999999999999999999", ["less than or equal to"]),
    ("depth-above-setting", "/v1/actors/iran/neighborhood?depth=5", ["KG_MAX_DEPTH"]),
    ("depth-above-ceiling", "/v1/actors/iran/neighborhood?depth=11", ["less than or equal to"]),
    ("depth-negative", "/v1/actors/iran/neighborhood?depth=-1", ["greater than or equal to 0"]),
    ("proxy-depth-above-setting", "/v1/actors/iran/proxies?depth=5", ["KG_MAX_DEPTH"]),
    ("patron-depth-zero", "/v1/actors/houthis/patrons?depth=0", ["greater than or equal to 1"]),
    ("k-zero", "/v1/paths?from=iran&to=hamas&k=0", ["greater than or equal to 1"]),
    ("k-above-setting", "/v1/paths?from=iran&to=hamas&k=21", ["KG_MAX_PATHS"]),
    ("max-hops-above-setting", "/v1/paths?from=iran&to=hamas&max_hops=7", ["KG_MAX_HOPS"]),
    ("max-hops-not-integer", "/v1/paths?from=iran&to=hamas&max_hops=2.5", ["integer"]),
    ("top-zero", "/v1/analytics/centrality?top=0", ["greater than or equal to 1"]),
    ("since-negative", "/v1/changes?since=-1", ["greater than or equal to 0"]),
    ("since-past-any-revision", "/v1/changes?since=2147483648", ["less than or equal to"]),
    ("min-confidence-above-one", "/v1/actors/iran/ties?min_confidence=2", ["less than or equal"]),
]:
    case(f"case-20-{name}", get(url), 422, check=detail_names(*words))

# 21. Path and proxy queries in a dense cluster: an answer within the budget, never a hang.
CLIQUE = [f"k{i:02d}" for i in range(24)]


def _dense_cluster(c: TestClient) -> None:
    """Every pair of 24 actors allied, hostile and sponsoring each other both ways (1,104 ties),
    sent in batches under the module's small batch cap; once per module."""
    if c.get("/v1/actors/far-away").status_code == 200:
        return
    rels = []
    for i, a in enumerate(CLIQUE):
        for b in CLIQUE[i + 1 :]:
            rels.append({"source": a, "target": b, "type": "allied_with"})
            rels.append({"source": a, "target": b, "type": "hostile_to"})
            rels.append({"source": a, "target": b, "type": "sponsors"})
            rels.append({"source": b, "target": a, "type": "sponsors"})
    ev = [{"source": "cluster-src", "quote": "dense"}]
    first = {
        "sources": [{"id": "cluster-src", "title": "A dense cluster"}],
        "actors": [{"id": a, "name": f"Cluster {a}", "kind": "state"} for a in CLIQUE],
    }
    batches = [first] + [
        {"relationships": [{**x, "evidence": ev} for x in rels[i : i + BATCH_CAP]]}
        for i in range(0, len(rels), BATCH_CAP)
    ]
    batches.append({"actors": [{"id": "far-away", "name": "Far Away", "kind": "state"}]})
    for batch in batches:
        r = c.post("/v1/ingest", json=batch, headers=AUTH)
        assert r.status_code == 200, r.text


def _within_budget(url: str) -> Send:
    def send(c: TestClient) -> httpx.Response:
        start = time.monotonic()
        r = c.get(url)
        took = time.monotonic() - start
        assert took < BUDGET_S + SLACK_S, f"{url} took {took:.2f}s"
        return r

    return send


def _bounded_answer(r: httpx.Response) -> None:
    body = r.json()
    assert len(body["items"]) <= 20
    assert isinstance(body["truncated"], bool)


for mode in ("any", "alliance", "hostile", "proxy"):
    for target, label in (("k23", "explodes"), ("far-away", "out-of-reach")):
        case(
            f"case-21-paths-{mode}-{label}",
            _within_budget(f"/v1/paths?from=k00&to={target}&mode={mode}&k=20&max_hops=6"),
            200,
            problem=False,
            setup=_dense_cluster,
            check=_bounded_answer,
        )
for route in ("proxies", "patrons"):
    case(
        f"case-21-{route}-in-cluster",
        _within_budget(f"/v1/actors/k00/{route}?depth=4"),
        200,
        problem=False,
        setup=_dense_cluster,
    )
case(
    "case-21-neighbourhood-in-cluster",
    _within_budget("/v1/actors/k00/neighborhood?depth=4"),
    200,
    problem=False,
    setup=_dense_cluster,
)


# 22. Search text with SQL, LIKE or regex metacharacters: taken literally.
def _literal_names(c: TestClient) -> None:
    r = c.post(
        "/v1/ingest",
        json={
            "actors": [
                {"id": "hundred-percent", "name": "100% Front", "kind": "armed_group"},
                {"id": "under-score", "name": "Under_score Group", "kind": "political_group"},
                {"id": "dot-star", "name": "Dot.Star Bloc", "kind": "political_group"},
            ]
        },
        headers=AUTH,
    )
    assert r.status_code == 200, r.text


for name, q, expected in [
    ("percent", "%", ["hundred-percent"]),
    ("underscore", "_", ["under-score"]),
    ("like-pattern", "%iraq%", []),
    ("single-char-wildcard", "ira_", []),
    ("sql-injection", "'; DROP TABLE actor; --", []),
    ("sql-tautology", "' OR '1'='1", []),
    ("regex-dot-star", ".*", []),
    ("regex-dot", "t.s", ["dot-star"]),
    ("regex-class", "[a-z]", []),
    ("backslash", "\\", []),
    ("escape-sequence", "\\%", []),
    ("parenthesis", "(", []),
]:

    def _check(r: httpx.Response, expected: list[str] = expected) -> None:
        assert sorted(a["id"] for a in r.json()["items"]) == expected

    case(
        f"case-22-search-{name}",
        lambda c, q=q: c.get("/v1/actors", params={"q": q, "limit": 500}),
        200,
        problem=False,
        setup=_literal_names,
        check=_check,
    )

# 23. Unknown export format or bad as_of: 422 listing what is accepted.
case(
    "case-23-unknown-export-format",
    get("/v1/graph?format=pdf"),
    422,
    mentions=["node-link", "cytoscape", "graphml", "gexf"],
)
for name, value in [
    ("february-30", "2023-02-30"),
    ("word", "yesterday"),
    ("timestamp", "0"),
    ("year-only", "2024"),
    ("slashes", "2024/06/01"),
    ("datetime", "2024-06-01T00:00:00"),
]:
    for route in ("/v1/graph", "/v1/actors/iran/ties", "/v1/analytics/blocs"):
        case(
            f"case-23-as-of-{name}{route.replace('/', '-')}",
            get(f"{route}?as_of={value}"),
            422,
            mentions=["YYYY-MM-DD"],
        )
case("case-23-diff-bad-from", get("/v1/diff?from=0&to=2025-01-01"), 422, mentions=["YYYY-MM-DD"])
case(
    "case-23-paths-bad-as-of",
    get("/v1/paths?from=iran&to=hamas&as_of=2024-02-30"),
    422,
    mentions=["YYYY-MM-DD"],
)

# 24. Over-long URLs: 414, never silently truncated.
case("case-24-long-query", get("/v1/actors?q=iraq&pad=" + "x" * URL_CAP), 414, mentions=["URL"])
case("case-24-long-path", get("/v1/actors/" + "a" * URL_CAP), 414)
case(
    "case-24-long-write-url",
    lambda c: c.put(
        "/v1/actors/x?" + "p=" + "x" * URL_CAP, json={"name": "X", "kind": "state"}, headers=AUTH
    ),
    414,
)
case("case-24-over-long-search-is-refused-not-cut", get("/v1/actors?q=" + "i" * 201), 422)


# 25. Writes with no key, a wrong key, or a key in the query string: 401 with WWW-Authenticate.
def _www_authenticate(r: httpx.Response) -> None:
    assert r.headers["www-authenticate"].startswith("Bearer")


WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("ingest", "/v1/ingest", {"method": "POST", "json": good_batch()}),
    ("put", "/v1/actors/oman", {"method": "PUT", "json": {"name": "Oman", "kind": "state"}}),
    ("patch", "/v1/actors/iraq", {"method": "PATCH", "json": {"description": "x"}}),
    ("delete", "/v1/actors/hamas?cascade=true", {"method": "DELETE"}),
]
for wname, url, spec in WRITES:
    for aname, headers, query in [
        ("no-key", {}, ""),
        ("wrong-key", {"Authorization": "Bearer not-the-key"}, ""),
        ("empty-bearer", {"Authorization": "Bearer "}, ""),
        ("basic-scheme", {"Authorization": "Basic dGVzdDp0ZXN0"}, ""),
        ("key-as-scheme", {"Authorization": WRITE_KEY}, ""),
        ("key-in-query", {}, f"api_key={WRITE_KEY}"),
        ("token-in-query", {}, f"token={WRITE_KEY}"),
        ("key-in-query-and-header", AUTH, f"key={WRITE_KEY}"),
    ]:
        sep = "&" if "?" in url else "?"
        target = url + (sep + query if query else "")
        case(
            f"case-25-{wname}-{aname}",
            request(spec["method"], target, json=spec.get("json"), headers=headers),
            401,
            check=_www_authenticate,
        )


def _declares_scheme(c: TestClient) -> httpx.Response:
    r = c.get("/openapi.json")
    schema = r.json()
    assert schema["components"]["securitySchemes"]["WriteKey"]["scheme"] == "bearer"
    for ops in schema["paths"].values():
        for method, op in ops.items():
            if method in ("post", "put", "patch", "delete"):
                assert {"WriteKey": []} in op["security"]
                assert "401" in op["responses"]
    return r


case("case-25-openapi-declares-the-scheme", _declares_scheme, 200, problem=False)

# 26. Wrong method: 405 with an Allow header listing what the resource takes.
for name, method, url, allow in [
    ("get-ingest", "GET", "/v1/ingest", "POST"),
    ("put-ingest", "PUT", "/v1/ingest", "POST"),
    ("post-actor", "POST", "/v1/actors/iraq", "DELETE, GET, HEAD, PATCH, PUT"),
    ("delete-revision", "DELETE", "/v1/revision", "GET, HEAD"),
    ("patch-graph", "PATCH", "/v1/graph", "GET, HEAD"),
    ("trace-actors", "TRACE", "/v1/actors", "GET, HEAD"),
    ("options-without-preflight", "OPTIONS", "/v1/revision", "GET, HEAD"),
    ("post-health", "POST", "/health", "GET, HEAD"),
]:

    def _allow(r: httpx.Response, allow: str = allow) -> None:
        assert r.headers["allow"] == allow

    case(
        f"case-26-{name}",
        request(method, url, headers=AUTH, json={} if method in ("PUT", "POST", "PATCH") else None),
        405,
        check=_allow,
    )


# 27. An unconfigured browser origin: no Access-Control-Allow-Origin; never "*" with credentials.
def _no_cors(r: httpx.Response) -> None:
    assert "access-control-allow-origin" not in r.headers


for name, origin in [
    ("other-site", "https://evil.example"),
    ("suffix-trick", ALLOWED_ORIGIN + ".evil.example"),
    ("other-scheme", ALLOWED_ORIGIN.replace("https", "http")),
    ("null", "null"),
]:
    case(
        f"case-27-simple-request-from-{name}",
        get("/v1/revision", Origin=origin),
        200,
        problem=False,
        check=_no_cors,
    )
    case(
        f"case-27-preflight-from-{name}",
        request(
            "OPTIONS",
            "/v1/ingest",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        ),
        400,
        check=_no_cors,
    )


def _allowed_exactly(r: httpx.Response) -> None:
    assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"


case(
    "case-27-configured-origin-named-not-wildcard",
    get("/v1/revision", Origin=ALLOWED_ORIGIN),
    200,
    problem=False,
    check=_allowed_exactly,
)
case(
    "case-27-preflight-disallowed-header",
    request(
        "OPTIONS",
        "/v1/ingest",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-evil",
        },
    ),
    400,
)


# ---------------------------------------------------------------- the test


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_answered_as_documented(hard: TestClient, case: Case) -> None:
    if case.setup:
        case.setup(hard)
    before = snapshot(hard)
    sent = case.send(hard)
    responses = sent if isinstance(sent, list) else [sent]
    for r in responses:
        assert r.status_code in case.status, (r.status_code, r.text[:500])
        assert r.status_code < 500
        if case.problem:
            assert_problem(r, case.status)
        if r.headers.get("content-type", "").split(";")[0].endswith("json"):
            assert_strict_json(r.content)
    last = responses[-1]
    if case.pointers:
        named = [e["pointer"] for e in last.json().get("errors") or []]
        for p in case.pointers:
            assert any(n == p or n.startswith(p + "/") for n in named), (p, named)
    if case.mentions:
        detail_names(*case.mentions)(last)
    if case.check:
        case.check(last)
    after = snapshot(hard)
    if case.changes is None:
        assert after == before, "a refused or read-only request changed stored data"
    else:
        case.changes(before, after)


def test_every_numbered_case_has_a_test() -> None:
    # BAD_INPUTS.md numbers its cases 1-27; each has at least one variant above.
    assert {int(c.id.split("-")[1]) for c in CASES} == set(range(1, 28))
    assert len({c.id for c in CASES}) == len(CASES)


def test_the_unmutated_batch_is_accepted(hard: TestClient) -> None:
    # The control: each variant above is refused for what it breaks, not for the base batch.
    r = hard.post("/v1/ingest", json=good_batch(), headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["relationships"]["created"] + r.json()["relationships"]["unchanged"] == 1


def test_strict_json_guard_reports_without_echoing(hard: TestClient) -> None:
    # Case 4/5/6: the guard's messages never quote the raw body.
    assert strict_json_error(b'{"\\ud800": 1, "\\ud800": 2}') is not None
    secret = b"<script>secret</script>"
    r = hard.post("/v1/ingest", content=b'{"a": ' + secret, headers=JSON)
    assert_problem(r, 422)
    assert b"secret" not in r.content
