"""Engine, sessions and the write transaction; SQLite runs with WAL, foreign keys and a busy timeout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from app.errors import Unavailable, is_lock_error
from app.settings import Settings

# Any constant will do: it names the one lock that orders writers on PostgreSQL, so revisions
# commit in the order they are numbered and a follower never skips one.
_PG_WRITE_LOCK = 0x6B67


def make_engine(settings: Settings, *, foreign_keys: bool = True) -> Engine:
    """An engine configured for the database in ``settings``.

    ``foreign_keys=False`` leaves SQLite's per-row foreign-key checks off, for a bulk writer
    that checks every reference itself inside the write transaction (``kg import``).
    """
    url = settings.database_url
    if settings.is_sqlite:
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": settings.busy_timeout_ms / 1000},
        )
        _configure_sqlite(engine, settings.busy_timeout_ms, foreign_keys=foreign_keys)
        return engine
    # lock_timeout: a writer waiting on the write lock longer than the busy timeout gives up
    # (a 503 with Retry-After) instead of holding a worker forever.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={"options": f"-c lock_timeout={max(1, int(settings.busy_timeout_ms))}"},
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, *, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so writers can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit that was acknowledged survives power loss, not only a process crash.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front, so two writers queue instead of deadlocking.
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("kg_write") else "BEGIN"
        conn.exec_driver_sql(mode)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the database's write lock; commits on success."""
    with Session(engine.execution_options(kg_write=True), expire_on_commit=False) as session:
        try:
            if engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if is_lock_error(exc):
                raise Unavailable(
                    "The database is busy with another write; retry shortly."
                ) from exc
            raise
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
