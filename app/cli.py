"""The `kg` command: serve, migrate, seed, import, export."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.auth import generate_key
    from app.db import make_engine
    from app.migrate import upgrade
    from app.seed import load_seed

    settings = Settings()
    # Migrate and seed once, before workers start, so they never race each other.
    engine = make_engine(settings)
    upgrade(engine)
    if settings.seed:
        loaded = load_seed(engine, settings.seed_dir)
        if loaded:
            print(f"Loaded {loaded} seed batch(es) into the empty database.")
    engine.dispose()
    if not settings.api_keys:
        # One key for every worker: generated here, handed down through the environment.
        key = generate_key()
        os.environ["KG_API_KEYS"] = key
        print(f"\n  No KG_API_KEYS set; write key for this run:\n    {key}\n")
    base = f"http://{args.host}:{args.port}"
    print(f"  API docs: {base}/docs   explorer: {base}/explorer\n", flush=True)
    uvicorn.run(
        "app.main:app", host=args.host, port=args.port, workers=args.workers, log_level="info"
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from app.db import make_engine
    from app.migrate import upgrade

    upgrade(make_engine(Settings()))
    print("Database is at the latest schema.")
    return 0


def _seed(_: argparse.Namespace) -> int:
    from app.db import make_engine
    from app.migrate import upgrade
    from app.seed import load_seed

    settings = Settings()
    engine = make_engine(settings)
    upgrade(engine)
    print(f"Loaded {load_seed(engine, settings.seed_dir)} seed batch(es).")
    return 0


def _import(args: argparse.Namespace) -> int:
    from app.db import make_engine
    from app.errors import DomainError
    from app.ingest import ingest
    from app.migrate import upgrade
    from app.schemas import Batch

    settings = Settings()
    engine = make_engine(settings)
    upgrade(engine)
    status = 0
    for name in args.files:
        try:
            batch = Batch.model_validate_json(Path(name).read_bytes())
            result = ingest(engine, None, batch, key_id="cli", max_items=10**7)
        except DomainError as exc:
            print(f"{name}: {exc.detail}", file=sys.stderr)
            for err in (exc.errors or [])[:50]:
                print(f"  {err['pointer']}: {err['message']}", file=sys.stderr)
            status = 1
            continue
        except ValueError as exc:
            print(f"{name}: invalid batch: {str(exc)[:2000]}", file=sys.stderr)
            status = 1
            continue
        print(f"{name}: {result}")
    return status


def _export(args: argparse.Namespace) -> int:
    from app.db import make_engine
    from app.graph import export
    from app.graph.store import GraphStore
    from app.repo import SqlFeed

    store = GraphStore(SqlFeed(make_engine(Settings())))
    store.load()
    _, writer = export.FORMATS[args.format]
    H = export.export_graph(store.kg, as_of=args.as_of)
    out = open(args.output, "wb") if args.output != "-" else sys.stdout.buffer  # noqa: SIM115
    try:
        for chunk in writer(H):
            out.write(chunk)
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kg", description="Geopolitical knowledge graph.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, seed an empty database, and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_serve)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=_migrate)
    sub.add_parser("seed", help="load seed_data/ into an empty database").set_defaults(func=_seed)
    imp = sub.add_parser("import", help="ingest JSON batch files (one transaction each)")
    imp.add_argument("files", nargs="+")
    imp.set_defaults(func=_import)
    exp = sub.add_parser("export", help="write the graph in an export format")
    exp.add_argument(
        "--format", default="graphml", choices=["node-link", "cytoscape", "graphml", "gexf"]
    )
    exp.add_argument("--as-of", default=None)
    exp.add_argument("--output", "-o", default="-")
    exp.set_defaults(func=_export)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
