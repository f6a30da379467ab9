"""A deterministic synthetic graph: power-law degrees, every relationship type, dated ties.

The same seed gives the same graph byte for byte. Rows come out as plain tuples (for the floors
and for Kuzu) and as the NDJSON lines `kg import` reads.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from app.vocabulary import ActorKind, RelType, normalise_ends

# Weights of the relationship types: co-operation and contact dominate real event feeds.
TYPE_WEIGHTS: dict[str, float] = {
    RelType.cooperates_with: 0.26,
    RelType.diplomatic_contact: 0.18,
    RelType.supports: 0.12,
    RelType.allied_with: 0.08,
    RelType.member_of: 0.08,
    RelType.rival_of: 0.08,
    RelType.hostile_to: 0.07,
    RelType.sponsors: 0.06,
    RelType.affiliated_with: 0.04,
    RelType.leads: 0.03,
}
KINDS = [k.value for k in ActorKind]
N_SOURCES = 1000
QUOTES = ("reported talks between", "announced closer ties with", "accused", "backed", "met")


@dataclass(frozen=True)
class Size:
    name: str
    actors: int
    ties: int


S = Size("S", 10_000, 100_000)
L = Size("L", 100_000, 1_000_000)
XS = Size("XS", 500, 3_000)  # for tests

# (source, target, type, valid_from, valid_to, confidence, source_id, quote)
Tie = tuple[str, str, str, str | None, str | None, float, str, str]


def actor_id(i: int) -> str:
    return f"actor-{i:06d}"


def source_id(i: int) -> str:
    return f"feed-{i:04d}"


def actors(size: Size) -> Iterator[tuple[str, str, str]]:
    """(id, name, kind) per actor."""
    rng = random.Random(7)
    for i in range(size.actors):
        yield actor_id(i), f"Actor {i}", rng.choice(KINDS)


def _date(rng: random.Random) -> str:
    year = rng.randint(1995, 2025)
    r = rng.random()
    if r < 0.15:
        return f"{year}"
    if r < 0.35:
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def ties(size: Size, seed: int = 42) -> Iterator[Tie]:
    """Ties with unique natural keys; ends drawn with Zipf-like weights (a few hubs, many
    leaves), so degrees follow a power law."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 5) ** 0.9 for i in range(size.actors)]
    cum = list(itertools.accumulate(weights))
    ids = [actor_id(i) for i in range(size.actors)]
    types = list(TYPE_WEIGHTS)
    type_cum = list(itertools.accumulate(TYPE_WEIGHTS.values()))
    seen: set[tuple[str, str, str, str]] = set()
    made = 0
    batch = 4096
    while made < size.ties:
        ends = rng.choices(range(size.actors), cum_weights=cum, k=2 * batch)
        kinds = rng.choices(types, cum_weights=type_cum, k=batch)
        for j in range(batch):
            a, b = ends[2 * j], ends[2 * j + 1]
            if a == b:
                continue
            rel_type = str(kinds[j])
            # Leaves reach hubs: shuffle which end the hub is on for directed types.
            s, t = normalise_ends(rel_type, ids[a], ids[b])
            if rng.random() < 0.5 and s == ids[a] and rel_type not in ("allied_with",):
                s, t = normalise_ends(rel_type, ids[b], ids[a])
            vf = _date(rng) if rng.random() < 0.8 else None
            key = (s, t, rel_type, vf or "")
            if key in seen:
                continue
            seen.add(key)
            vt = None
            if vf is not None and rng.random() < 0.3:
                vt = f"{int(vf[:4]) + rng.randint(1, 6)}"
            conf = round(rng.uniform(0.3, 1.0), 2)
            src = source_id(rng.randrange(N_SOURCES))
            quote = f"{QUOTES[made % len(QUOTES)]} {t}"
            yield s, t, rel_type, vf, vt, conf, src, quote
            made += 1
            if made >= size.ties:
                return


def ndjson_lines(size: Size, seed: int = 42) -> Iterator[bytes]:
    """The graph as `kg import` NDJSON: sources, then actors, then relationships."""
    for i in range(N_SOURCES):
        yield orjson.dumps(
            {
                "source": {
                    "id": source_id(i),
                    "url": f"https://feeds.example.org/{i}",
                    "title": f"Event feed {i}",
                    "published": "2025-01-01",
                }
            }
        )
    for aid, name, kind in actors(size):
        yield orjson.dumps({"actor": {"id": aid, "name": name, "kind": kind}})
    for s, t, rel_type, vf, vt, conf, src, quote in ties(size, seed):
        rel: dict[str, object] = {"source": s, "target": t, "type": rel_type}
        if vf is not None:
            rel["valid_from"] = vf
        if vt is not None:
            rel["valid_to"] = vt
        rel["confidence"] = conf
        rel["evidence"] = [{"source": src, "quote": quote}]
        yield orjson.dumps({"relationship": rel})


def write_ndjson(size: Size, path: Path, seed: int = 42) -> Path:
    """Write the graph of ``size`` to ``path`` (NDJSON) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        buf: list[bytes] = []
        for line in ndjson_lines(size, seed):
            buf.append(line)
            if len(buf) >= 10_000:
                f.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            f.write(b"\n".join(buf) + b"\n")
    return path
