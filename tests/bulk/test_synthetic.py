"""The benchmark's synthetic graph: deterministic, every type, power-law degrees, and valid
for the API (every line imports, none rejected)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from app.bulk import import_files
from app.db import make_engine
from app.migrate import upgrade
from app.settings import Settings
from app.vocabulary import RelType
from bench import synth


def test_same_seed_same_bytes_and_every_type(tmp_path: Path) -> None:
    a = synth.write_ndjson(synth.XS, tmp_path / "a.ndjson")
    b = synth.write_ndjson(synth.XS, tmp_path / "b.ndjson")
    assert a.read_bytes() == b.read_bytes()
    ties = list(synth.ties(synth.XS))
    assert len(ties) == synth.XS.ties
    assert {t[2] for t in ties} == {r.value for r in RelType}
    assert len({(s, t, ty, vf or "") for s, t, ty, vf, *_ in ties}) == len(ties)
    degree = Counter(n for s, t, *_ in ties for n in (s, t))
    counts = sorted(degree.values())
    assert counts[-1] > 10 * counts[len(counts) // 2]  # hubs and leaves


def test_the_synthetic_graph_imports_without_a_rejection(tmp_path: Path, settings: Settings) -> Any:
    engine = make_engine(settings)
    upgrade(engine)
    report = import_files(engine, [synth.write_ndjson(synth.XS, tmp_path / "g.ndjson")])
    engine.dispose()
    assert report.rejected == 0, report.rejects[:3]
    assert report.counts["relationships"].created == synth.XS.ties
    assert report.counts["actors"].created == synth.XS.actors
