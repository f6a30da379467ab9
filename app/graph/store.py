"""The live snapshot and how it follows the database.

The database is the truth. The store holds one KG and the revision it reflects. ``sync`` asks the
feed for the head revision; when the database is ahead (a write in this process, another worker,
or another replica) it reads the change log since its revision, re-reads just the rows those
changes touched and applies them in place under the write lock. A feed that reports too many
changed rows gets a rebuild, built aside and swapped in.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from app.graph.build import KG, EdgeRow, NodeRow, build


@dataclass
class Delta:
    """Rows touched after a revision: present rows are upserted, missing ids removed."""

    head: int
    nodes: list[NodeRow] = field(default_factory=list)
    removed_nodes: list[str] = field(default_factory=list)
    edges: list[EdgeRow] = field(default_factory=list)
    removed_edges: list[int] = field(default_factory=list)


class Feed(Protocol):
    def head(self) -> int: ...
    def snapshot(self) -> tuple[int, Iterable[NodeRow], Iterable[EdgeRow]]:
        """The head revision and every row; the rows may stream (consumed once, by build)."""
        ...

    def delta(self, since: int, limit: int) -> Delta | None:
        """The rows touched after ``since``, or None when a rebuild is cheaper."""
        ...


class RWLock:
    """Many readers or one writer; a waiting writer stops new readers from starving it."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


#: Above this many edges the loaded graph is moved out of the cyclic GC's sight (gc.freeze):
#: otherwise a full collection rescans millions of edge dicts in the middle of some request.
FREEZE_ABOVE_EDGES = 100_000


def _refreeze() -> None:
    """Thaw (so a graph replaced by a rebuild can be collected), then freeze what lives on."""
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
    gc.freeze()


class GraphStore:
    """One process's live graph; readers see either the state before a change or after it."""

    def __init__(self, feed: Feed, *, delta_limit: int = 50_000) -> None:
        self._feed = feed
        self._delta_limit = delta_limit
        self._lock = RWLock()
        self._sync_mutex = threading.Lock()
        self.kg = KG()
        self.revision = 0

    def load(self) -> None:
        """Build the graph from the database, aside, then swap it in."""
        with self._sync_mutex:
            self._rebuild()

    def _rebuild(self) -> None:
        revision, nodes, edges = self._feed.snapshot()
        kg = build(nodes, edges)
        with self._lock.write():
            self.kg, self.revision = kg, revision
        if kg.G.number_of_edges() >= FREEZE_ABOVE_EDGES or gc.get_freeze_count():
            _refreeze()

    def sync(self) -> int:
        """Catch up with the database; returns the revision now reflected."""
        if self._feed.head() <= self.revision:
            return self.revision
        with self._sync_mutex:
            delta = self._feed.delta(self.revision, self._delta_limit)
            if delta is None:
                self._rebuild()
                return self.revision
            if delta.head <= self.revision:
                return self.revision
            with self._lock.write():
                kg = self.kg
                for rid in delta.removed_edges:
                    kg.remove_edge(rid)
                for node_id in delta.removed_nodes:
                    kg.remove_node(node_id)
                for node in delta.nodes:
                    kg.upsert_node(node)
                for edge in delta.edges:
                    kg.upsert_edge(edge)
                self.revision = delta.head
            return self.revision

    @contextmanager
    def read(self) -> Iterator[KG]:
        """The graph, held still for the duration of the block."""
        with self._lock.read():
            yield self.kg
