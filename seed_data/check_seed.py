#!/usr/bin/env python3
"""Stand-alone validator for the seed ingest batches in this directory (stdlib only).

Usage:  python3 seed_data/check_seed.py [batch.json ...]

With no arguments, every *.json file next to this script is checked. For each
source in a batch, the raw article is expected next to the batch as
"<source id>.txt". Prints counts and exits non-zero on any failure.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

KINDS = {
    "state", "government_body", "person", "armed_group", "political_group",
    "organization", "international_org", "think_tank", "media",
}
UNDIRECTED = {"allied_with", "cooperates_with", "diplomatic_contact", "rival_of", "hostile_to"}
DIRECTED = {"supports", "sponsors", "member_of", "leads", "affiliated_with"}
TYPES = UNDIRECTED | DIRECTED
SUPPORT_VOCAB = {"arms", "funding", "training", "troops", "territory", "intelligence", "political"}
EVIDENCE_LEVELS = {"reported", "assessed", "alleged"}

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
DATE_PREFIX_RE = re.compile(r"^ date (\d{4}-\d{2}-\d{2}) ")


def plain_text(raw: str) -> str:
    """The documented derivation: strip tags, drop the ' date YYYY-MM-DD ' prefix, strip."""
    text = re.sub(r"<[^>]+>", "", raw)
    m = DATE_PREFIX_RE.match(text)
    if m:
        text = text[m.end():]
    return text.strip()


def valid_date(value: object) -> bool:
    if not isinstance(value, str):
        return False
    m = DATE_RE.match(value)
    if not m:
        return False
    y, mo, d = m.groups()
    try:
        _dt.date(int(y), int(mo or 1), int(d or 1))
    except ValueError:
        return False
    return True


def date_key(value: str, upper: bool) -> tuple[int, int, int]:
    """Partial dates compare as the earliest (lower) or latest (upper) day they can mean."""
    y, mo, d = DATE_RE.match(value).groups()  # type: ignore[union-attr]
    if upper:
        return (int(y), int(mo or 12), int(d or 31))
    return (int(y), int(mo or 1), int(d or 1))


def check_batch(path: Path) -> tuple[list[str], dict]:
    errors: list[str] = []
    err = errors.append
    try:
        batch = json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001
        return [f"{path.name}: cannot load JSON: {exc}"], {}

    if set(batch) != {"sources", "actors", "relationships"}:
        err(f"top-level keys must be sources/actors/relationships, got {sorted(batch)}")
    sources = batch.get("sources", [])
    actors = batch.get("actors", [])
    rels = batch.get("relationships", [])

    # ---- sources
    raw_by_source: dict[str, str] = {}
    text_by_source: dict[str, str] = {}
    for s in sources:
        sid = s.get("id")
        want = {"id", "url", "title", "publisher", "published", "text"}
        if set(s) != want:
            err(f"source {sid!r}: keys {sorted(s)} != {sorted(want)}")
        if not isinstance(sid, str) or not SLUG_RE.match(sid):
            err(f"source id {sid!r} is not a slug")
            continue
        if sid in raw_by_source:
            err(f"duplicate source id {sid!r}")
        if not valid_date(s.get("published")):
            err(f"source {sid}: bad published date {s.get('published')!r}")
        raw_path = path.parent / f"{sid}.txt"
        if not raw_path.is_file():
            err(f"source {sid}: raw file {raw_path.name} missing")
            continue
        raw = raw_path.read_bytes().decode("utf-8")
        m = DATE_PREFIX_RE.match(raw)
        if not m:
            err(f"source {sid}: raw file does not start with ' date YYYY-MM-DD '")
        elif m.group(1) != s.get("published"):
            err(f"source {sid}: published {s.get('published')} != raw date {m.group(1)}")
        if s.get("text") != plain_text(raw):
            err(f"source {sid}: text is not the plain-text derivation of {raw_path.name}")
        raw_by_source[sid] = raw
        text_by_source[sid] = s.get("text") or ""

    # ---- actors
    actor_ids: set[str] = set()
    for a in actors:
        aid = a.get("id")
        want = {"id", "name", "kind", "aliases", "country", "description", "attributes"}
        if set(a) != want:
            err(f"actor {aid!r}: keys {sorted(a)} != {sorted(want)}")
        if not isinstance(aid, str) or not SLUG_RE.match(aid):
            err(f"actor id {aid!r} is not a lowercase ascii hyphen slug")
            continue
        if aid in actor_ids:
            err(f"duplicate actor id {aid!r}")
        actor_ids.add(aid)
        if a.get("kind") not in KINDS:
            err(f"actor {aid}: kind {a.get('kind')!r} not in vocabulary")
        if not isinstance(a.get("name"), str) or not a["name"].strip():
            err(f"actor {aid}: empty name")
        aliases = a.get("aliases")
        if not isinstance(aliases, list) or not all(isinstance(x, str) and x.strip() for x in aliases):
            err(f"actor {aid}: aliases must be a list of non-empty strings")
        elif len(set(aliases)) != len(aliases) or a.get("name") in aliases:
            err(f"actor {aid}: duplicate alias or alias equal to name")
        c = a.get("country")
        if c is not None and not (isinstance(c, str) and COUNTRY_RE.match(c)):
            err(f"actor {aid}: country {c!r} is not ISO 3166-1 alpha-2 or null")
        if not isinstance(a.get("description"), str) or not a["description"].strip():
            err(f"actor {aid}: empty description")
        if not isinstance(a.get("attributes"), dict):
            err(f"actor {aid}: attributes must be an object")

    # ---- relationships
    keys: set[tuple] = set()
    quote_count = 0
    for i, r in enumerate(rels):
        tag = f"rel #{i} {r.get('source')}-{r.get('type')}->{r.get('target')}"
        want = {"source", "target", "type", "valid_from", "valid_to", "confidence",
                "attributes", "evidence"}
        if set(r) != want:
            err(f"{tag}: keys {sorted(r)} != {sorted(want)}")
        s, t, typ = r.get("source"), r.get("target"), r.get("type")
        if s not in actor_ids:
            err(f"{tag}: unknown source actor {s!r}")
        if t not in actor_ids:
            err(f"{tag}: unknown target actor {t!r}")
        if s == t:
            err(f"{tag}: self-loop")
        if typ not in TYPES:
            err(f"{tag}: type {typ!r} not in vocabulary")
        if typ in UNDIRECTED and isinstance(s, str) and isinstance(t, str) and not s < t:
            err(f"{tag}: undirected type must have the lexicographically smaller id as source")
        vf, vt = r.get("valid_from"), r.get("valid_to")
        for name, v in (("valid_from", vf), ("valid_to", vt)):
            if v is not None and not valid_date(v):
                err(f"{tag}: bad {name} {v!r}")
        if valid_date(vf) and valid_date(vt) and date_key(vf, False) > date_key(vt, True):
            err(f"{tag}: valid_from {vf} after valid_to {vt}")
        conf = r.get("confidence")
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            err(f"{tag}: confidence {conf!r} not a number in 0..1")
        key = (min(s, t), max(s, t), typ, vf) if typ in UNDIRECTED else (s, t, typ, vf)
        if key in keys:
            err(f"{tag}: duplicate natural key {key}")
        keys.add(key)

        attrs = r.get("attributes")
        if not isinstance(attrs, dict):
            err(f"{tag}: attributes must be an object")
            attrs = {}
        if attrs.get("evidence_level") not in EVIDENCE_LEVELS:
            err(f"{tag}: evidence_level {attrs.get('evidence_level')!r} not in {sorted(EVIDENCE_LEVELS)}")
        if attrs.get("inferred") and not attrs.get("note"):
            err(f"{tag}: inferred tie without a note")
        if typ in {"leads", "member_of"} and not attrs.get("role"):
            err(f"{tag}: {typ} needs a 'role' attribute")
        if typ == "sponsors":
            sup = attrs.get("support")
            if not isinstance(sup, list) or not set(sup) <= SUPPORT_VOCAB:
                err(f"{tag}: support {sup!r} must be a list drawn from {sorted(SUPPORT_VOCAB)}")
        if "support" in attrs and typ == "supports":
            sup = attrs["support"]
            if not isinstance(sup, list) or not set(sup) <= SUPPORT_VOCAB:
                err(f"{tag}: support {sup!r} must be a list drawn from {sorted(SUPPORT_VOCAB)}")

        ev = r.get("evidence")
        if not isinstance(ev, list) or not ev:
            err(f"{tag}: no evidence")
            continue
        for e in ev:
            src, quote = e.get("source"), e.get("quote")
            quote_count += 1
            if set(e) != {"source", "quote"}:
                err(f"{tag}: evidence keys {sorted(e)} != ['quote', 'source']")
            if src not in raw_by_source:
                err(f"{tag}: evidence cites unknown/unloaded source {src!r}")
                continue
            if not isinstance(quote, str) or not quote.strip():
                err(f"{tag}: empty quote")
                continue
            if quote not in raw_by_source[src]:
                err(f"{tag}: quote not verbatim in raw file: {quote!r}")
            if quote not in text_by_source[src]:
                err(f"{tag}: quote not verbatim in source text: {quote!r}")

    stats = {
        "sources": len(sources),
        "actors": len(actors),
        "relationships": len(rels),
        "quotes": quote_count,
        "actor_kinds": Counter(a.get("kind") for a in actors),
        "relationship_types": Counter(r.get("type") for r in rels),
        "evidence_levels": Counter((r.get("attributes") or {}).get("evidence_level") for r in rels),
    }
    return errors, stats


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted(HERE.glob("*.json"))
    if not paths:
        print("no batch files found", file=sys.stderr)
        return 1
    failed = False
    for path in paths:
        errors, stats = check_batch(path)
        print(f"== {path.name}")
        if stats:
            print(f"   sources={stats['sources']} actors={stats['actors']} "
                  f"relationships={stats['relationships']} quotes={stats['quotes']}")
            for label in ("actor_kinds", "relationship_types", "evidence_levels"):
                items = ", ".join(f"{k}={v}" for k, v in sorted(stats[label].items(), key=str))
                print(f"   {label}: {items}")
        for e in errors:
            print(f"   FAIL {e}")
        if errors:
            failed = True
            print(f"   {len(errors)} problem(s)")
        else:
            print("   OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
